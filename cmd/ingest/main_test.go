package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/natsjs/natstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help: %v", err)
	}
	for _, want := range []string{
		"--addr", "GOVPULSE_INGEST_ADDR", "--nats-url", "GOVPULSE_NATS_URL", "--subject-prefix", "GOVPULSE_PREFIX",
		"--max-ahead", "--max-body", "--max-events", "--stream-replicas", "--stream-max-age",
		"--duplicate-window", "--log-level", "GOVPULSE_LOG_LEVEL",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestRefusesPublicAddress(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), nil, env(map[string]string{"GOVPULSE_INGEST_ADDR": "0.0.0.0:8080"}), &out)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run: %v", err)
	}
}

func TestRunEnsuresStreamsAndStops(t *testing.T) {
	url, _ := natstest.Start(t)
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--stream-max-age", "24h"},
			env(map[string]string{"GOVPULSE_NATS_URL": url, "GOVPULSE_PREFIX": "t1"}), &out)
	}()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(context.Background(), time.Second)
		s, err := js.Stream(sctx, "EVENTS")
		scancel()
		if err == nil {
			cfg := s.CachedInfo().Config
			if cfg.Subjects[0] != "t1.events.>" || cfg.MaxAge != 24*time.Hour {
				t.Errorf("stream config %v %s", cfg.Subjects, cfg.MaxAge)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream not created: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}
