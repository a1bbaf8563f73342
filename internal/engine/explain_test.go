package engine

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestTypeIndexFollowsTypes(t *testing.T) {
	if typeCount != len(events.Types()) {
		t.Fatalf("typeCount %d, %d types", typeCount, len(events.Types()))
	}
	for i, ty := range events.Types() {
		if typeIndex(ty) != i {
			t.Errorf("typeIndex(%s) = %d, want %d", ty, typeIndex(ty), i)
		}
	}
	if typeIndex("x.y") != -1 {
		t.Error("typeIndex of an unknown type")
	}
}

// explainChecker checks every drained output of an engine with Explain
// against brute force: the stored scores, the events it applied, and the
// rankings.
type explainChecker struct {
	t      *testing.T
	spec   *scoring.Spec
	stored map[string]map[uint64]scoring.Score // region -> version -> score
	last   map[string]uint64                   // region -> last drained version
	// applied counts, per region, the events applied since the last Drain
	// that returned the region, by type; first and last their sequences.
	applied     map[string]map[string]int64
	first, lseq map[string]uint64
	rankings    []*scoring.Ranking
	current     map[string]scoring.Score   // region -> latest drained score
	ranked      []map[string]scoring.Score // per ranking, the scores in force
}

func newExplainChecker(t *testing.T) *explainChecker {
	spec, _ := scoring.Lookup(scoring.Method)
	return &explainChecker{t: t, spec: spec, stored: map[string]map[uint64]scoring.Score{}, last: map[string]uint64{},
		applied: map[string]map[string]int64{}, first: map[string]uint64{}, lseq: map[string]uint64{},
		current: map[string]scoring.Score{}}
}

func (c *explainChecker) apply(seq uint64, ev *events.Event, r Result) {
	if r.Outcome != Applied {
		return
	}
	if c.applied[ev.Region] == nil {
		c.applied[ev.Region] = map[string]int64{}
	}
	c.applied[ev.Region][string(ev.Type)]++
	if c.first[ev.Region] == 0 {
		c.first[ev.Region] = seq
	}
	c.lseq[ev.Region] = seq
}

func (c *explainChecker) drained(out Output) {
	t := c.t
	t.Helper()
	if len(out.Changes) != len(out.Scores) {
		t.Fatalf("%d changes for %d scores", len(out.Changes), len(out.Scores))
	}
	for i, s := range out.Scores {
		if c.stored[s.Region] == nil {
			c.stored[s.Region] = map[uint64]scoring.Score{}
		}
		c.stored[s.Region][s.Version] = s
		c.current[s.Region] = s
		ch := out.Changes[i]
		if ch.Region != s.Region || ch.Version != s.Version || ch.FromVersion != c.last[s.Region] || !ch.AsOf.Equal(s.AsOf) {
			t.Fatalf("change %s %d<-%d, want %s %d<-%d", ch.Region, ch.Version, ch.FromVersion, s.Region, s.Version, c.last[s.Region])
		}
		var from *scoring.Score
		if ch.FromVersion != 0 {
			f := c.stored[s.Region][ch.FromVersion]
			from = &f
		}
		c.checkTerms(ch, from, &s)
		c.checkCauses(ch)
		c.last[s.Region] = s.Version
	}
	if out.RankingOf(scoring.Method) != nil {
		c.checkRanks(out)
		c.rankings = append(c.rankings, out.RankingOf(scoring.Method))
		m := map[string]scoring.Score{}
		for k, v := range c.current {
			m[k] = v
		}
		c.ranked = append(c.ranked, m)
	} else if len(out.RankChanges) != 0 {
		t.Fatal("rank changes without a ranking")
	}
}

