package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/testwait"
)

// "aggregate rescore --method 2022" reads the stream up to its end, stores method 2022's rows,
// says so in its log (no terminal: no bar) and exits.
func TestRescoreCommand(t *testing.T) {
	conn, database := chtest.Open(t)
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ev := range scenario.Stream(scenario.StreamOptions{Seed: 3, Events: 120, Step: 30 * time.Minute}) {
		data, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(ev.Subject(""))
		m.Data = data
		m.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(ev.Time))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
		n++
	}
	var logs testwait.Buffer
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := run(rctx, []string{"rescore", "--method", scoring.Method2022}, env(map[string]string{
		"GOVPULSE_NATS_URL":       url,
		"GOVPULSE_CLICKHOUSE_DSN": "clickhouse://" + chtest.Addr(t) + "/" + database,
	}), &logs)
	if err != nil || rctx.Err() != nil {
		t.Fatalf("rescore: %v (%v); logs:\n%s", err, rctx.Err(), logs.String())
	}
	if !strings.Contains(logs.String(), "re-scoring done") || strings.Contains(logs.String(), "[#") {
		t.Errorf("logs:\n%s", logs.String())
	}
	store := chstore.New(conn, database, nil)
	latest, err := store.LatestMethodScores(ctx, scoring.Method2022)
	if err != nil || len(latest) != 32 || latest[0].Version == 0 {
		t.Fatalf("%d latest scores of 2022 (%v)", len(latest), err)
	}
	if rows, err := store.LatestScores(ctx); err != nil || len(rows) != 0 {
		t.Errorf("the rescore stored %d scores of method 2017 (%v)", len(rows), err)
	}
	maxVersion := uint64(0)
	for _, s := range latest {
		maxVersion = max(maxVersion, s.Version)
	}
	if maxVersion > uint64(n) || maxVersion < uint64(n)-40 {
		t.Errorf("latest version %d of %d events", maxVersion, n)
	}
}
