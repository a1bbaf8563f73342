package aggregate

import (
	"strings"
	"testing"

	"github.com/govpulse/govpulse/internal/natsjs"
)

// Validate makes the checks the engine and the NATS setup make later, so that the service fails
// at start instead of retrying a setting that can never work.
func TestConfigValidateRunsConsumerChecks(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"replicas":       {Config{Replicas: 7}, "replicas 7"},
		"subject prefix": {Config{Names: natsjs.Names{SubjectPrefix: "gov pulse"}}, "subject prefix"},
		"empty region":   {Config{Regions: []string{"330000", ""}}, `region ""`},
		"explain rows":   {Config{ExplainMaxRows: -1}, "explain max rows -1"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
	if got := (Config{}).WithDefaults(); got.Partition != "all" || len(got.Regions) != 32 || got.MaxBatch != 50000 {
		t.Errorf("WithDefaults: %+v", got)
	}
	if got := (Config{ExplainDelay: ExplainNow}).WithDefaults(); got.ExplainDelay != ExplainNow || got.ExplainMaxRows != DefaultExplainMaxRows {
		t.Errorf("WithDefaults keeps ExplainNow: delay %s, max rows %d", got.ExplainDelay, got.ExplainMaxRows)
	}
	if err := (Config{ExplainDelay: ExplainNow}).Validate(); err != nil {
		t.Errorf("ExplainNow: %v", err)
	}
}
