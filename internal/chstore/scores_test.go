package chstore_test

import (
	"slices"
	"testing"

	"github.com/govpulse/govpulse/internal/chstore"
)

// TestScoreColumnsMatchSchema checks the migrations against the one definition of a score's
// fields (scoring.Score, through chstore.ScoreColumns): after every migration the scores table has
// exactly those columns with those types, and the views latest_scores and score_history have the
// same ones besides the unit's names. A new count or term that lacks its migration fails here.
func TestScoreColumnsMatchSchema(t *testing.T) {
	_, conn, db := newStore(t)
	ctx := t.Context()
	want := map[string]string{}
	for _, c := range chstore.ScoreColumns() {
		if _, dup := want[c.Name]; dup {
			t.Errorf("column %s described twice", c.Name)
		}
		want[c.Name] = c.Type
	}
	for _, table := range []string{"scores", "latest_scores", "score_history"} {
		rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", db, table)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			got[name] = typ
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if table != "scores" {
			for _, name := range []string{"name_zh", "name_en"} {
				if got[name] != "String" {
					t.Errorf("%s: column %s has type %q, want String", table, name, got[name])
				}
				delete(got, name)
			}
		}
		for name, typ := range want {
			if got[name] != typ {
				t.Errorf("%s: column %s has type %q, want %s (add it in a new migration)", table, name, got[name], typ)
			}
		}
		var extra []string
		for name := range got {
			if _, ok := want[name]; !ok {
				extra = append(extra, name)
			}
		}
		slices.Sort(extra)
		if len(extra) > 0 {
			t.Errorf("%s: columns %v are not fields of scoring.Score", table, extra)
		}
	}
}

// TestScoreColumns pins the derived column list: the order of the fields of scoring.Score, the
// nanoseconds beside as_of.
func TestScoreColumns(t *testing.T) {
	var names []string
	for _, c := range chstore.ScoreColumns() {
		names = append(names, c.Name)
	}
	want := []string{"region", "as_of", "as_of_ns", "method", "version", "service_modes", "item_coverage",
		"guide_accuracy", "online_maturity", "composite", "grade", "satisfaction", "platform_levels", "integrated",
		"portals", "published_items", "modes_total", "maturity_total", "required_province", "covered_province",
		"required_city", "covered_city", "required_county", "covered_county", "required_township", "covered_township",
		"audited_items", "audit_correct_consistent", "audit_correct_inconsistent", "applications",
		"applications_online_completed", "ratings", "rating_sum", "window_start", "window_end"}
	if !slices.Equal(names, want) {
		t.Errorf("score columns:\n got %v\nwant %v", names, want)
	}
}
