package chstore_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestHierarchy checks that the migrated units table holds every unit of package events with its
// level and parent, and that the subtree query of schema/README.md finds a unit's subtree.
func TestHierarchy(t *testing.T) {
	_, conn, db := newStore(t)
	ctx := t.Context()
	rows, err := conn.Query(ctx, "SELECT region, name_zh, name_en, level, parent, province, prefecture FROM "+db+".units FINAL ORDER BY region")
	if err != nil {
		t.Fatal(err)
	}
	var got []events.Unit
	for rows.Next() {
		var u events.Unit
		var level uint8
		var province, prefecture string
		if err := rows.Scan(&u.Code, &u.NameZH, &u.NameEN, &level, &u.Parent, &province, &prefecture); err != nil {
			t.Fatal(err)
		}
		u.Level = events.UnitLevel(level)
		if province != u.Code[:2]+"0000" {
			t.Errorf("unit %s: province %s", u.Code, province)
		}
		wantPref := ""
		switch {
		case u.Level == events.Prefecture:
			wantPref = u.Code
		case u.Level == events.County && u.Parent != province:
			wantPref = u.Parent
		}
		if prefecture != wantPref {
			t.Errorf("unit %s: prefecture %q, want %q", u.Code, prefecture, wantPref)
		}
		got = append(got, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := events.Units(); !slices.Equal(got, want) {
		t.Errorf("units: %d rows, want the %d units of package events", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("first difference: %+v, want %+v", got[i], want[i])
			}
		}
	}
	for _, root := range []string{"330000", "330100", "110000", "410000", "660000", "330106"} {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".units FINAL WHERE region = ? OR province = ? OR prefecture = ?", root, root, root).Scan(&n); err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, u := range events.Units() {
			if events.InSubtree(u.Code, root) {
				want++
			}
		}
		if n != uint64(want) {
			t.Errorf("subtree of %s: %d units, want %d", root, n, want)
		}
	}
}

// TestGroupRankings stores two rankings of the key cities, the first twice, and reads the latest.
func TestGroupRankings(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	g, _ := groups.Lookup(groups.KeyCities)
	at := time.Date(2019, 12, 31, 13, 0, 0, 123456789, time.UTC)
	first := groups.Rank(g, map[string]scoring.Score{"440300": {Region: "440300", Composite: 97.34, Grade: "A"}}, nil, 10, at)
	second := groups.Rank(g, map[string]scoring.Score{
		"440300": {Region: "440300", Composite: 97.34, Grade: "A"},
		"320100": {Region: "320100", Composite: 98.5, Grade: "A"},
	}, first, 11, at.Add(time.Hour))
	for _, rows := range [][]chstore.GroupRankingRow{
		chstore.GroupRankingRows(g.Name, first), chstore.GroupRankingRows(g.Name, first), chstore.GroupRankingRows(g.Name, second),
		chstore.GroupRankingRows(groups.CitiesOf("440000"), second), // another group's rows at the same version
	} {
		if err := s.WriteGroupRankings(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LatestGroupRanking(ctx, g.Name, scoring.Method)
	if err != nil {
		t.Fatal(err)
	}
	if want := chstore.GroupRankingRows(g.Name, second); !reflect.DeepEqual(got, want) {
		t.Errorf("latest ranking of the key cities:\n%+v\nwant\n%+v", got[:3], want[:3])
	}
	if got[0].Region != "320100" || got[1].Region != "440300" || got[1].PrevRank != 1 || got[1].Change != -1 || len(got) != 32 {
		t.Errorf("first places %+v", got[:2])
	}
	if none, err := s.LatestGroupRanking(ctx, groups.CountiesOf("330100"), scoring.Method); err != nil || len(none) != 0 {
		t.Errorf("a group without rankings: %v, %v", none, err)
	}
}
