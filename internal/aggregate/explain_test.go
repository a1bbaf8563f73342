package aggregate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// explainStore writes through to a real store and records every write: its event rows and
// explanation rows, and the last sequence of the stored checkpoint when it began. Once crashed is
// set, every write waits for its context instead, as if the process had died.
type explainStore struct {
	*chstore.Store
	t           *testing.T
	checkpoints jetstream.ObjectStore
	crashed     atomic.Bool

	mu     sync.Mutex
	writes []explainWrite
}

// explainWrite is one write seen by explainStore.
type explainWrite struct {
	events     int    // event rows
	causes     int    // score_causes rows
	firstSeq   uint64 // the lowest version (stream sequence of the event) of its score_causes rows
	lastSeq    uint64 // the highest
	checkpoint uint64 // the stored checkpoint's last sequence when the write began (0: none)
}

func newExplainStore(t *testing.T, js jetstream.JetStream, store *chstore.Store) *explainStore {
	t.Helper()
	obj, err := natsjs.EnsureCheckpointStore(t.Context(), js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &explainStore{Store: store, t: t, checkpoints: obj}
}

// checkpointSeq returns the last sequence of the stored checkpoint, 0 when there is none.
func (s *explainStore) checkpointSeq(ctx context.Context) (uint64, error) {
	data, err := s.checkpoints.GetBytes(ctx, natsjs.CheckpointObject("all"))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	c, err := decodeCheckpoint(data)
	return c.lastSeq, err
}

func (s *explainStore) WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error) {
	if s.crashed.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	w := explainWrite{events: len(b.Events), causes: len(b.ScoreCauses)}
	for i, c := range b.ScoreCauses {
		if i == 0 || c.Version < w.firstSeq {
			w.firstSeq = c.Version
		}
		w.lastSeq = max(w.lastSeq, c.Version)
	}
	cp, err := s.checkpointSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("test: read the checkpoint: %w", err)
	}
	w.checkpoint = cp
	refused, err := s.Store.WriteIsolated(ctx, b, schemaFaults)
	if err == nil {
		s.mu.Lock()
		s.writes = append(s.writes, w)
		s.mu.Unlock()
	}
	return refused, err
}

// seen returns the writes recorded so far.
func (s *explainStore) seen() []explainWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// checkNoCheckpointAhead fails the test when a write of explanation rows began after a checkpoint
// that covers their events had been stored: a crash then would have lost them.
func (s *explainStore) checkNoCheckpointAhead() {
	s.t.Helper()
	for i, w := range s.seen() {
		if w.causes > 0 && w.checkpoint >= w.firstSeq {
			s.t.Errorf("write %d stored explanations from sequence %d after a checkpoint through %d", i, w.firstSeq, w.checkpoint)
		}
	}
}

// explainedVersions returns the score versions ("region/version") of method 2017 in scores and
// those in score_causes, each sorted.
func explainedVersions(t *testing.T, conn driver.Conn, store *chstore.Store) (scores, causes []string) {
	t.Helper()
	db := "`" + store.Database() + "`"
	for q, out := range map[string]*[]string{
		"SELECT DISTINCT region, version FROM " + db + ".scores":                             &scores,
		"SELECT DISTINCT region, version FROM " + db + ".score_causes WHERE method = '2017'": &causes,
	} {
		rows, err := conn.Query(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var (
				region  string
				version uint64
			)
			if err := rows.Scan(&region, &version); err != nil {
				t.Fatal(err)
			}
			*out = append(*out, fmt.Sprintf("%s/%d", region, version))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(*out)
	}
	return scores, causes
}

// publishRatings publishes n ratings of Zhejiang, a minute apart, with ids prefix-00, prefix-01, ….
func publishRatings(t *testing.T, js jetstream.JetStream, prefix string, n int) {
	t.Helper()
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		publish(t, js, rating(fmt.Sprintf("%s-%02d", prefix, i), when.Add(time.Duration(i)*time.Minute), 1+i%5))
	}
}

