package chstore_test

import (
	"slices"
	"testing"

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
