package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// randomStream returns n events over a few regions of cfg: portal changes
// with colliding keys and stamps, user-experience events with repeated
// ids, events out of order, late and too late, across many UTC+8 days.
func randomStream(rng *rand.Rand, regions []string, n int) []*events.Event {
	cur := base.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
	var uxIDs []string
	out := make([]*events.Event, 0, n)
	for i := 0; i < n; i++ {
		cur = cur.Add(time.Duration(rng.IntN(180)) * time.Minute)
		t := cur
		switch k := rng.IntN(20); {
		case k < 12:
			t = t.Add(-time.Duration(rng.IntN(20*60)) * time.Second)
		case k < 15:
			t = t.Add(-time.Duration(rng.IntN(3*24*60)) * time.Minute)
		case k < 18:
			t = t.Add(-time.Duration(6*24*60+rng.IntN(3*24*60)) * time.Minute)
		default:
			t = t.Add(time.Duration(rng.IntN(5*60)) * time.Minute)
		}
		t = t.Add(time.Duration(rng.IntN(1000))) // nanoseconds matter
		region := regions[rng.IntN(len(regions))]
		lv := events.Levels()[rng.IntN(4)]
		code := fmt.Sprintf("item-%d", rng.IntN(5))
		id := fmt.Sprintf("e-%d", i)
		var d events.Payload
		switch rng.IntN(12) {
		case 10, 11: // the lifecycle of a review seen or to come
			rid := fmt.Sprintf("e-%d", max(0, i-20+rng.IntN(25)))
			switch rng.IntN(5) {
			case 0:
				d = &events.FeedbackAppealedData{ReviewID: rid, Reason: "r"}
			case 1:
				d = &events.FeedbackAppealDecidedData{ReviewID: rid, Decision: []events.Decision{events.Upheld, events.RejectedAppeal}[rng.IntN(2)]}
			case 2, 3:
				d = &events.RectificationOpenedData{ReviewID: rid, DeadlineDays: 1 + rng.IntN(4)}
			default:
				d = &events.RectificationClosedData{ReviewID: rid, Resolved: rng.IntN(3) > 0, Rating: rng.IntN(6)}
			}
		case 0:
			d = &events.CatalogItemData{ItemCode: code, Level: lv, Required: rng.IntN(4) > 0}
		case 1:
			var modes []events.Mode
			for _, m := range events.Modes() {
				if rng.IntN(2) == 0 {
					modes = append(modes, m)
				}
			}
			d = &events.ServicePublishedData{ItemCode: code, Level: lv, Name: "n", Department: "d", Modes: modes, Maturity: rng.IntN(5)}
		case 2:
			d = &events.ServiceWithdrawnData{ItemCode: code, Level: lv}
		case 3:
			g := &events.GuideAuditedData{ItemCode: code, Level: lv, Consistent: rng.IntN(2) == 0}
			for j := range g.Elements {
				g.Elements[j] = events.Verdicts()[rng.IntN(3)]
			}
			d = g
		case 4:
			d = &events.PlatformUpdatedData{Integrated: rng.IntN(2) == 0, Levels: events.Levels()[:rng.IntN(5)], Portals: 1 + rng.IntN(50)}
		case 5, 6:
			d = &events.FeedbackRatedData{Rating: 1 + rng.IntN(5), Channel: events.ChannelMobile}
		default:
			a := &events.ApplicationCompletedData{ItemCode: code, Level: lv, Outcome: events.Outcomes()[rng.IntN(3)],
				Online: rng.IntN(2) == 0, Visits: max(0, rng.IntN(4)-1)}
			if rng.IntN(2) == 0 {
				a.Timed, a.PromisedDays, a.TookDays = true, rng.IntN(10), rng.IntN(12)
			}
			d = a
		}
		if d.EventType().Portal() {
			if rng.IntN(4) == 0 {
				id = fmt.Sprintf("p-%d", rng.IntN(8)) // stamps that tie
				t = t.Truncate(time.Hour)
			}
		} else {
			if len(uxIDs) > 0 && rng.IntN(5) == 0 {
				id = uxIDs[rng.IntN(len(uxIDs))] // a duplicate, maybe with other content and time
			} else {
				uxIDs = append(uxIDs, id)
			}
		}
		out = append(out, ev(id, region, t, d))
	}
	return out
}

