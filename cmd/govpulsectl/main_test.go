package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"

	"github.com/govpulse/govpulse/internal/config/configtest"
)

// env is a lookup of the variables of a test, in place of the process environment.
var env = configtest.Env

func TestGen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		lines int
		first string
	}{
		{"sample", []string{"gen", "--out", filepath.Join(dir, "a.ndjson")}, nil, 0, "scn-"},
		{"synthetic by flag", []string{"gen", "--out", filepath.Join(dir, "b.ndjson"), "--events", "1234"}, nil, 1234, "syn-1"},
		{"synthetic by env", []string{"gen"}, map[string]string{"GOVPULSE_GEN_OUT": filepath.Join(dir, "c.ndjson"), "GOVPULSE_EVENTS": "77"}, 77, "syn-1"},
		{"flag wins over env", []string{"gen", "--events", "5", "--out", filepath.Join(dir, "d.ndjson")}, map[string]string{"GOVPULSE_EVENTS": "77"}, 5, "syn-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), tc.args, env(tc.env), &stdout, &stderr); err != nil {
				t.Fatalf("run: %v (%s)", err, stderr.String())
			}
			path := tc.env["GOVPULSE_GEN_OUT"]
			for i, a := range tc.args {
				if a == "--out" {
					path = tc.args[i+1]
				}
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			n := 0
			for sc.Scan() {
				ev, err := events.Decode(sc.Bytes())
				if err != nil {
					t.Fatalf("line %d: %v", n+1, err)
				}
				if n == 0 && !strings.HasPrefix(ev.ID, tc.first) {
					t.Errorf("first id %s, want prefix %s", ev.ID, tc.first)
				}
				n++
			}
			if tc.lines > 0 && n != tc.lines {
				t.Errorf("%d lines, want %d", n, tc.lines)
			}
			if tc.lines == 0 && n < 20000 {
				t.Errorf("%d lines, want the sample scenario", n)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, nil, env(nil), &stdout, &stderr); !errors.Is(err, errUsage) {
		t.Errorf("no command: %v", err)
	}
	if err := run(ctx, []string{"gen", "--help"}, env(nil), &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if err := run(ctx, []string{"frobnicate"}, env(nil), &stdout, &stderr); err == nil {
		t.Error("unknown command: no error")
	}
	if err := run(ctx, []string{"gen", "--scenario", "sample", "--events", "5"}, env(nil), &stdout, &stderr); err == nil {
		t.Error("sample with --events: no error")
	}
	if err := run(ctx, []string{"feed", "--scenario", "nope"}, env(nil), &stdout, &stderr); err == nil {
		t.Error("unknown scenario: no error")
	}
	if err := run(ctx, []string{"feed"}, env(map[string]string{"GOVPULSE_FEED_BATCH": "x"}), &stdout, &stderr); err == nil {
		t.Error("bad environment value: no error")
	}
}
