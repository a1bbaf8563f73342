package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// hierarchyUnits are units of every level for the tests: provincial units, key cities, other cities,
// and county-level units under a city and directly under a provincial unit.
var hierarchyUnits = []string{"330000", "110000", "440000", "330100", "330200", "330106", "330782",
	"110105", "440300", "440100", "441900", "419001", "650100", "659001"}

// TestUnitsOnDemand checks that units below the provincial level get a state with their first
// event, are scored on their own, and change neither the scores nor the ranking of the provincial
// units: an engine fed the whole stream and one fed only the provincial units' events (observing
// the times of the others) agree on every provincial result.
func TestUnitsOnDemand(t *testing.T) {
	for _, cfg := range []Config{{}, {Methods: scoring.Methods(), Explain: true}} {
		t.Run(fmt.Sprint(cfg.Methods), func(t *testing.T) { testUnitsOnDemand(t, cfg) })
	}
}

func testUnitsOnDemand(t *testing.T, cfg Config) {
	rng := rand.New(rand.NewPCG(7, 8))
	evs := randomStream(rng, hierarchyUnits, 3000)
	all, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prov, _ := New(cfg)
	allOut, provOut := Output{}, Output{}
	var allRk, provRk *scoring.Ranking
	for i, ev := range evs {
		seq := uint64(i + 1)
		if r := all.Apply(seq, ev); r.Outcome == NotInPartition {
			t.Fatalf("event %d of %s: %v", i, ev.Region, r)
		}
		if u, _ := events.LookupUnit(ev.Region); u.Level == events.Provincial {
			prov.Apply(seq, ev)
		} else {
			prov.Observe(seq, ev.Time)
		}
		if i%97 == 0 || i == len(evs)-1 {
			a, p := all.Drain(), prov.Drain()
			allOut.Rankings, provOut.Rankings = append(allOut.Rankings, a.Rankings...), append(provOut.Rankings, p.Rankings...)
			allOut.RankChanges, provOut.RankChanges = append(allOut.RankChanges, a.RankChanges...), append(provOut.RankChanges, p.RankChanges...)
			if r := a.RankingOf(scoring.DefaultMethod); r != nil {
				allRk = r
			}
			if r := p.RankingOf(scoring.DefaultMethod); r != nil {
				provRk = r
			}
			if !slices.IsSortedFunc(a.Scores, func(x, y scoring.Score) int { return compareCodes(x.Region, y.Region) }) {
				t.Fatalf("scores not in code order")
			}
		}
	}
	if !reflect.DeepEqual(allRk, provRk) || len(allRk.Entries) != 32 {
		t.Fatalf("the ranking of the provincial units differs")
	}
	if !reflect.DeepEqual(allOut, provOut) || len(allOut.Rankings) == 0 {
		t.Fatalf("the rankings and rank changes of the provincial units differ under some method")
	}
	var provScores, lower []scoring.Score
	for _, s := range all.Scores() {
		if u, _ := events.LookupUnit(s.Region); u.Level == events.Provincial {
			provScores = append(provScores, s)
		} else {
			lower = append(lower, s)
		}
	}
	if !reflect.DeepEqual(provScores, prov.Scores()) {
		t.Errorf("the scores of the provincial units differ")
	}
	if len(lower) != (len(hierarchyUnits)-3)*len(all.specs) || len(all.regions) != 32+len(hierarchyUnits)-3 {
		t.Errorf("%d scores of lower units, %d states; want %d", len(lower), len(all.regions), len(hierarchyUnits)-3)
	}
	for _, s := range lower {
		u, _ := events.LookupUnit(s.Region)
		if s.NameZH != u.NameZH || s.NameEN != u.NameEN {
			t.Errorf("score of %s named %s %s", s.Region, s.NameZH, s.NameEN)
		}
	}
}