// explainCounter returns govpulse_aggregate_explain_writes_total for reason.
func explainCounter(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "govpulse_aggregate_explain_writes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Under load (batches cut because they are full, not because the input went idle) the explanation
// rows of several batches are held and written together, in one write; a score is stored before
// its explanation meanwhile. A crash while they are held loses nothing: no checkpoint covers them,
// so the next aggregator replays their events and writes them. At shutdown they are written
// before the final checkpoint.
func TestExplanationsOfSeveralBatchesAreWrittenTogether(t *testing.T) {
	cfg := Config{MaxBatch: 5, FlushInterval: time.Hour, CheckpointInterval: time.Hour, ExplainDelay: time.Hour}
	_, js, store, conn := setupWithConn(t, cfg)
	publishRatings(t, js, "load", 40)

	// The first aggregator holds the explanations of all 8 batches, then dies.
	rec := newExplainStore(t, js, store)
	reg := prometheus.NewRegistry()
	crashing := cfg
	crashing.ShutdownTimeout = 2 * time.Second // how long the dead process's writes wait
	first, err := New(crashing, js, rec, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	testwait.For(t, 30*time.Second, 10*time.Millisecond, func() error {
		if got := metricValue(t, reg, "govpulse_aggregate_explain_deferred_total"); got != 8 {
			return fmt.Errorf("%v batches deferred their explanations, want 8", got)
		}
		return nil
	})
	if held := metricValue(t, reg, "govpulse_aggregate_explain_rows_held"); held == 0 {
		t.Error("no explanation rows held")
	}
	if scores, causes := explainedVersions(t, conn, store); len(scores) == 0 || len(causes) != 0 {
		t.Errorf("while held: %d score versions stored, %d explained; want scores and no explanations", len(scores), len(causes))
	}
	rec.crashed.Store(true)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Run returned nil, want an error: the held explanations could not be stored")
	}
	if cp, err := rec.checkpointSeq(t.Context()); err != nil || cp != 0 {
		t.Fatalf("checkpoint through %d (%v) after the crash, want none: it would cover unwritten explanations", cp, err)
	}
	rec.checkNoCheckpointAhead()

	// The next one replays the 40 events, holds their explanations again, and writes them at
	// shutdown, in one write, before its checkpoint.
	rec2 := newExplainStore(t, js, store)
	reg2 := prometheus.NewRegistry()
	second, err := New(cfg, js, rec2, nil, reg2)
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "aggregator", second.Run)
	testwait.For(t, 30*time.Second, 10*time.Millisecond, func() error {
		if got := metricValue(t, reg2, "govpulse_aggregate_explain_deferred_total"); got != 8 {
			return fmt.Errorf("%v batches deferred their explanations, want 8", got)
		}
		return nil
	})
	stop()
	var together []explainWrite
	for _, w := range rec2.seen() {
		if w.causes > 0 {
			together = append(together, w)
		}
	}
	if len(together) != 1 || together[0].firstSeq != 1 || together[0].lastSeq != 40 || together[0].events != 0 {
		t.Errorf("writes of explanations %+v, want one of sequences 1 to 40, written alone at shutdown", together)
	}
	if got := explainCounter(t, reg2, explainCheckpoint); got != 1 {
		t.Errorf("%v writes of explanations before a checkpoint, want 1", got)
	}
	rec2.checkNoCheckpointAhead()
	if cp, err := rec2.checkpointSeq(t.Context()); err != nil || cp != 40 {
		t.Errorf("checkpoint through %d (%v) after shutdown, want 40", cp, err)
	}
	scores, causes := explainedVersions(t, conn, store)
	if len(scores) == 0 || !slices.Equal(scores, causes) {
		t.Errorf("score versions %v, explained %v: want every one explained", scores, causes)
	}
}

// Explanations held under load are written once the oldest has waited ExplainDelay, though no
// batch comes to carry them, or with a batch that carries a checkpoint; no checkpoint ever covers
// explanations not yet written.
func TestHeldExplanationsWaitAtMostTheDelay(t *testing.T) {
	for _, tc := range []struct {
		name       string
		checkpoint time.Duration
		reason     string // a reason the explanations must have been written for
	}{
		{"no checkpoint", time.Hour, explainDelayed},
		{"checkpoints", time.Millisecond, explainCheckpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{MaxBatch: 5, FlushInterval: time.Hour, CheckpointInterval: tc.checkpoint,
				ExplainDelay: 300 * time.Millisecond}
			_, js, store, conn := setupWithConn(t, cfg)
			rec := newExplainStore(t, js, store)
			reg := prometheus.NewRegistry()
			svc, err := New(cfg, js, rec, nil, reg)
			if err != nil {
				t.Fatal(err)
			}
			publishRatings(t, js, "delay", 40)
			stop := testwait.Run(t, "aggregator", svc.Run)
			testwait.For(t, 30*time.Second, 10*time.Millisecond, func() error {
				scores, causes := explainedVersions(t, conn, store)
				if len(scores) == 0 || !slices.Equal(scores, causes) {
					return fmt.Errorf("score versions %v, explained %v", scores, causes)
				}
				if held := metricValue(t, reg, "govpulse_aggregate_explain_rows_held"); held != 0 {
					return fmt.Errorf("%v explanation rows still held", held)
				}
				return nil
			})
			if got := explainCounter(t, reg, tc.reason); got == 0 {
				t.Errorf("no explanations written for reason %s", tc.reason)
			}
			stop()
			rec.checkNoCheckpointAhead()
		})
	}
}

