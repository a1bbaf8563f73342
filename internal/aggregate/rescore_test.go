package aggregate

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// methodStream returns the messages of a synthetic stream over the 32 units whose applications
// also carry the optional times (every third one), so that every term of method 2022 moves.
func methodStream(t *testing.T, n int) []*nats.Msg {
	t.Helper()
	var msgs []*nats.Msg
	i := 0
	for ev := range scenario.Stream(scenario.StreamOptions{Seed: 13, Events: n, Step: 20 * time.Minute, Jitter: 2 * 24 * time.Hour}) {
		i++
		if d, ok := ev.Data.(*events.ApplicationCompletedData); ok && i%3 != 0 {
			d.Timed, d.PromisedDays, d.TookDays = true, 1+i%7, i%9
		}
		data, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(ev.Subject(""))
		m.Data = data
		m.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(ev.Time))
		m.Header.Set(jetstream.MsgIDHeader, ev.Key().String())
		msgs = append(msgs, m)
	}
	return msgs
}

// methodRows is what a database holds of one method: every score and every ranking row.
func methodRows(ctx context.Context, store *chstore.Store, method string) ([]chstore.ScoreRow, []chstore.RankingRow, error) {
	scores, err := store.MethodScoreHistory(ctx, method)
	if err != nil {
		return nil, nil, err
	}
	rankings, err := store.MethodRankings(ctx, method)
	return scores, rankings, err
}

func newDatabase(t *testing.T) *chstore.Store {
	t.Helper()
	conn, database := chtest.Open(t)
	store := chstore.New(conn, database, nil)
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return store
}

// A re-scoring of the stream under method 2022, run beside the live aggregator of methods 2017
// and 2022 on the same stream, stores exactly the method 2022 rows the live aggregator stores:
// every score with its version and every ranking row. (Batches end at the same stream sequences
// in both: at the multiples of MaxBatch, the flush interval being longer than the test, and at
// the last message, since both read a stream that is already whole.) A re-scoring from a time stores the same rows from that time on.
func TestRescoreStoresWhatALiveRunStores(t *testing.T) {
	ctx := t.Context()
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	liveDB, rescoreDB, fromDB := newDatabase(t), newDatabase(t), newDatabase(t)
	base := Config{MaxBatch: 16, FlushInterval: time.Hour, CheckpointInterval: 50 * time.Millisecond}

	liveCfg := base
	liveCfg.Methods = []string{scoring.Method, scoring.Method2022}
	live, err := New(liveCfg, js, liveDB, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := methodStream(t, 500)
	for _, m := range msgs {
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The live aggregator starts on the whole stream: an aggregator that reaches the end of the
	// stream while its flusher waits cuts a batch there, so while events still arrive its batches
	// would end wherever it caught up with them.
	stopLive := testwait.Run(t, "live aggregator", live.Run)
	testwait.For(t, 60*time.Second, 50*time.Millisecond, func() error {
		if p := live.Progress(); p.Done != uint64(len(msgs)) {
			return fmt.Errorf("live aggregator read %d of %d messages", p.Done, len(msgs))
		}
		return nil
	})

	// The re-scoring runs while the live aggregator keeps running, and returns once it is done.
	rescore := func(store *chstore.Store, partition string, from time.Time) *Service {
		cfg := base
		cfg.Partition, cfg.Methods, cfg.Rescore, cfg.From = partition, []string{scoring.Method2022}, true, from
		svc, err := New(cfg, js, store, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("rescore: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("rescore did not finish within 60s")
		}
		if p := svc.Progress(); p.Done != uint64(len(msgs)) || p.Target != uint64(len(msgs)) || p.Start != 0 {
			t.Errorf("rescore progress %+v, want %d of %d from 0", p, len(msgs), len(msgs))
		}
		return svc
	}
	rescore(rescoreDB, RescorePartition(scoring.Method2022), time.Time{})
	stopLive()

	wantScores, wantRankings, err := methodRows(ctx, liveDB, scoring.Method2022)
	if err != nil {
		t.Fatal(err)
	}
	gotScores, gotRankings, err := methodRows(ctx, rescoreDB, scoring.Method2022)
	if err != nil {
		t.Fatal(err)
	}
	if len(wantScores) < 32 || len(wantRankings) < 32 {
		t.Fatalf("the live run stored %d scores and %d ranking rows of method 2022", len(wantScores), len(wantRankings))
	}
	if !reflect.DeepEqual(gotScores, wantScores) {
		t.Errorf("rescore stored %d scores, the live run %d; first difference: %s", len(gotScores), len(wantScores),
			firstDifference(gotScores, wantScores))
	}
	if !reflect.DeepEqual(gotRankings, wantRankings) {
		t.Errorf("rescore stored %d ranking rows, the live run %d; first difference: %s", len(gotRankings), len(wantRankings),
			firstDifference(gotRankings, wantRankings))
	}
	// It stores nothing else: no events, no scores of other methods, no method 2017 rankings.
	if n, err := rescoreDB.EventCounts(ctx); err != nil || len(n) != 0 {
		t.Errorf("rescore stored events: %v, %v", n, err)
	}
	if s, r, err := methodRows(ctx, rescoreDB, scoring.Method); err != nil || len(s)+len(r) != 0 {
		t.Errorf("rescore stored %d scores and %d rankings of method 2017 (%v)", len(s), len(r), err)
	}
	// The live run stored method 2017 in both kinds of table, with the same values.
	legacy, err := liveDB.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	generic, err := liveDB.LatestMethodScores(ctx, scoring.Method)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := scoring.Lookup(scoring.Method)
	if len(legacy) != 32 || len(generic) != 32 {
		t.Fatalf("%d latest scores, %d latest method scores of 2017", len(legacy), len(generic))
	}
	for i := range legacy {
		for _, term := range spec.Terms {
			a, b := term.Value(&legacy[i]), term.Value(&generic[i])
			if (a == nil) != (b == nil) || a != nil && *a != *b {
				t.Errorf("%s: term %s %v in scores, %v in method_scores", legacy[i].Region, term.Name, a, b)
			}
		}
	}

	// From a time on: the same rows from then on.
	from := wantScores[len(wantScores)/2].AsOf
	rescore(fromDB, "rescore-2022-from", from)
	fromScores, fromRankings, err := methodRows(ctx, fromDB, scoring.Method2022)
	if err != nil {
		t.Fatal(err)
	}
	var wantFrom []chstore.ScoreRow
	for _, s := range wantScores {
		if !s.AsOf.Before(from) {
			wantFrom = append(wantFrom, s)
		}
	}
	var wantFromRk []chstore.RankingRow
	for _, r := range wantRankings {
		if !r.AsOf.Before(from) {
			wantFromRk = append(wantFromRk, r)
		}
	}
	if len(wantFrom) == 0 || len(wantFrom) == len(wantScores) || !reflect.DeepEqual(fromScores, wantFrom) {
		t.Errorf("rescore from %s stored %d scores, want %d of %d", from, len(fromScores), len(wantFrom), len(wantScores))
	}
	if !reflect.DeepEqual(fromRankings, wantFromRk) {
		t.Errorf("rescore from %s stored %d ranking rows, want %d", from, len(fromRankings), len(wantFromRk))
	}
}

// firstDifference describes the first index where got and want differ.
func firstDifference[T any](got, want []T) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Sprintf("row %d:\n%+v\n%+v", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}
