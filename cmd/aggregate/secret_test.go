package main

import (
	"context"
	"io"
	"testing"

	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/config/configtest"
)

// The command refuses to start with the example passwords of the deployment files, naming the
// setting (config.Main then exits with status 1).
func TestRefusesExamplePasswords(t *testing.T) {
	run := func(ctx context.Context, args []string, lookup config.LookupEnv) error {
		return run(ctx, args, lookup, io.Discard)
	}
	configtest.CheckRefusesExampleSecrets(t, run, []configtest.SecretCase{
		{Name: "nats password from the environment", Env: map[string]string{"GOVPULSE_NATS_USER": "aggregate", "GOVPULSE_NATS_PASSWORD": "change-me-aggregate"}, Want: "GOVPULSE_NATS_PASSWORD"},
		{Name: "nats password flag", Args: []string{"--nats-user", "aggregate", "--nats-password", "change-me-aggregate"}, Want: "--nats-password"},
		{Name: "clickhouse password", Env: map[string]string{"GOVPULSE_CLICKHOUSE_PASSWORD": "change-me-clickhouse"}, Want: "GOVPULSE_CLICKHOUSE_PASSWORD"},
		{Name: "clickhouse dsn", Args: []string{"--clickhouse-dsn", "clickhouse://govpulse:change-me-clickhouse@127.0.0.1:1/govpulse"}, Want: "--clickhouse-dsn"},
	})
}
