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
		{Name: "nats password from the environment", Env: map[string]string{"GOVPULSE_NATS_USER": "ingest", "GOVPULSE_NATS_PASSWORD": "change-me-ingest"}, Want: "GOVPULSE_NATS_PASSWORD"},
		{Name: "nats password flag", Args: []string{"--nats-user", "ingest", "--nats-password", "change-me-ingest"}, Want: "--nats-password"},
	})
}