func compareCodes(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestGroupRankings checks the rankings of the groups against groups.Rank of the engine's scores:
// every member ranked, the members without events last; with one method and with several (the
// groups are ranked under the first).
func TestGroupRankings(t *testing.T) {
	for _, cfg := range []Config{{}, {Methods: scoring.Methods()}} {
		t.Run(fmt.Sprint(cfg.Methods), func(t *testing.T) { testGroupRankings(t, cfg) })
	}
}

func testGroupRankings(t *testing.T, cfg Config) {
	rng := rand.New(rand.NewPCG(9, 10))
	evs := randomStream(rng, hierarchyUnits, 2000)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	drained := map[string]*scoring.Ranking{}
	for i, ev := range evs {
		e.Apply(uint64(i+1), ev)
		if i%50 == 0 || i == len(evs)-1 {
			for _, g := range e.Drain().GroupRankings {
				drained[g.Group] = g.Ranking
			}
		}
	}
	cur := e.GroupRankings()
	var names []string
	for _, g := range cur {
		names = append(names, g.Group)
		if !reflect.DeepEqual(drained[g.Group], g.Ranking) {
			t.Errorf("group %s: the last drained ranking is not the current one", g.Group)
		}
	}
	want := []string{groups.CountiesOf("110000"), groups.CountiesOf("330100"), groups.CountiesOf("330700"),
		groups.CountiesOf("410000"), groups.CountiesOf("650000"), groups.CitiesOf("330000"), groups.CitiesOf("440000"),
		groups.CitiesOf("650000"), groups.KeyCities}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("groups %v, want %v", names, want)
	}
	scores := map[string]scoring.Score{}
	for _, s := range e.Scores() {
		if s.Method == scoring.DefaultMethod {
			scores[s.Region] = s
		}
	}
	for _, g := range cur {
		grp, _ := groups.Lookup(g.Group)
		got := g.Ranking
		want := groups.Rank(grp, scores, nil, got.Version, got.AsOf)
		for i := range want.Entries {
			w, h := want.Entries[i], got.Entries[i]
			if w.Region != h.Region || w.Rank != h.Rank || w.Composite != h.Composite || w.Grade != h.Grade {
				t.Errorf("group %s, rank %d: %+v, want %+v", g.Group, i+1, h, w)
			}
		}
	}
	// Zhejiang's cities: Hangzhou and Ningbo have events, the other nine rank after them by code.
	var zj *scoring.Ranking
	for _, g := range cur {
		if g.Group == groups.CitiesOf("330000") {
			zj = g.Ranking
		}
	}
	if len(zj.Entries) != 11 || zj.Entries[2].Region != "330300" || zj.Entries[10].Region != "331100" {
		t.Errorf("Zhejiang's cities: %s", regionsOf(zj))
	}
}

// TestUnitsOfOtherPartitions checks that a partition holds the units under its provincial units
// and no other, and ranks only the groups whose units it holds all.
func TestUnitsOfOtherPartitions(t *testing.T) {
	e, _ := New(Config{Regions: []string{"330000"}})
	for _, c := range []struct {
		region string
		want   Outcome
	}{{"330106", Applied}, {"330000", Applied}, {"330200", Applied}, {"110105", NotInPartition}, {"440300", NotInPartition}} {
		if !e.Owns(c.region) != (c.want == NotInPartition) {
			t.Errorf("Owns(%s) = %v", c.region, e.Owns(c.region))
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i, ev := range randomStream(rng, []string{"330106", "330200", "110105"}, 300) {
		r := e.Apply(uint64(i+1), ev)
		if (ev.Region == "110105") != (r.Outcome == NotInPartition) {
			t.Fatalf("event of %s: %v", ev.Region, r)
		}
	}
	var names []string
	for _, g := range e.GroupRankings() {
		names = append(names, g.Group)
	}
	if want := []string{groups.CitiesOf("330000"), groups.CountiesOf("330100")}; !slices.Equal(names, want) {
		t.Errorf("groups %v, want %v (not the key cities)", names, want)
	}
}

// TestSnapshotWithUnits checks that a snapshot keeps the units below the provincial level and the
// group rankings: restored half way, the engine ends as the uninterrupted one.
// testIDKey keys the remembered ids of engines whose snapshots are compared
// with each other's.
var testIDKey = [16]byte{'t', 'e', 's', 't'}

func TestSnapshotWithUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	evs := randomStream(rng, hierarchyUnits, 1500)
	for _, explain := range []bool{false, true} {
		cfg := Config{Explain: explain, IDKey: testIDKey}
		a, _ := New(cfg)
		b, _ := New(cfg)
		var outA, outB []Output
		for i, ev := range evs {
			a.Apply(uint64(i+1), ev)
			b.Apply(uint64(i+1), ev)
			if i == 700 {
				outB = append(outB, b.Drain())
				var err error
				if b, err = Restore(cfg, b.AppendSnapshot(nil)); err != nil {
					t.Fatal(err)
				}
				outA = append(outA, a.Drain())
			}
		}
		outA, outB = append(outA, a.Drain()), append(outB, b.Drain())
		if !reflect.DeepEqual(outA, outB) {
			t.Errorf("explain %v: outputs differ after a restore", explain)
		}
		if !reflect.DeepEqual(a.AppendSnapshot(nil), b.AppendSnapshot(nil)) {
			t.Errorf("explain %v: snapshots differ after a restore", explain)
		}
	}
}

// TestGroupRankingsAgainstEager checks the lazily kept group rankings against rankings computed
// eagerly after every event whose scores changed a member's composite (brute force): the same
// entries, previous ranks, version and as-of, whenever they are asked for.
func TestGroupRankingsAgainstEager(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	evs := randomStream(rng, hierarchyUnits, 2500)
	e, _ := New(Config{})
	eager := map[string]*scoring.Ranking{}
	last := map[string]float64{} // composite per unit after the previous event
	var all []groups.Group
	for _, g := range groups.All() {
		if g.Name != groups.Provinces && slices.ContainsFunc(g.Members, func(m string) bool { return slices.Contains(hierarchyUnits, m) }) {
			all = append(all, g)
		}
	}
	for i, ev := range evs {
		seq := uint64(i + 1)
		e.Apply(seq, ev)
		w, _ := e.Watermark()
		now := map[string]scoring.Score{}
		for _, s := range e.Scores() {
			now[s.Region] = s
		}
		for _, g := range all {
			changed, held := false, true
			for _, m := range g.Members {
				held = held && e.Owns(m)
				s, ok := now[m]
				if p, had := last[m]; ok && (!had || p != s.Composite) {
					changed = true
				}
			}
			if held && changed {
				eager[g.Name] = groups.Rank(g, now, eager[g.Name], seq, w)
			}
		}
		for code, s := range now {
			last[code] = s.Composite
		}
		if i%211 == 0 || i == len(evs)-1 {
			got := e.GroupRankings()
			if len(got) != len(eager) {
				t.Fatalf("event %d: %d group rankings, want %d", i, len(got), len(eager))
			}
			for _, g := range got {
				if !reflect.DeepEqual(g.Ranking, eager[g.Group]) {
					t.Fatalf("event %d, group %s:\n%+v\nwant\n%+v", i, g.Group, g.Ranking, eager[g.Group])
				}
			}
		}
	}
}

// TestGroupRankingsWithMethods checks that the groups below the provincial level rank under the
// first method whatever methods run beside it: an engine of 2022 then 2017 drains the same group
// rankings, at the same points, as an engine of 2022 alone.
func TestGroupRankingsWithMethods(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	evs := randomStream(rng, hierarchyUnits, 1500)
	both, _ := New(Config{Methods: []string{scoring.Method2022, scoring.Method}})
	alone, _ := New(Config{Methods: []string{scoring.Method2022}})
	drains := 0
	for i, ev := range evs {
		both.Apply(uint64(i+1), ev)
		alone.Apply(uint64(i+1), ev)
		if i%40 == 0 || i == len(evs)-1 {
			got, want := both.Drain().GroupRankings, alone.Drain().GroupRankings
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after event %d: group rankings %d with both methods, %d with 2022 alone", i+1, len(got), len(want))
			}
			drains += len(got)
		}
	}
	if drains == 0 {
		t.Fatal("no group ranking drained")
	}
	for _, g := range both.GroupRankings() {
		if g.Ranking.Method != scoring.Method2022 {
			t.Errorf("group %s ranked under %s", g.Group, g.Ranking.Method)
		}
	}
}

