package main

import (
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

	"github.com/govpulse/govpulse/internal/chstore"
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
		"--admin-addr", "GOVPULSE_AGGREGATE_ADMIN_ADDR", "--nats-url", "GOVPULSE_NATS_URL", "--clickhouse-dsn",
		"GOVPULSE_CLICKHOUSE_DSN", "--partition", "GOVPULSE_PARTITION", "--regions", "GOVPULSE_REGIONS",
		"--max-batch", "--flush-interval", "--checkpoint-interval", "--out-of-orderness",
		"--allowed-lateness", "--archive-dlq", "--clickhouse-user", "--clickhouse-password",
		"--clickhouse-tls", "--nats-creds", "--nats-password", "GOVPULSE_NATS_PASSWORD",
		"--max-items-per-level", "GOVPULSE_MAX_ITEMS_PER_LEVEL", "--max-portals", "GOVPULSE_MAX_PORTALS",
		"--max-items-per-portal", "GOVPULSE_MAX_ITEMS_PER_PORTAL", "--max-ahead", "GOVPULSE_INGEST_MAX_AHEAD",
		"--clock-tolerance", "GOVPULSE_CLOCK_TOLERANCE", "--dead-letter-backlog", "GOVPULSE_DEAD_LETTER_BACKLOG",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	for name, args := range map[string][]string{
		"positional argument":  {"extra"},
		"unknown flag":         {"--no-such-flag"},
		"bad log level":        {"--log-level", "loud"},
		"http dsn":             {"--clickhouse-dsn", "http://127.0.0.1:8123/govpulse"},
		"region twice":         {"--regions", "330000,330000"},
		"unknown region":       {"--regions", "330000,999999"},
		"no items":             {"--max-items-per-level", "-1"},
		"no portals":           {"--max-portals", "-1"},
		"no portal items":      {"--max-items-per-portal", "-3"},
		"negative ahead":       {"--max-ahead", "-1m"},
		"no backlog":           {"--dead-letter-backlog", "-5"},
		"unknown method":       {"--methods", "2017,2019"},
		"method twice":         {"--methods", "2022,2022"},
		"partition of methods": {"--regions", "330000", "--methods", "2017,2022"},
		"rescore no method":    {"rescore"},
		"rescore two methods":  {"rescore", "--method", "2017,2022"},
		"rescore bad from":     {"rescore", "--method", "2022", "--from", "yesterday"},
		"rescore partition":    {"rescore", "--method", "2022", "--regions", "330000"},
	} {
		if err := run(context.Background(), args, env(nil), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMigrateAppliesTheSchema(t *testing.T) {
	conn, database := chtest.Open(t)
	dsn := "clickhouse://" + chtest.Addr(t) + "/" + database
	for range 2 { // a second run finds everything applied
		if err := run(t.Context(), []string{"migrate", "--clickhouse-dsn", dsn}, env(nil), io.Discard); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	applied, err := chstore.New(conn, database, nil).AppliedMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	files, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(files) {
		t.Errorf("%d migrations recorded, want %d", len(applied), len(files))
	}
}

func TestRunServesReadinessAndStops(t *testing.T) {
	_, database := chtest.Open(t)
	url, _ := natstest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var logs testwait.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	stop := testwait.Run(t, "run", func(ctx context.Context) error {
		return run(ctx, nil, env(map[string]string{
			"GOVPULSE_AGGREGATE_ADDR": addr, // the deprecated name of GOVPULSE_AGGREGATE_ADMIN_ADDR still works
			"GOVPULSE_NATS_URL":       url,
			"GOVPULSE_CLICKHOUSE_DSN": "clickhouse://" + chtest.Addr(t) + "/" + database,
		}), &logs)
	})
	// The admin server listens once the migrations are applied: on a loaded machine their DDL
	// and the units of 0008 take 15 to 30 seconds.
	testwait.For(t, 60*time.Second, 20*time.Millisecond, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return fmt.Errorf("not ready: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("not ready: /readyz answers %d", resp.StatusCode)
		}
		return nil
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"govpulse_aggregate_flushes_total", "govpulse_dlq_archived_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	stop()
}
