package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/govpulse/govpulse/internal/config"
)

func TestRefuseExampleSecret(t *testing.T) {
	tests := []struct {
		name, value string
		refused     bool
	}{
		{"GOVPULSE_NATS_PASSWORD", "change-me-ingest", true},
		{"GOVPULSE_NATS_PASSWORD", "CHANGE-ME", true},
		{"GOVPULSE_CLICKHOUSE_PASSWORD", "changeme", true},
		{"GOVPULSE_CLICKHOUSE_PASSWORD", "change_me_please", true},
		{"GOVPULSE_CLICKHOUSE_DSN", "clickhouse://govpulse:change-me-clickhouse@clickhouse:9000/govpulse", true},
		{"GOVPULSE_NATS_PASSWORD", "", false},
		{"GOVPULSE_NATS_PASSWORD", "k3Jd9-x0Q2m", false},
		{"GOVPULSE_CLICKHOUSE_DSN", "clickhouse://govpulse:s3cret@clickhouse:9000/govpulse", false},
		{"GOVPULSE_CLICKHOUSE_DSN", "clickhouse://127.0.0.1:9000/govpulse", false},
	}
	for _, tt := range tests {
		err := config.RefuseExampleSecret(tt.name, tt.value)
		if (err != nil) != tt.refused {
			t.Errorf("%s=%q: error %v, refused want %t", tt.name, tt.value, err, tt.refused)
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, config.ErrExampleSecret) {
			t.Errorf("%s: %v does not wrap ErrExampleSecret", tt.name, err)
		}
		if !strings.Contains(err.Error(), tt.name) {
			t.Errorf("error %q does not name %s", err, tt.name)
		}
		if strings.Contains(err.Error(), tt.value) {
			t.Errorf("error %q repeats the secret", err)
		}
	}
}

func TestRefuseExampleSecrets(t *testing.T) {
	err := config.RefuseExampleSecrets("a", "fine", "b", "change-me-b", "c", "change-me-c")
	if !errors.Is(err, config.ErrExampleSecret) || !strings.Contains(err.Error(), "b holds") || !strings.Contains(err.Error(), "c holds") {
		t.Errorf("got %v, want errors naming b and c", err)
	}
	if err := config.RefuseExampleSecrets("a", "fine", "b", ""); err != nil {
		t.Errorf("real values refused: %v", err)
	}
	if err := config.RefuseExampleSecrets("odd"); err == nil {
		t.Error("an odd number of arguments was accepted")
	}
}