// latest keeps the latest row of every output, by version.
type latest struct {
	t        *testing.T
	scores   map[string]scoring.Score    // by region/method
	rankings map[string]*scoring.Ranking // by method
	windows  map[string]WindowRow
	reviews  map[string]chstore.ReviewStatRow
	alerts   []chstore.AlertRow
}

func newLatest(t *testing.T) *latest {
	return &latest{t: t, scores: map[string]scoring.Score{}, rankings: map[string]*scoring.Ranking{}, windows: map[string]WindowRow{},
		reviews: map[string]chstore.ReviewStatRow{}}
}

func (l *latest) add(out Output) {
	l.t.Helper()
	for _, s := range out.Scores {
		key := s.Region + "/" + s.Method
		if old, ok := l.scores[key]; ok {
			if old.Version > s.Version {
				l.t.Fatalf("score of %s went back from version %d to %d", key, old.Version, s.Version)
			}
			if old.Version == s.Version && !reflect.DeepEqual(old, s) {
				l.t.Fatalf("two scores of %s with version %d differ", key, s.Version)
			}
		}
		l.scores[key] = s
	}
	for _, rk := range out.Rankings {
		if old := l.rankings[rk.Method]; old != nil && old.Version > rk.Version {
			l.t.Fatalf("ranking of %s went back from version %d to %d", rk.Method, old.Version, rk.Version)
		}
		l.rankings[rk.Method] = rk
	}
	for _, w := range out.Windows {
		k := w.Region + "/" + w.Metric + "/" + w.Start.String()
		if old, ok := l.windows[k]; ok && old.Version > w.Version {
			l.t.Fatalf("window %s went back from version %d to %d", k, old.Version, w.Version)
		}
		l.windows[k] = w
	}
	for _, r := range out.ReviewStats {
		k := r.Region + "/" + r.Period + "/" + r.PeriodStart.String()
		if old, ok := l.reviews[k]; ok && old.Version > r.Version {
			l.t.Fatalf("review_stats %s went back from version %d to %d", k, old.Version, r.Version)
		}
		l.reviews[k] = r
	}
	l.alerts = append(l.alerts, out.Alerts...)
}

func (l *latest) equal(o *latest) error {
	if !reflect.DeepEqual(l.scores, o.scores) {
		for k, s := range l.scores {
			if !reflect.DeepEqual(s, o.scores[k]) {
				return fmt.Errorf("score of %s:\n%+v\n%+v", k, s, o.scores[k])
			}
		}
		return fmt.Errorf("score sets differ: %d vs %d", len(l.scores), len(o.scores))
	}
	if !reflect.DeepEqual(l.rankings, o.rankings) {
		return fmt.Errorf("rankings differ:\n%+v\n%+v", l.rankings, o.rankings)
	}
	if !reflect.DeepEqual(l.windows, o.windows) {
		return fmt.Errorf("windows differ: %d vs %d rows", len(l.windows), len(o.windows))
	}
	if !reflect.DeepEqual(l.reviews, o.reviews) {
		for k, r := range l.reviews {
			if !reflect.DeepEqual(r, o.reviews[k]) {
				return fmt.Errorf("review_stats %s:\n%+v\n%+v", k, r, o.reviews[k])
			}
		}
		return fmt.Errorf("review_stats differ: %d vs %d rows", len(l.reviews), len(o.reviews))
	}
	if !reflect.DeepEqual(l.alerts, o.alerts) {
		return fmt.Errorf("alerts differ:\n%+v\n%+v", l.alerts, o.alerts)
	}
	return nil
}

