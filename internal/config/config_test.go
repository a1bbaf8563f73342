package config_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/config"
)

func env(m map[string]string) config.LookupEnv {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		addr    string
		ahead   time.Duration
		events  int
		verbose bool
	}{
		{"defaults", nil, nil, "127.0.0.1:8080", 5 * time.Minute, 10000, false},
		{"env", map[string]string{"G_ADDR": ":9", "G_AHEAD": "1m", "G_EVENTS": "7", "G_V": "true"}, nil, ":9", time.Minute, 7, true},
		{"flag wins", map[string]string{"G_ADDR": ":9", "G_AHEAD": "1m"}, []string{"--addr", ":10", "-max-ahead=2m", "--max-events", "3", "--v"}, ":10", 2 * time.Minute, 3, true},
		{"empty env is a value", map[string]string{"G_ADDR": ""}, nil, "", 5 * time.Minute, 10000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := config.New("test", env(tt.env))
			addr := fs.String("addr", "G_ADDR", "127.0.0.1:8080", "listen address")
			ahead := fs.Duration("max-ahead", "G_AHEAD", 5*time.Minute, "clock skew")
			events := fs.Int("max-events", "G_EVENTS", 10000, "events per request")
			v := fs.Bool("v", "G_V", false, "verbose")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if *addr != tt.addr || *ahead != tt.ahead || *events != tt.events || *v != tt.verbose {
				t.Errorf("got %q %s %d %v", *addr, *ahead, *events, *v)
			}
		})
	}
}

func TestBadEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"duration", map[string]string{"G_D": "soon"}},
		{"int", map[string]string{"G_I": "many"}},
		{"int64", map[string]string{"G_L": "1.5"}},
		{"bool", map[string]string{"G_B": "yes please"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := config.New("test", env(tt.env))
			fs.Duration("d", "G_D", time.Second, "")
			fs.Int("i", "G_I", 1, "")
			fs.Int64("l", "G_L", 1, "")
			fs.Bool("b", "G_B", false, "")
			err := fs.Parse(nil)
			if err == nil {
				t.Fatal("want error")
			}
			for k := range tt.env {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
		})
	}
}

func TestHelpListsEnv(t *testing.T) {
	fs := config.New("ingest", env(map[string]string{"G_ADDR": "secret"}))
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.String("addr", "G_ADDR", "127.0.0.1:8080", "listen address")
	fs.Int64("max-body", "G_BODY", 4<<20, "body limit")
	err := fs.Parse([]string{"--help"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(--help) = %v", err)
	}
	s := out.String()
	for _, want := range []string{"--addr", "G_ADDR", `"127.0.0.1:8080"`, "--max-body", "G_BODY", "4194304"} {
		if !strings.Contains(s, want) {
			t.Errorf("usage lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "secret") {
		t.Errorf("usage shows an environment value:\n%s", s)
	}
}

func TestRejectsArguments(t *testing.T) {
	fs := config.New("test", nil)
	fs.String("a", "", "", "")
	if err := fs.Parse([]string{"stray"}); err == nil {
		t.Fatal("want error for a positional argument")
	}
}
