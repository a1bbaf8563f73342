package ctl_test

import (
	"slices"
	"testing"

	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/scenario"
)

// Source gives each sample scenario's events in order, and refuses --events for them.
func TestSourceScenarios(t *testing.T) {
	for _, tc := range []struct {
		name string
		want func(scenario.Options) int
	}{
		{ctl.ScenarioSample, func(o scenario.Options) int { return len(scenario.Generate(o)) }},
		{ctl.Scenario2019, func(o scenario.Options) int { return len(scenario.Generate2019(o)) }},
	} {
		if !slices.Contains(ctl.Scenarios(), tc.name) {
			t.Errorf("Scenarios() lacks %q", tc.name)
		}
		src, err := ctl.Source(tc.name, 0, 5)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range src {
			n++
		}
		if want := tc.want(scenario.Options{Seed: 5}); n != want {
			t.Errorf("%s: %d events, want %d", tc.name, n, want)
		}
		if _, err := ctl.Source(tc.name, 10, 0); err == nil {
			t.Errorf("%s with --events: no error", tc.name)
		}
	}
}
