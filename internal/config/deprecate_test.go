package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDeprecate(t *testing.T) {
	for name, tc := range map[string]struct {
		env      map[string]string
		args     []string
		want     string
		wantWait time.Duration
		warn     string // "" when no warning
	}{
		"default":           {want: "p", wantWait: time.Second},
		"new env":           {env: map[string]string{"NEW": "n"}, want: "n", wantWait: time.Second},
		"old env":           {env: map[string]string{"OLD": "o", "OLD_WAIT": "3s"}, want: "o", wantWait: 3 * time.Second, warn: "OLD is deprecated; use NEW"},
		"new env wins":      {env: map[string]string{"NEW": "n", "OLD": "o"}, want: "n", wantWait: time.Second},
		"old flag":          {args: []string{"--old", "f", "--old-wait", "2s"}, want: "f", wantWait: 2 * time.Second, warn: "--old is deprecated; use --new"},
		"flag over old env": {env: map[string]string{"OLD": "o"}, args: []string{"--new", "f"}, want: "f", wantWait: time.Second, warn: "OLD is deprecated"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			fs := New("test", func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			fs.SetOutput(&out)
			v := fs.String("new", "NEW", "p", "a setting")
			fs.Deprecate("new", "old", "OLD")
			wait := fs.Duration("wait", "WAIT", time.Second, "a duration")
			fs.Deprecate("wait", "old-wait", "OLD_WAIT")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if *v != tc.want || *wait != tc.wantWait {
				t.Errorf("got %q %s, want %q %s", *v, *wait, tc.want, tc.wantWait)
			}
			if tc.warn == "" && out.Len() > 0 || !strings.Contains(out.String(), tc.warn) {
				t.Errorf("output %q, want warning %q", out.String(), tc.warn)
			}
		})
	}
}

func TestDeprecateBadOldEnv(t *testing.T) {
	fs := New("test", func(k string) (string, bool) { return "x", k == "OLD" })
	fs.SetOutput(&bytes.Buffer{})
	fs.Int("n", "NEW", 1, "a number")
	fs.Deprecate("n", "", "OLD")
	if err := fs.Parse(nil); err == nil || !strings.Contains(err.Error(), "OLD") {
		t.Fatalf("Parse: %v, want an error naming OLD", err)
	}
}

func TestDeprecatedBoolFlag(t *testing.T) {
	var out bytes.Buffer
	fs := New("test", nil)
	fs.SetOutput(&out)
	b := fs.Bool("on", "", false, "a switch")
	fs.Deprecate("on", "enable", "")
	if err := fs.Parse([]string{"--enable"}); err != nil || !*b {
		t.Fatalf("Parse: %v, value %v", err, *b)
	}
	fs.Usage()
	if !strings.Contains(out.String(), "deprecated: --enable") {
		t.Errorf("usage lacks the old name:\n%s", out.String())
	}
}