// TestDeterministicVersions is the versioning contract: random streams,
// drained at random points, snapshotted and restored at random points and
// with replayed sequences, give the same latest rows (and the same final
// state) as one uninterrupted run drained once; and every row with version
// v equals the row a fresh engine computes from events 1..v.
func TestDeterministicVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	for round := 0; round < rounds; round++ {
		cfg := Config{Regions: []string{zj, bj, "320000", "520000"}, IDKey: testIDKey}
		if round%10 == 0 {
			cfg = Config{IDKey: testIDKey}
		}
		if round%3 == 1 {
			cfg.AllowedLateness = 2 * 24 * time.Hour
			cfg.OutOfOrderness = time.Hour
		}
		if round%2 == 1 {
			cfg.Methods = []string{scoring.Method, scoring.Method2022}
		}
		regions := []string{zj, bj, "320000", "520000", "440000"} // 440000 is outside the subset
		evs := randomStream(rng, regions, 50+rng.IntN(250))

		whole := mustNew(t, cfg)
		for i, x := range evs {
			whole.Apply(uint64(i+1), x)
		}
		want := newLatest(t)
		want.add(whole.Drain())

		got := newLatest(t)
		e := mustNew(t, cfg)
		var drained []Output
		for i, x := range evs {
			seq := uint64(i + 1)
			r := e.Apply(seq, x)
			if r.Outcome == 0 {
				t.Fatalf("no outcome")
			}
			if rng.IntN(10) == 0 {
				out := e.Drain()
				drained = append(drained, out)
				got.add(out)
			}
			if rng.IntN(20) == 0 {
				snap := e.AppendSnapshot(nil)
				restored, err := Restore(cfg, snap)
				if err != nil {
					t.Fatalf("round %d: Restore: %v", round, err)
				}
				if !bytes.Equal(restored.AppendSnapshot(nil), snap) {
					t.Fatalf("round %d: snapshot of the restored engine differs", round)
				}
				e = restored
			}
			if i > 0 && rng.IntN(30) == 0 { // redelivery of an older sequence
				j := rng.IntN(i)
				if r := e.Apply(uint64(j+1), evs[j]); r.Outcome != Duplicate && r.Outcome != NotInPartition {
					t.Fatalf("replayed sequence %d: %v", j+1, r)
				}
			}
		}
		out := e.Drain()
		drained = append(drained, out)
		got.add(out)
		if err := want.equal(got); err != nil {
			t.Fatalf("round %d: latest rows differ from the uninterrupted run: %v", round, err)
		}
		if !bytes.Equal(whole.AppendSnapshot(nil), e.AppendSnapshot(nil)) {
			t.Fatalf("round %d: final state differs from the uninterrupted run", round)
		}

		// A review_stats row with version v is what events 1..v give.
		for k := 0; k < 3; k++ {
			o := drained[rng.IntN(len(drained))]
			if len(o.ReviewStats) == 0 {
				continue
			}
			r := o.ReviewStats[rng.IntN(len(o.ReviewStats))]
			fresh := mustNew(t, cfg)
			for i := 0; i < int(r.Version); i++ {
				fresh.Apply(uint64(i+1), evs[i])
			}
			found := false
			for _, f := range fresh.Drain().ReviewStats {
				if f.Region == r.Region && f.Period == r.Period && f.PeriodStart.Equal(r.PeriodStart) {
					found = true
					if !reflect.DeepEqual(f, r) {
						t.Fatalf("round %d: review_stats row at version %d differs from a fresh computation:\n%+v\n%+v", round, r.Version, r, f)
					}
				}
			}
			if !found {
				t.Fatalf("round %d: fresh engine has no review_stats row %s/%s/%v", round, r.Region, r.Period, r.PeriodStart)
			}
		}

		// A row with version v is what events 1..v give.
		for k := 0; k < 3; k++ {
			o := drained[rng.IntN(len(drained))]
			if len(o.Scores) == 0 {
				continue
			}
			s := o.Scores[rng.IntN(len(o.Scores))]
			fresh := mustNew(t, cfg)
			for i := 0; i < int(s.Version); i++ {
				fresh.Apply(uint64(i+1), evs[i])
			}
			found := false
			for _, f := range fresh.Scores() {
				if f.Region == s.Region && f.Method == s.Method {
					found = true
					if !reflect.DeepEqual(f, s) {
						t.Fatalf("round %d: score of %s at version %d differs from a fresh computation:\n%+v\n%+v", round, s.Region, s.Version, s, f)
					}
				}
			}
			if !found {
				t.Fatalf("round %d: fresh engine has no score of %s", round, s.Region)
			}
		}
	}
}