// A lone event on a quiet pipeline is explained with its own flush, however long the delay: its
// batch was cut because the input went idle, after the flusher had waited at least quietWait.
func TestLoneEventIsExplainedWithItsFlush(t *testing.T) {
	cfg := Config{FlushInterval: time.Hour, ExplainDelay: time.Hour}
	_, js, store, conn := setupWithConn(t, cfg)
	if err := natsjs.EnsureStreams(t.Context(), js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := newExplainStore(t, js, store)
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, js, rec, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, svc.Ready)
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 2 {
		// A quiet pipeline: the flusher has waited for a batch at least twice quietWait.
		quietSince := time.Now()
		testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
			if !svc.handOver.free() || time.Since(quietSince) < 2*quietWait {
				return fmt.Errorf("pipeline quiet for %v, want %v", time.Since(quietSince), 2*quietWait)
			}
			return nil
		})
		publish(t, js, rating(fmt.Sprintf("lone-%d", i), when.Add(time.Duration(i)*time.Minute), 5))
		zhejiangScore(t, store, uint64(i+1))
		testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
			_, causes := explainedVersions(t, conn, store)
			if !slices.Contains(causes, fmt.Sprintf("330000/%d", i+1)) {
				return fmt.Errorf("explained %v, want 330000/%d", causes, i+1)
			}
			return nil
		})
	}
	for _, w := range rec.seen() {
		if w.events > 0 && w.causes == 0 {
			t.Errorf("a write of events without their explanations: %+v", w)
		}
	}
	if got := metricValue(t, reg, "govpulse_aggregate_explain_deferred_total"); got != 0 {
		t.Errorf("%v batches deferred their explanations, want 0", got)
	}
	if got := explainCounter(t, reg, explainIdle); got != 2 {
		t.Errorf("%v writes of explanations because the input went idle, want 2", got)
	}
}

// Explanation rows ClickHouse refuses (here: Guizhou's score_changes rows, refused by a
// materialized view of the test database) while they were held with those of other batches are
// counted as refused and dead-letter no event, as when they are written with their own batch: the
// score they explain is stored. The other explanations are stored.
func TestRefusedHeldExplanationsDeadLetterNothing(t *testing.T) {
	cfg := Config{MaxBatch: 5, FlushInterval: time.Hour, CheckpointInterval: time.Hour, ExplainDelay: time.Hour,
		RetryMaxInterval: 100 * time.Millisecond}
	_, js, store, conn := setupWithConn(t, cfg)
	ctx := t.Context()
	db := "`" + store.Database() + "`"
	for _, q := range []string{
		"CREATE TABLE " + db + ".change_sink (region String) ENGINE = MergeTree ORDER BY region",
		"CREATE MATERIALIZED VIEW " + db + ".change_check TO " + db + ".change_sink AS SELECT region FROM " + db +
			".score_changes WHERE throwIf(region = '520000') = 0",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 20 {
		ev := rated(fmt.Sprintf("x-%02d", i), when.Add(time.Duration(i)*time.Minute), events.ChannelWeb)
		if i%4 == 1 {
			ev.Region = "520000"
		}
		publish(t, js, ev)
	}
	rec := newExplainStore(t, js, store)
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, js, rec, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 30*time.Second, 10*time.Millisecond, func() error {
		if got := metricValue(t, reg, "govpulse_aggregate_explain_deferred_total"); got != 4 {
			return fmt.Errorf("%v batches deferred their explanations, want 4", got)
		}
		return nil
	})
	stop()
	if letters := storeDeadLetters(t, js); len(letters) != 0 {
		t.Errorf("store dead letters %v, want none", letters)
	}
	var refused float64
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "govpulse_aggregate_rows_refused_total" {
			for _, m := range f.GetMetric() {
				if strings.Contains(m.String(), "score_changes") {
					refused += m.GetCounter().GetValue()
				}
			}
		}
	}
	if refused == 0 {
		t.Error("no score_changes rows counted as refused")
	}
	scores, causes := explainedVersions(t, conn, store)
	if !slices.Equal(scores, causes) {
		t.Errorf("score versions %v, explained %v (score_causes is not refused)", scores, causes)
	}
	var zhejiang uint64
	if err := conn.QueryRow(ctx, "SELECT countIf(region = '330000') FROM "+db+".score_changes").Scan(&zhejiang); err != nil {
		t.Fatal(err)
	}
	if zhejiang == 0 {
		t.Error("no score_changes rows of Zhejiang stored")
	}
	if ids := storedIDs(t, store); len(ids) != 20 {
		t.Errorf("%d events stored, want 20", len(ids))
	}
	rec.checkNoCheckpointAhead()
}