// checkTerms checks every term against the scores at the two versions and
// the composite's delta against the weighted deltas of the scored terms.
func (c *explainChecker) checkTerms(ch ScoreChange, from, to *scoring.Score) {
	t := c.t
	t.Helper()
	want := len(c.spec.Terms) + 1 + len(scoring.CountNames())
	if len(ch.Terms) != want {
		t.Fatalf("%d terms, want %d", len(ch.Terms), want)
	}
	byName := map[string]TermChange{}
	for _, tc := range ch.Terms {
		byName[tc.Term] = tc
	}
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for _, term := range c.spec.Terms {
		tc := byName[term.Name]
		if !eq(tc.To, term.Value(to)) || from != nil && !eq(tc.From, term.Value(from)) || from == nil && tc.From != nil {
			t.Fatalf("%s %d: term %s does not match the stored scores", ch.Region, ch.Version, term.Name)
		}
	}
	for _, name := range scoring.CountNames() {
		tc := byName[name]
		v, _ := to.Counts.Count(name)
		if *tc.To != float64(v) {
			t.Fatalf("%s: count %s to %v, stored %d", ch.Region, name, *tc.To, v)
		}
		if from != nil {
			w, _ := from.Counts.Count(name)
			if *tc.Delta() != float64(v-w) {
				t.Fatalf("%s: count %s delta %v, stored %d - %d", ch.Region, name, *tc.Delta(), v, w)
			}
		}
	}
	comp := byName[CompositeTerm]
	if *comp.To != to.Composite {
		t.Fatalf("composite to %v, stored %v", *comp.To, to.Composite)
	}
	if from == nil {
		return
	}
	sum := 0.0
	for _, term := range c.spec.Terms {
		if term.Scored() {
			if d := byName[term.Name].Delta(); d != nil {
				sum += term.Weight * *d
			}
		}
	}
	// The composite is the weighted sum of the rounded terms, rounded to 6
	// decimals: its delta differs from the weighted deltas by at most two
	// half units of the sixth decimal.
	if d := *comp.Delta(); math.Abs(d-sum) > 1e-6+1e-9 {
		t.Fatalf("%s %d: composite delta %v, weighted term deltas %v", ch.Region, ch.Version, d, sum)
	}
}

func (c *explainChecker) checkCauses(ch ScoreChange) {
	t := c.t
	t.Helper()
	cs := ch.Causes
	var sum int64
	got := map[string]int64{}
	for _, tc := range cs.Events {
		sum += tc.Count
		got[tc.Type] = tc.Count
	}
	if sum != cs.Applied {
		t.Fatalf("%s: applied %d, per type %d", ch.Region, cs.Applied, sum)
	}
	want := c.applied[ch.Region]
	if len(want) != len(got) {
		t.Fatalf("%s %d: applied by type %v, want %v", ch.Region, ch.Version, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s %d: applied by type %v, want %v", ch.Region, ch.Version, got, want)
		}
	}
	if cs.FirstSeq != c.first[ch.Region] || cs.LastSeq != c.lseq[ch.Region] {
		t.Fatalf("%s: sequences %d..%d, want %d..%d", ch.Region, cs.FirstSeq, cs.LastSeq, c.first[ch.Region], c.lseq[ch.Region])
	}
	if int64(len(cs.Items)) > cs.ItemsTotal || len(cs.Items) > MaxCauseItems {
		t.Fatalf("%s: %d items of %d", ch.Region, len(cs.Items), cs.ItemsTotal)
	}
	delete(c.applied, ch.Region)
	delete(c.first, ch.Region)
	delete(c.lseq, ch.Region)
}