// TestIncrementalRankingMatchesSort compares the engine's ranking with a
// full sort of its scores after every event.
func TestIncrementalRankingMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	regions := []string{zj, bj, "320000", "520000", "440000", "310000"}
	e := mustNew(t, Config{Regions: regions})
	var prev *scoring.Ranking
	for i, x := range randomStream(rng, regions, 600) {
		e.Apply(uint64(i+1), x)
		out := e.Drain()
		if out.RankingOf(scoring.Method) == nil {
			continue
		}
		want := scoring.Rank(e.Scores(), prev, out.RankingOf(scoring.Method).Version, out.RankingOf(scoring.Method).AsOf)
		if !reflect.DeepEqual(want, out.RankingOf(scoring.Method)) {
			t.Fatalf("event %d: ranking\n got %+v\nwant %+v", i+1, out.RankingOf(scoring.Method), want)
		}
		prev = out.RankingOf(scoring.Method)
	}
}

// TestMethodsAreIndependent checks that methods computed side by side do not
// change one another: on random streams drained at the same random points,
// an engine of methods 2017 and 2022 gives, method by method, exactly the
// scores, rankings, score changes and rank changes of an engine of that
// method alone, also across snapshots (so re-scoring the stream under one
// method stores what a run of both stored for it).
func TestMethodsAreIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	both := []string{scoring.Method, scoring.Method2022}
	for round := 0; round < 20; round++ {
		regions := []string{zj, bj, "320000", "520000"}
		cfg := Config{Regions: regions, Explain: true}
		if round%4 == 0 {
			cfg = Config{Explain: true}
		}
		evs := randomStream(rng, append(regions, "440000"), 50+rng.IntN(250))
		engines := map[string]*Engine{}
		for _, m := range both {
			c := cfg
			c.Methods = []string{m}
			engines[m] = mustNew(t, c)
		}
		c := cfg
		c.Methods = both
		e := mustNew(t, c)
		check := func(at int) {
			out := e.Drain()
			for _, m := range both {
				single := engines[m].Drain()
				var mine []scoring.Score
				for _, s := range out.Scores {
					if s.Method == m {
						mine = append(mine, s)
					}
				}
				if !reflect.DeepEqual(mine, single.Scores) {
					t.Fatalf("round %d, event %d, method %s: scores\n%+v\nalone\n%+v", round, at, m, mine, single.Scores)
				}
				if !reflect.DeepEqual(out.RankingOf(m), single.RankingOf(m)) {
					t.Fatalf("round %d, event %d, method %s: ranking\n%+v\nalone\n%+v", round, at, m, out.RankingOf(m), single.RankingOf(m))
				}
				var changes []ScoreChange
				for _, ch := range out.Changes {
					if ch.Method == m {
						changes = append(changes, ch)
					}
				}
				if !reflect.DeepEqual(changes, single.Changes) {
					t.Fatalf("round %d, event %d, method %s: score changes differ from the method's alone", round, at, m)
				}
				var ranks []RankChange
				for _, rc := range out.RankChanges {
					if rc.Method == m {
						ranks = append(ranks, rc)
					}
				}
				if !reflect.DeepEqual(ranks, single.RankChanges) {
					t.Fatalf("round %d, event %d, method %s: rank changes\n%+v\nalone\n%+v", round, at, m, ranks, single.RankChanges)
				}
				if !reflect.DeepEqual(out.Windows, single.Windows) {
					t.Fatalf("round %d, event %d: windows differ", round, at)
				}
			}
		}
		for i, x := range evs {
			seq := uint64(i + 1)
			want := e.Apply(seq, x)
			for _, m := range both {
				if got := engines[m].Apply(seq, x); got != want {
					t.Fatalf("round %d, event %d: outcome %v under %s alone, %v with both", round, i, got, m, want)
				}
			}
			if rng.IntN(8) == 0 {
				check(i)
			}
			if rng.IntN(40) == 0 { // the explanations' state of every method survives a snapshot
				snap := e.AppendSnapshot(nil)
				restored, err := Restore(c, snap)
				if err != nil {
					t.Fatalf("round %d: Restore: %v", round, err)
				}
				if !bytes.Equal(restored.AppendSnapshot(nil), snap) {
					t.Fatalf("round %d: snapshot of the restored engine differs", round)
				}
				e = restored
			}
		}
		check(len(evs))
		for _, m := range both {
			if !reflect.DeepEqual(e.RankingOf(m), engines[m].RankingOf(m)) {
				t.Fatalf("round %d: final ranking of %s differs", round, m)
			}
		}
	}
}
