package scenario

import (
	"slices"
	"testing"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestReport2019 checks the published lists: every province but the XPCC and every key city once,
// in the order a ranking of these composites gives (ties by code).
func TestReport2019(t *testing.T) {
	for _, tc := range []struct {
		name  string
		list  []Published
		group string
		skip  string
	}{
		{"provinces", Report2019Provinces(), groups.Provinces, "660000"},
		{"key cities", Report2019KeyCities(), groups.KeyCities, ""},
	} {
		g, _ := groups.Lookup(tc.group)
		want := slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == tc.skip })
		var codes []string
		scores := map[string]scoring.Score{}
		for _, p := range tc.list {
			codes = append(codes, p.Region)
			scores[p.Region] = scoring.Score{Region: p.Region, Composite: p.Composite}
			if _, ok := events.LookupUnit(p.Region); !ok {
				t.Errorf("%s: unknown unit %s", tc.name, p.Region)
			}
		}
		slices.Sort(codes)
		if !slices.Equal(codes, want) {
			t.Errorf("%s: units %v, want %v", tc.name, codes, want)
		}
		rk := groups.Rank(g, scores, nil, 1, End())
		for i, p := range tc.list {
			if rk.Entries[i].Region != p.Region {
				t.Errorf("%s: rank %d is %s, the list has %s", tc.name, i+1, rk.Entries[i].Region, p.Region)
			}
		}
	}
}