// checkRanks checks the rank changes against the previous ranking, by brute
// force over all pairs.
func (c *explainChecker) checkRanks(out Output) {
	t := c.t
	t.Helper()
	if len(c.rankings) == 0 {
		if len(out.RankChanges) != 0 {
			t.Fatal("rank changes for the first ranking")
		}
		return
	}
	prev := c.rankings[len(c.rankings)-1]
	old := map[string]int{}
	for _, e := range prev.Entries {
		old[e.Region] = e.Rank
	}
	scoreAt := func(region string, rk *scoring.Ranking) *scoring.Score {
		m := c.current
		if rk == prev {
			m = c.ranked[len(c.ranked)-1]
		}
		s, ok := m[region]
		if !ok {
			t.Fatalf("no score of %s", region)
		}
		return &s
	}
	var want []RankChange
	for _, e := range out.RankingOf(scoring.Method).Entries {
		if old[e.Region] == e.Rank {
			continue
		}
		rc := RankChange{Region: e.Region, OldRank: old[e.Region], NewRank: e.Rank}
		for _, f := range out.RankingOf(scoring.Method).Entries {
			if old[f.Region] < old[e.Region] && f.Rank > e.Rank {
				rc.Passed = append(rc.Passed, Pass{Region: f.Region})
			}
			if old[f.Region] > old[e.Region] && f.Rank < e.Rank {
				rc.PassedBy = append(rc.PassedBy, Pass{Region: f.Region})
			}
		}
		want = append(want, rc)
	}
	if len(want) != len(out.RankChanges) {
		t.Fatalf("%d rank changes, want %d", len(out.RankChanges), len(want))
	}
	for i, rc := range out.RankChanges {
		w := want[i]
		if rc.Region != w.Region || rc.OldRank != w.OldRank || rc.NewRank != w.NewRank || rc.FromVersion != prev.Version ||
			rc.Version != out.RankingOf(scoring.Method).Version || len(rc.Passed) != len(w.Passed) || len(rc.PassedBy) != len(w.PassedBy) {
			t.Fatalf("rank change %+v, want %+v", rc, w)
		}
		check := func(up, down string, term string) {
			ub, ua, db, da := scoreAt(up, prev), scoreAt(up, out.RankingOf(scoring.Method)), scoreAt(down, prev), scoreAt(down, out.RankingOf(scoring.Method))
			best := 0.0
			for _, tm := range c.spec.Terms {
				if !tm.Scored() {
					continue
				}
				v := tm.Weight * (value(tm, ua) - value(tm, ub) - value(tm, da) + value(tm, db))
				best = max(best, v)
				if tm.Name == term && v <= 0 {
					t.Fatalf("%s passing %s: term %s moved the pair by %v", up, down, term, v)
				}
			}
			if term == "" && best > 0 {
				t.Fatalf("%s passing %s: no term, but one moved the pair by %v", up, down, best)
			}
			for _, tm := range c.spec.Terms {
				if tm.Name == term {
					v := tm.Weight * (value(tm, ua) - value(tm, ub) - value(tm, da) + value(tm, db))
					if v != best {
						t.Fatalf("%s passing %s: term %s moved the pair by %v, another by %v", up, down, term, v, best)
					}
				}
			}
		}
		for j, p := range rc.Passed {
			if p.Region != w.Passed[j].Region {
				t.Fatalf("%s passed %v, want %v", rc.Region, rc.Passed, w.Passed)
			}
			check(rc.Region, p.Region, p.Term)
		}
		for j, p := range rc.PassedBy {
			if p.Region != w.PassedBy[j].Region {
				t.Fatalf("%s passed by %v, want %v", rc.Region, rc.PassedBy, w.PassedBy)
			}
			check(p.Region, rc.Region, p.Term)
		}
	}
}

// TestExplainExact checks, on random streams drained at random points and
// restored from snapshots, that every change matches the stored scores at
// its two versions, the composite's delta is the weighted sum of the terms'
// up to rounding, counts and causes add up, and the rank changes follow
// the rankings.
func TestExplainExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	rounds := 30
	if testing.Short() {
		rounds = 6
	}
	for round := 0; round < rounds; round++ {
		cfg := Config{Explain: true}
		regions := []string{zj, bj, "320000", "520000", "440000"}
		evs := randomStream(rng, regions, 100+rng.IntN(400))
		c := newExplainChecker(t)
		e := mustNew(t, cfg)
		for i, x := range evs {
			seq := uint64(i + 1)
			c.apply(seq, x, e.Apply(seq, x))
			if rng.IntN(8) == 0 {
				c.drained(e.Drain())
			}
			if rng.IntN(25) == 0 {
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
		}
		c.drained(e.Drain())
	}
}

