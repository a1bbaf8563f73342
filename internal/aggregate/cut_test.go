package aggregate

import (
	"testing"
	"time"
)

// TestCutReason is the table of the reader's rules for cutting a batch.
func TestCutReason(t *testing.T) {
	const maxBatch = 100
	now := time.Now()
	due, fresh := now.Add(-time.Second), now // oldest message waited past / within the interval
	tests := []struct {
		name           string
		messages       int
		lastSeq        uint64
		pending        uint64
		flusherWaiting bool
		oldest         time.Time
		want           string
	}{
		{name: "empty", messages: 0, lastSeq: 7, flusherWaiting: true, oldest: due, want: ""},
		{name: "full", messages: maxBatch, lastSeq: 150, pending: 1000, want: cutFull},
		{name: "multiple of MaxBatch", messages: 3, lastSeq: 200, pending: 1000, want: cutFull},
		{name: "flusher busy", messages: 10, lastSeq: 110, pending: 0, oldest: due, want: ""},
		{name: "interval", messages: 10, lastSeq: 110, pending: 5, flusherWaiting: true, oldest: due, want: cutInterval},
		{name: "end of stream", messages: 10, lastSeq: 110, pending: 0, flusherWaiting: true, oldest: fresh, want: cutIdle},
		{name: "neither due nor at the end", messages: 10, lastSeq: 110, pending: 5, flusherWaiting: true, oldest: fresh, want: ""},
		{name: "backlog fills the batch", messages: 10, lastSeq: 110, pending: 90, flusherWaiting: true, oldest: due, want: ""},
		{name: "backlog one short of filling it", messages: 10, lastSeq: 110, pending: 89, flusherWaiting: true, oldest: due, want: cutInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h handOver // the flusher has passed on every batch handed over, or not yet the last
			h.handed.Store(3)
			if tt.flusherWaiting {
				h.done.Store(3)
			}
			r := &reader{cfg: Config{MaxBatch: maxBatch, FlushInterval: 250 * time.Millisecond},
				batch: &pending{messages: tt.messages}, lastSeq: tt.lastSeq, pending: tt.pending,
				atEnd: tt.pending == 0, handOver: &h}
			if got := r.cutReason(tt.oldest); got != tt.want {
				t.Errorf("cutReason = %q, want %q", got, tt.want)
			}
		})
	}
}