func TestHourAccCounts(t *testing.T) {
	full := hourAcc{count: math.MaxUint32 - 1, ratings: [5]uint32{math.MaxUint32, 0, 2}}
	tests := []struct {
		name string
		got  hourAcc
		want hourAcc
	}{
		{"add", hourly{}.Add(hourAcc{}, ux{metric: metricFeedback, rating: 3}), hourAcc{count: 1, ratings: [5]uint32{0, 0, 1}}},
		{"add saturates", hourly{}.Add(hourly{}.Add(full, ux{metric: metricFeedback, rating: 1}), ux{metric: metricFeedback, rating: 1}),
			hourAcc{count: math.MaxUint32, ratings: [5]uint32{math.MaxUint32, 0, 2}}},
		{"merge saturates", hourly{}.Merge(full, full), hourAcc{count: math.MaxUint32, ratings: [5]uint32{math.MaxUint32, 0, 4}}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
	a := hourAcc{count: 4, ratings: [5]uint32{1, 0, 2, 0, 1}, completed: 0}
	b, rest, err := hourCodec{}.Read(hourCodec{}.Append(nil, a))
	if err != nil || len(rest) != 0 || b != a || a.sum() != 12 {
		t.Fatalf("round trip: %+v %v, sum %d", b, err, a.sum())
	}
	bad := appendInt64s(nil, 4, 11, 1, 0, 2, 0, 1, 0, 0, 0, 0) // the sum disagrees
	if _, _, err := (hourCodec{}).Read(bad); !errors.Is(err, windows.ErrCorrupt) {
		t.Fatalf("wrong sum: %v", err)
	}
	big := appendInt64s(nil, 1<<32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	if _, _, err := (hourCodec{}).Read(big); !errors.Is(err, windows.ErrCorrupt) {
		t.Fatalf("count beyond 32 bits: %v", err)
	}
}