// TestExplainDoesNotChangeResults: the same stream gives the same scores,
// ranking and windows with and without Explain.
func TestExplainDoesNotChangeResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	evs := randomStream(rng, []string{zj, bj, "320000"}, 400)
	var outs [2]Output
	for k, explain := range []bool{false, true} {
		e := mustNew(t, Config{Explain: explain})
		for i, x := range evs {
			e.Apply(uint64(i+1), x)
		}
		outs[k] = e.Drain()
	}
	if len(outs[0].Changes) != 0 || len(outs[1].Changes) != len(outs[1].Scores) {
		t.Fatalf("changes: %d without, %d with Explain", len(outs[0].Changes), len(outs[1].Changes))
	}
	outs[1].Changes, outs[1].RankChanges = nil, nil
	if !slices.EqualFunc(outs[0].Scores, outs[1].Scores, func(a, b scoring.Score) bool { return a.Version == b.Version && a.Composite == b.Composite }) ||
		outs[0].RankingOf(scoring.Method).Version != outs[1].RankingOf(scoring.Method).Version || len(outs[0].Windows) != len(outs[1].Windows) {
		t.Fatal("Explain changed the results")
	}
}

// TestExplainCauses: the causes of one unit's changes, in words.
func TestExplainCauses(t *testing.T) {
	e := mustNew(t, Config{Explain: true})
	feed(t, e, 1,
		published("p1", zj, atMin(0), "A07", 3, events.Modes()[:5]...),
		ev("g1", zj, atMin(1), &events.GuideAuditedData{ItemCode: "A07", Level: events.LevelProvince, Consistent: true,
			Elements: verdicts(6)}),
		rated("r1", zj, atMin(2), 5),
		rated("r2", zj, atMin(3), 4),
	)
	first := changeOf(t, e.Drain(), zj)
	if first.FromVersion != 0 || first.Causes.Applied != 4 || first.Causes.ItemsTotal != 2 {
		t.Fatalf("first change %+v", first)
	}
	wantItems := []string{"province/A07 published, 5 of 8 modes, maturity 3", "guide of province/A07 audited: 6 correct elements"}
	if !slices.Equal(first.Causes.Items, wantItems) {
		t.Fatalf("items %q, want %q", first.Causes.Items, wantItems)
	}
	feed(t, e, 5, ev("g2", zj, atMin(10), &events.GuideAuditedData{ItemCode: "A07", Level: events.LevelProvince,
		Consistent: true, Elements: verdicts(8)}))
	second := changeOf(t, e.Drain(), zj)
	if second.FromVersion != 4 || second.Causes.FirstSeq != 5 || second.Causes.LastSeq != 5 ||
		!slices.Equal(second.Causes.Items, []string{"guide of province/A07 re-audited: 6 → 8 correct elements"}) {
		t.Fatalf("second change %+v", second)
	}
	// 31 days later the two ratings have left the 30-day window.
	feed(t, e, 6, app("a1", bj, atMin(31*24*60), events.Completed, true))
	third := changeOf(t, e.Drain(), zj)
	if third.Causes.Applied != 0 || !slices.Equal(third.Causes.WindowLeft, []TypeCount{{Type: "feedback.rated", Count: 2}}) {
		t.Fatalf("third change %+v", third)
	}
	for _, tc := range third.Terms {
		if tc.Term == "ratings" && (*tc.From != 2 || *tc.To != 0) {
			t.Fatalf("ratings %v -> %v", *tc.From, *tc.To)
		}
	}
	if ch := changeOf(t, e.Drain(), bj); ch.Region != "" {
		t.Fatalf("a second Drain returned %+v", ch)
	}
}

// verdicts returns the verdicts of an audit with n correct elements.
func verdicts(n int) (v [8]events.Verdict) {
	for i := range v {
		v[i] = events.Missing
		if i < n {
			v[i] = events.Correct
		}
	}
	return v
}

func changeOf(t *testing.T, out Output, region string) ScoreChange {
	t.Helper()
	for _, c := range out.Changes {
		if c.Region == region {
			return c
		}
	}
	return ScoreChange{}
}
