package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/config/configtest"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

// TestMain fails the package's tests when a goroutine they started outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, natstest.IgnoreObjectStorePutLeak())
}

// env is a lookup of the variables of a test, in place of the process environment.
var env = configtest.Env

func TestHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env(nil), &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help: %v", err)
	}
	for _, want := range []string{
		"--addr", "GOVPULSE_SITE_ADDR", "127.0.0.1:8088", "--nats-url", "GOVPULSE_NATS_URL", "--clickhouse-dsn",
		"GOVPULSE_CLICKHOUSE_DSN", "--rate-limit", "GOVPULSE_SITE_RATE_LIMIT", "--rate-burst", "--max-streams",
		"--stream-buffer", "--heartbeat", "--cors-origin", "GOVPULSE_SITE_CORS_ORIGIN", "--clickhouse-user",
		"--clickhouse-password", "--clickhouse-tls", "--nats-creds", "--nats-password",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	for name, args := range map[string][]string{
		"positional argument": {"extra"},
		"unknown flag":        {"--no-such-flag"},
		"bad log level":       {"--log-level", "loud"},
		"http dsn":            {"--clickhouse-dsn", "http://127.0.0.1:8123/govpulse"},
		"no stream buffer":    {"--stream-buffer", "-1"},
		"no heartbeat":        {"--heartbeat", "-1s"},
		"bad address":         {"--addr", "nowhere:-1"},
	} {
		if err := run(context.Background(), args, env(nil), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRunServesAndStopsWithAnOpenStream(t *testing.T) {
	_, database := chtest.Open(t)
	url, _ := natstest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs testwait.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"GOVPULSE_SITE_ADDR":      addr,
			"GOVPULSE_NATS_URL":       url,
			"GOVPULSE_CLICKHOUSE_DSN": "clickhouse://" + chtest.Addr(t) + "/" + database,
		}), &logs)
	}()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz %d; logs:\n%s", resp.StatusCode, logs.String())
		}
		return nil
	})
	for path, want := range map[string]string{"/metrics": "govpulse_site_stream_clients", "/": "/static/ranking.js"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("%s has no %s", path, want)
		}
	}
	if !strings.Contains(logs.String(), `"url":"http://`+addr+`/"`) {
		t.Errorf("the log does not name the site's URL:\n%s", logs.String())
	}
	// An open stream does not hold the shutdown back: the server ends it.
	resp, err := client.Get("http://" + addr + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "retry: 2000\n" {
		t.Fatalf("stream starts with %q, %v", line, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10s")
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Errorf("stream did not end cleanly: %v", err)
	}
}
