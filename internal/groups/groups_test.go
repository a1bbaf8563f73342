package groups_test

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		first string
	}{
		{groups.Provinces, 32, "110000"},
		{groups.KeyCities, 32, "130100"},
		{groups.CitiesOf("330000"), 11, "330100"},
		{groups.CitiesOf("410000"), 17, "410100"}, // not 419001 济源市, a county-level unit
		{groups.CountiesOf("410000"), 1, "419001"},
		{groups.CountiesOf("330100"), 13, "330102"},
		{groups.CountiesOf("110000"), 16, "110101"}, // Beijing's districts
	} {
		g, ok := groups.Lookup(tc.name)
		if !ok || g.Name != tc.name || len(g.Members) != tc.n || g.Members[0] != tc.first {
			t.Errorf("Lookup(%s) = %v (%d members), %v", tc.name, g, len(g.Members), ok)
		}
		if natsjs.Token(tc.name) != tc.name {
			t.Errorf("group name %s is not a subject token", tc.name)
		}
	}
	for _, name := range []string{"", "cities", "cities-330100", "cities-110000", "counties-330106", "counties-999999", "cities-660000", "provinces2"} {
		if g, ok := groups.Lookup(name); ok {
			t.Errorf("Lookup(%q) = %v", name, g)
		}
	}
}

// TestAllAndOf checks that every unit is ranked in the groups Of names, that those groups hold it,
// and that every unit but the provincial ones and the key cities is in exactly one group.
func TestAllAndOf(t *testing.T) {
	in := map[string][]string{}
	for _, g := range groups.All() {
		if !slices.IsSorted(g.Members) || len(g.Members) == 0 {
			t.Errorf("group %s: members %v", g.Name, g.Members)
		}
		for _, m := range g.Members {
			in[m] = append(in[m], g.Name)
		}
	}
	keys := 0
	for _, u := range events.Units() {
		got := in[u.Code]
		slices.Sort(got)
		want := groups.Of(u.Code)
		slices.Sort(want)
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("unit %s is in %v, Of says %v", u.Code, got, want)
		}
		if len(want) == 2 {
			keys++
		}
	}
	if keys != 32 {
		t.Errorf("%d units in two groups, want the 32 key cities", keys)
	}
	if groups.Of("999999") != nil {
		t.Error("an unknown unit is in a group")
	}
}

// TestRank checks Rank against a brute-force ranking: members with scores by composite then code,
// then members without scores by code; units outside the group are ignored.
func TestRank(t *testing.T) {
	g, _ := groups.Lookup(groups.CitiesOf("330000"))
	at := time.Date(2019, 12, 31, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	var prev *scoring.Ranking
	for round := range 200 {
		scores := map[string]scoring.Score{"110000": {Region: "110000", Composite: 99}}
		for _, m := range g.Members {
			if r.IntN(3) > 0 {
				c := float64(r.IntN(5)) * 10.5 // ties, and zero composites
				scores[m] = scoring.Score{Region: m, Composite: c, Grade: scoring.GradeOf(scoring.Micro(c * 1e6))}
			}
		}
		rk := groups.Rank(g, scores, prev, uint64(round+1), at)
		var want []string
		want = append(want, g.Members...)
		comp := func(code string) float64 { return scores[code].Composite }
		sort.SliceStable(want, func(i, j int) bool {
			if comp(want[i]) != comp(want[j]) {
				return comp(want[i]) > comp(want[j])
			}
			return want[i] < want[j]
		})
		if len(rk.Entries) != len(want) {
			t.Fatalf("round %d: %d entries, want %d", round, len(rk.Entries), len(want))
		}
		for i, e := range rk.Entries {
			if e.Region != want[i] || e.Rank != i+1 || e.Composite != comp(want[i]) {
				t.Fatalf("round %d: entry %d = %+v, want %s", round, i, e, want[i])
			}
			if prev != nil {
				pi := slices.IndexFunc(prev.Entries, func(p scoring.RankEntry) bool { return p.Region == e.Region })
				if e.PrevRank != pi+1 || e.Change != pi+1-e.Rank {
					t.Fatalf("round %d: entry %+v, previous rank %d", round, e, pi+1)
				}
			}
		}
		prev = rk
	}
}

// TestRankWithoutEvents checks that a member without a score ranks as a unit whose state has seen
// no event: the same composite and grade as the engine's score of a fresh unit.
func TestRankWithoutEvents(t *testing.T) {
	g, _ := groups.Lookup(groups.KeyCities)
	rk := groups.Rank(g, nil, nil, 1, time.Time{})
	fresh := scoring.NewRegion("130100", "石家庄市", "Shijiazhuang").Score(scoring.Window{}, time.Time{}, 1)
	if e := rk.Entries[0]; e.Region != "130100" || e.Composite != fresh.Composite || e.Grade != fresh.Grade {
		t.Errorf("first entry %+v, a fresh unit scores %v %v", e, fresh.Composite, fresh.Grade)
	}
}
