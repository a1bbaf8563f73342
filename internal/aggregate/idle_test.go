package aggregate

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
)

// A lone event on a quiet pipeline is stored as soon as it is read: the reader is at the end of
// the stream and the flusher waits, so the batch is cut at once instead of after FlushInterval
// (an hour here). Events that arrive while the flusher is busy still wait for it, in one batch.
func TestLoneEventIsFlushedWithoutWaitingForTheTimer(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc, js, store := setupServiceWith(t, Config{FlushInterval: time.Hour}, reg)
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, svc.Ready)
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	publish(t, js, rating("idle-1", when, 5))
	zhejiangScore(t, store, 1)
	publish(t, js, rating("idle-2", when.Add(time.Minute), 4))
	zhejiangScore(t, store, 2)
	if got := metricValue(t, reg, "govpulse_aggregate_batches_total"); got != 2 {
		t.Errorf("%v batches cut, want 2 (both idle)", got)
	}
}
