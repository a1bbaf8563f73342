package aggregate

import (
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// TestCutReason is the table of the reader's rules for cutting a batch. A batch is cut when it
// holds MaxBatch messages; a partition of some units also cuts it at the multiples of MaxBatch in
// stream sequence, where partitions meet for the ranking of all units, and a partition of every
// unit does not (it has no ranking parts to share). While the flusher is busy nothing else cuts a
// batch; once it waits, the flush interval and the end of the stream do, unless the messages
// pending in the stream fill the batch (a backlog, cut full).
func TestCutReason(t *testing.T) {
	const maxBatch = 100
	some := []string{events.Regions()[0].Code, events.Regions()[1].Code}
	due, fresh := time.Second, time.Duration(0) // the oldest message waited past / within the interval
	tests := []struct {
		name         string
		regions      []string // nil: every unit
		messages     int
		lastSeq      uint64
		pending      uint64
		flusherWaits bool
		waited       time.Duration
		want         string
	}{
		{name: "empty", messages: 0, lastSeq: 7, flusherWaits: true, waited: due, want: ""},
		{name: "full, every unit", messages: maxBatch, lastSeq: 150, pending: 1000, want: cutFull},
		{name: "full, some units", regions: some, messages: maxBatch, lastSeq: 150, pending: 1000, want: cutFull},
		{name: "multiple of MaxBatch, some units", regions: some, messages: 3, lastSeq: 200, pending: 1000, want: cutFull},
		{name: "multiple of MaxBatch, every unit", messages: 3, lastSeq: 200, pending: 1000, want: ""},
		{name: "multiple of MaxBatch, every unit, at the end", messages: 3, lastSeq: 200, pending: 0, flusherWaits: true, want: cutIdle},
		{name: "flusher busy", messages: 10, lastSeq: 110, pending: 0, waited: due, want: ""},
		{name: "interval", messages: 10, lastSeq: 110, pending: 5, flusherWaits: true, waited: due, want: cutInterval},
		{name: "end of stream", messages: 10, lastSeq: 110, pending: 0, flusherWaits: true, waited: fresh, want: cutIdle},
		{name: "neither due nor at the end", messages: 10, lastSeq: 110, pending: 5, flusherWaits: true, waited: fresh, want: ""},
		{name: "backlog fills the batch", messages: 10, lastSeq: 110, pending: 90, flusherWaits: true, waited: due, want: ""},
		{name: "backlog one short of filling it", messages: 10, lastSeq: 110, pending: 89, flusherWaits: true, waited: due, want: cutInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h handOver // three batches handed over; the flusher has passed on all or two of them
			h.handed.Store(3)
			h.done.Store(2)
			if tt.flusherWaits {
				h.done.Store(3)
			}
			cfg := Config{Regions: tt.regions, MaxBatch: maxBatch, FlushInterval: 250 * time.Millisecond}.WithDefaults()
			r := &reader{cfg: cfg, batch: &pending{messages: tt.messages}, lastSeq: tt.lastSeq, pending: tt.pending,
				atEnd: tt.pending == 0, handOver: &h}
			if got := r.cutReason(time.Now().Add(-tt.waited)); got != tt.want {
				t.Errorf("cutReason = %q, want %q", got, tt.want)
			}
		})
	}
}
