package aggregate

import (
	"testing"
	"time"
)

func TestRescoreProgress(t *testing.T) {
	tests := []struct {
		name string
		p    RescoreProgress
		bar  string
	}{
		{"start", RescoreProgress{Start: 0, Done: 0, Target: 100, Elapsed: time.Second},
			"[----------] 0/100 events   0%  0 events/s  ETA --"},
		{"half", RescoreProgress{Start: 0, Done: 50, Target: 100, Elapsed: 5 * time.Second},
			"[#####-----] 50/100 events  50%  10 events/s  ETA 5s"},
		{"resumed", RescoreProgress{Start: 60, Done: 80, Target: 100, Elapsed: 2 * time.Second},
			"[#####-----] 80/100 events  50%  10 events/s  ETA 2s"},
		{"done", RescoreProgress{Start: 0, Done: 100, Target: 100, Elapsed: 4 * time.Second},
			"[##########] 100/100 events 100%  25 events/s  ETA 0s"},
		{"nothing to do", RescoreProgress{Start: 100, Done: 100, Target: 100},
			"[##########] 100/100 events 100%  0 events/s  ETA 0s"},
		{"empty stream", RescoreProgress{},
			"[##########] 0/0 events 100%  0 events/s  ETA 0s"},
	}
	for _, tt := range tests {
		if got := tt.p.Bar(10); got != tt.bar {
			t.Errorf("%s: Bar = %q, want %q", tt.name, got, tt.bar)
		}
	}
}
