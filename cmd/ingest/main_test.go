package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/config/configtest"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is a lookup of the variables of a test, in place of the process environment.
var env = configtest.Env

func TestHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help: %v", err)
	}
	for _, want := range []string{
		"--addr", "GOVPULSE_INGEST_ADDR", "--nats-url", "GOVPULSE_NATS_URL", "--subject-prefix", "GOVPULSE_SUBJECT_PREFIX",
		"--max-ahead", "--max-body", "--max-events", "--stream-replicas", "--stream-max-age",
		"--duplicate-window", "--log-level", "GOVPULSE_LOG_LEVEL",
		"--tokens", "GOVPULSE_INGEST_TOKENS", "--tls-cert", "--tls-key", "--max-event-bytes", "--rate-limit",
		"--rate-burst", "--read-header-timeout", "--read-timeout", "--max-header-bytes",
		"--nats-creds", "--nats-user", "--nats-password", "GOVPULSE_NATS_PASSWORD", "--nats-nkey",
		"--nats-tls-ca", "--nats-tls-cert", "--nats-tls-key",
		"--admin-addr", "GOVPULSE_INGEST_ADMIN_ADDR", "--max-body-memory", "GOVPULSE_INGEST_MAX_BODY_MEMORY", "--max-conns", "GOVPULSE_INGEST_MAX_CONNS",
		"--max-conns-per-addr", "GOVPULSE_INGEST_MAX_CONNS_PER_ADDR", "--max-dead-letters", "GOVPULSE_INGEST_MAX_DEAD_LETTERS",
		"--dead-letter-rate", "GOVPULSE_INGEST_DEAD_LETTER_RATE", "--dead-letter-burst", "GOVPULSE_INGEST_DEAD_LETTER_BURST",
		"--reject-late", "GOVPULSE_INGEST_REJECT_LATE", "--dlq-max-age", "GOVPULSE_DLQ_MAX_AGE", "--dlq-max-bytes", "GOVPULSE_DLQ_MAX_BYTES",
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
	var out bytes.Buffer // read after run has returned
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	})
	stop := testwait.Run(t, "run", func(ctx context.Context) error {
		return run(ctx, []string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--stream-max-age", "24h", "--dlq-max-age", "72h"},
			env(map[string]string{"GOVPULSE_NATS_URL": url, "GOVPULSE_SUBJECT_PREFIX": "t1", "GOVPULSE_DLQ_MAX_BYTES": "1048576"}), &out)
	})
	_, js := natstest.Connect(t, url)
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		// DLQ is created after EVENTS: stopping the server while it is being created leaves
		// the server's goroutines of that stream behind.
		sctx, scancel := context.WithTimeout(context.Background(), time.Second)
		defer scancel()
		for _, name := range []string{"EVENTS", "DLQ"} {
			if _, err := js.Stream(sctx, name); err != nil {
				return fmt.Errorf("stream %s not created: %w", name, err)
			}
		}
		return nil
	})
	s, err := js.Stream(t.Context(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := s.CachedInfo().Config; cfg.Subjects[0] != "t1.events.>" || cfg.MaxAge != 24*time.Hour {
		t.Errorf("stream config %v %s", cfg.Subjects, cfg.MaxAge)
	}
	dlq, err := js.Stream(t.Context(), "DLQ")
	if err != nil {
		t.Fatal(err)
	}
	if c := dlq.CachedInfo().Config; c.MaxAge != 72*time.Hour || c.MaxBytes != 1<<20 || c.Discard != jetstream.DiscardOld {
		t.Errorf("dlq config: max age %s, max bytes %d, discard %v", c.MaxAge, c.MaxBytes, c.Discard)
	}
	stop()
}

func TestHashToken(t *testing.T) {
	var out bytes.Buffer
	if err := hashToken([]string{"-"}, strings.NewReader("secret\n"), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\n" {
		t.Errorf("hash-token - = %q", got)
	}
	out.Reset()
	if err := hashToken(nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "token:  ") || !strings.HasPrefix(lines[1], "sha256: ") ||
		len(strings.TrimPrefix(lines[0], "token:  ")) < 40 {
		t.Errorf("hash-token = %q", out.String())
	}
	if err := hashToken([]string{"my-token"}, nil, &out); err == nil {
		t.Error("a token on the command line was accepted")
	}
	if err := hashToken([]string{"-"}, strings.NewReader(""), &out); err == nil {
		t.Error("an empty token was accepted")
	}
}

func TestPublicAddressNeedsTokens(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--addr", "0.0.0.0:0", "--tokens", t.TempDir() + "/missing.json"},
		env(map[string]string{"GOVPULSE_NATS_URL": "nats://127.0.0.1:1"}), &out)
	if err == nil || strings.Contains(err.Error(), "loopback") {
		t.Fatalf("with a tokens file the address is allowed; want a later error, got %v", err)
	}
}

func TestNATSSecurityFlagsValidated(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--nats-password", "hunter2"}, env(nil), &out)
	if err == nil || !strings.Contains(err.Error(), "needs a user") {
		t.Fatalf("password without user: %v", err)
	}
	if strings.Contains(out.String()+err.Error(), "hunter2") {
		t.Error("the password appears in the output")
	}
}
