package aggregate

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// A batch is cut when it holds MaxBatch messages; a partition of some units also cuts it at the
// multiples of MaxBatch in stream sequence, where partitions meet for the ranking of all units,
// and a partition of every unit does not (it has no ranking parts to share). While the flusher is
// busy nothing else cuts a batch; once it waits, the flush interval and the end of the stream do.
func TestCutReason(t *testing.T) {
	some := []string{events.Regions()[0].Code, events.Regions()[1].Code}
	for name, tc := range map[string]struct {
		regions      []string // nil: every unit
		messages     int
		lastSeq      uint64
		flusherWaits bool
		waited       time.Duration
		atEnd        bool
		want         string
	}{
		"empty":                            {messages: 0, lastSeq: 10, flusherWaits: true, atEnd: true, want: ""},
		"full, every unit":                 {messages: 5, lastSeq: 7, want: cutFull},
		"full, some units":                 {regions: some, messages: 5, lastSeq: 7, want: cutFull},
		"multiple, some units":             {regions: some, messages: 2, lastSeq: 10, want: cutFull},
		"multiple, every unit":             {messages: 2, lastSeq: 10, want: ""},
		"multiple, every unit, at the end": {messages: 2, lastSeq: 10, flusherWaits: true, atEnd: true, want: cutIdle},
		"busy flusher":                     {messages: 4, lastSeq: 9, waited: time.Hour, atEnd: true, want: ""},
		"interval":                         {messages: 4, lastSeq: 9, flusherWaits: true, waited: time.Hour, want: cutInterval},
		"idle":                             {messages: 4, lastSeq: 9, flusherWaits: true, atEnd: true, want: cutIdle},
		"waiting, not due":                 {messages: 4, lastSeq: 9, flusherWaits: true, want: ""},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := Config{Regions: tc.regions, MaxBatch: 5, FlushInterval: time.Minute}.WithDefaults()
			var waiting atomic.Bool
			waiting.Store(tc.flusherWaits)
			r := &reader{cfg: cfg, batch: &pending{messages: tc.messages}, lastSeq: tc.lastSeq,
				atEnd: tc.atEnd, flusherWaiting: &waiting}
			if got := r.cutReason(time.Now().Add(-tc.waited)); got != tc.want {
				t.Errorf("cutReason = %q, want %q", got, tc.want)
			}
		})
	}
}
