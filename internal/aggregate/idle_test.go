package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scoring"
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

// heldStore writes through to a real store, but holds every write of event rows (a flush's second
// write, after its scores) until release is closed.
type heldStore struct {
	*chstore.Store
	held    chan struct{} // receives when a write of event rows starts waiting
	release chan struct{}
}

func (h *heldStore) WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error) {
	if len(b.Events) > 0 {
		h.held <- struct{}{}
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Store.WriteIsolated(ctx, b, schemaFaults)
}

// A flush stores its scores first and publishes them as soon as they are stored, before its other
// rows are written; its ranking is published only after those, and the checkpoint after both.
func TestScoresArePublishedOnceTheirRowsAreStored(t *testing.T) {
	conn, database := chtest.Open(t)
	store := chstore.New(conn, database, nil)
	ctx := t.Context()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	url, _ := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	h := &heldStore{Store: store, held: make(chan struct{}, 1), release: make(chan struct{})}
	svc, err := New(Config{}, js, h, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := natsjs.Names{}.WithDefaults()
	scores, err := nc.SubscribeSync(names.ScoreSubjects())
	if err != nil {
		t.Fatal(err)
	}
	rankings, err := nc.SubscribeSync(names.RankingsSubject())
	if err != nil {
		t.Fatal(err)
	}
	testwait.Run(t, "aggregator", svc.Run)
	publish(t, js, rating("first-1", time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC), 5))

	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the flush's second write never started")
	}
	// The second write is held: the score is stored and published, the ranking is not.
	zhejiangScore(t, store, 1)
	// The first event scores every unit (its window starts); Zhejiang's is among them.
	for zhejiang := false; !zhejiang; {
		msg, err := scores.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no score of Zhejiang published while the flush's other rows wait: %v", err)
		}
		var sc scoring.Score
		if err := json.Unmarshal(msg.Data, &sc); err != nil || sc.Version != 1 {
			t.Fatalf("score %s (%v), want version 1", msg.Data, err)
		}
		zhejiang = sc.Region == "330000"
	}
	if m, err := rankings.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("ranking %s published before its rows were stored", m.Data)
	}
	obj, err := natsjs.EnsureCheckpointStore(ctx, js, names, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.GetInfo(ctx, svc.cfg.objectName()); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("checkpoint written before the flush's other rows are stored (%v)", err)
	}
	close(h.release)
	if _, err := rankings.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no ranking published once the flush is stored: %v", err)
	}
}
