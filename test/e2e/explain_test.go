package e2e_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/testwait"
)

// TestExplainSample feeds the sample scenario through ingest, NATS and the aggregator into
// ClickHouse, then explains December 2016 for 330000 (what govpulsectl explain 330000 --from
// 2016-12-01T00:00:00+08:00 --to 2017-01-01T00:00:00+08:00 prints) and checks its numbers against
// the stored scores, and every stored change against the scores at its two versions.
func TestExplainSample(t *testing.T) {
	p := startPipeline(t)
	// The aggregator's default flush interval: fewer, larger inserts than runAggregator's, so that
	// ClickHouse has few parts to merge (and the database drops quickly) after 25,578 events.
	svc, err := aggregate.New(aggregate.Config{}, p.js, p.store, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	ctx := t.Context()
	src, err := ctl.Source(ctl.ScenarioSample, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ctl.Feed(ctx, src, ctl.FeedOptions{URL: p.ingest.URL})
	if err != nil || sum.Accepted != sum.Events {
		t.Fatalf("feed: %+v, %v", sum, err)
	}
	// Events and the scores they change are stored in the same batch.
	testwait.For(t, 5*time.Minute, 100*time.Millisecond, func() error {
		counts, err := p.store.EventCounts(ctx)
		if err != nil {
			return err
		}
		n := 0
		for _, c := range counts {
			n += int(c)
		}
		if n != sum.Accepted {
			return fmt.Errorf("%d events stored, want %d", n, sum.Accepted)
		}
		return nil
	})
	stop() // its final flush writes the tables that explain the last batch, after its events

	const region = "330000"
	from := time.Date(2016, 12, 1, 0, 0, 0, 0, cst)
	to := time.Date(2017, 1, 1, 0, 0, 0, 0, cst)
	x, err := explain.Load(ctx, p.store, region, from, to)
	if err != nil {
		t.Fatal(err)
	}
	history, err := p.store.ScoreHistory(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	inForce := func(at time.Time) *chstore.ScoreRow {
		var s *chstore.ScoreRow
		for i := range history {
			if !history[i].AsOf.After(at) {
				s = &history[i]
			}
		}
		return s
	}
	s1, s2 := inForce(from), inForce(to)
	if s1 == nil || s2 == nil {
		t.Fatalf("no score of %s in force at %s or %s", region, from, to)
	}
	if x.FromVersion != s1.Version || x.ToVersion != s2.Version {
		t.Fatalf("versions %d..%d, the scores in force are %d..%d", x.FromVersion, x.ToVersion, s1.Version, s2.Version)
	}
	if *x.Composite.From != s1.Composite || *x.Composite.To != s2.Composite {
		t.Fatalf("composite %v -> %v, stored %v -> %v", *x.Composite.From, *x.Composite.To, s1.Composite, s2.Composite)
	}
	spec, _ := scoring.Lookup(s2.Method)
	for i, term := range spec.Terms {
		tc := x.Terms[i]
		f, g := term.Value(s1), term.Value(s2)
		if !same(tc.From, f) || !same(tc.To, g) {
			t.Fatalf("%s: %v -> %v, stored %v -> %v", term.Name, tc.From, tc.To, f, g)
		}
		for _, c := range tc.Counts {
			cf, _ := s1.Counts.Count(c.Name)
			cg, _ := s2.Counts.Count(c.Name)
			if c.From != cf || c.To != cg {
				t.Fatalf("%s: %d -> %d, stored %d -> %d", c.Name, c.From, c.To, cf, cg)
			}
		}
	}
	// The events applied are the unit's events stored with a sequence in between.
	evs, err := p.store.Events(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	var between int64
	for _, e := range evs {
		if e.StreamSeq > s1.Version && e.StreamSeq <= s2.Version {
			between++
		}
	}
	if x.Applied != between {
		t.Errorf("applied %d, the events table holds %d of %s with a sequence in (%d, %d]", x.Applied, between, region, s1.Version, s2.Version)
	}
	delta := strconv.FormatFloat(s2.Composite-s1.Composite, 'f', 2, 64)
	if !strings.HasPrefix(delta, "-") {
		delta = "+" + delta
	}
	if !strings.Contains(x.SummaryEN, "composite "+delta) || !strings.Contains(x.SummaryZH, "综合指数 "+delta) {
		t.Errorf("summaries do not say the composite moved by %s:\n%s\n%s", delta, x.SummaryEN, x.SummaryZH)
	}
	t.Logf("%s\n%s", x.SummaryEN, x.SummaryZH)

	// Every stored change agrees with the scores at its two versions; rankings have rank changes.
	all, err := p.store.ScoreHistory(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := p.store.ScoreChanges(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := explain.Verify(all, changes); err != nil {
		t.Fatal(err)
	}
	ranks, err := p.store.RankChanges(ctx, time.Time{}, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranks) == 0 {
		t.Error("no rank changes stored")
	}
}

func same(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
