package chstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/scoring"
)

// TestMethodScoreColumnsMatchSchema checks the method_scores table against scoring.Score (through
// chstore.MethodScoreColumns): exactly those columns with those types.
func TestMethodScoreColumnsMatchSchema(t *testing.T) {
	_, conn, db := newStore(t)
	ctx := t.Context()
	want := map[string]string{}
	for _, c := range chstore.MethodScoreColumns() {
		if _, dup := want[c.Name]; dup {
			t.Errorf("column %s described twice", c.Name)
		}
		want[c.Name] = c.Type
	}
	rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = 'method_scores'", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		got[name] = typ
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("method_scores: column %s has type %q, want %s", name, got[name], typ)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("method_scores: column %s is not a field of scoring.Score", name)
		}
	}
}

// methodBatch returns scores and rankings of methods 2017 and 2022 computed by the methods
// themselves, as the aggregator writes them: 2017 in both kinds of table, 2022 in the method
// tables only.
func methodBatch(t *testing.T) chstore.Batch {
	var b chstore.Batch
	win := scoring.Window{Start: t0.Add(-29 * 24 * time.Hour), End: t0.Add(24 * time.Hour).Truncate(time.Second),
		Applications: 10, OnlineCompleted: 4, Ratings: 4, RatingSum: 15, RatingsBad: 1, NoVisit: 3, Timed: 5, OnTime: 4}
	win.Start = win.Start.Truncate(time.Second)
	for _, id := range []string{scoring.Method, scoring.Method2022} {
		spec, _ := scoring.Lookup(id)
		var scs []scoring.Score
		for i, code := range []string{"110000", "330000"} {
			r := scoring.NewRegion(code, "", "")
			w := win
			if i == 0 {
				w.Ratings, w.RatingSum, w.RatingsBad = 0, 0, 0 // no satisfaction
			}
			scs = append(scs, spec.Score(r, w, t0, uint64(7+i)))
		}
		rk := scoring.RankMethod(id, scs, nil, 8, t0)
		var rows []chstore.RankingRow
		for _, e := range rk.Entries {
			rows = append(rows, chstore.RankingRow{Version: rk.Version, AsOf: rk.AsOf, Method: rk.Method, Rank: uint8(e.Rank),
				Region: e.Region, Composite: e.Composite, Grade: string(e.Grade)})
		}
		b.MethodScores = append(b.MethodScores, scs...)
		b.MethodRankings = append(b.MethodRankings, rows...)
	}
	return b
}

// TestMethodRoundTrip writes the scores and rankings of two methods of the same events (the same
// versions) and reads each method back whole: neither replaces the other, and a score's terms
// come back as its method's Term.Value gives them.
func TestMethodRoundTrip(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	b := methodBatch(t)
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "OPTIMIZE TABLE "+db+".method_scores FINAL"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{scoring.Method, scoring.Method2022} {
		spec, _ := scoring.Lookup(id)
		got, err := s.LatestMethodScores(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var want []scoring.Score
		for _, sc := range b.MethodScores {
			if sc.Method == id {
				want = append(want, sc)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("method %s: %d scores, want %d", id, len(got), len(want))
		}
		for i := range want {
			for _, term := range spec.Terms {
				g, w := term.Value(&got[i]), term.Value(&want[i])
				if (g == nil) != (w == nil) || g != nil && *g != *w {
					t.Errorf("method %s, %s: term %s read back as %v, want %v", id, want[i].Region, term.Name, g, w)
				}
			}
			if got[i].Composite != want[i].Composite || got[i].Grade != want[i].Grade || got[i].Counts != want[i].Counts ||
				got[i].Version != want[i].Version || !got[i].AsOf.Equal(want[i].AsOf) {
				t.Errorf("method %s: score read back\n%+v\nwant\n%+v", id, got[i], want[i])
			}
		}
		rk, err := s.LatestMethodRanking(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var wantRk []chstore.RankingRow
		for _, r := range b.MethodRankings {
			if r.Method == id {
				wantRk = append(wantRk, r)
			}
		}
		checkEqual(t, "ranking of "+id, rk, wantRk)
	}
	// The view scores shows method 2017 in its named columns, as the table did before.
	latest, err := s.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want2017 []scoring.Score
	for _, sc := range b.MethodScores {
		if sc.Method == scoring.Method {
			want2017 = append(want2017, sc)
		}
	}
	checkEqual(t, "latest_scores", latest, want2017)
}

// TestMethodViews reads the per-method views and method_comparison.
func TestMethodViews(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	b := methodBatch(t)
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := conn.Query(ctx, "SELECT region, name_en, toString(online_effectiveness), toString(online_handling), "+
		"toString(service_modes), ifNull(toString(satisfaction), 'NULL'), toString(composite), grade FROM "+db+".latest_scores_2022")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var region, name, eff, hand, modes, sat, comp, grade string
		if err := rows.Scan(&region, &name, &eff, &hand, &modes, &sat, &comp, &grade); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s %s %s", region, name, eff, hand, modes, sat, comp, grade))
	}
	rows.Close()
	var want []string
	for _, sc := range b.MethodScores {
		if sc.Method != scoring.Method2022 {
			continue
		}
		v := map[string]string{}
		for _, tv := range sc.Terms {
			v[tv.Name] = "NULL"
			if tv.Value != nil {
				v[tv.Name] = fmt.Sprint(*tv.Value)
			}
		}
		name := map[string]string{"110000": "Beijing", "330000": "Zhejiang"}[sc.Region]
		want = append(want, fmt.Sprintf("%s %s %s %s %s %s %s %s", sc.Region, name, v["online_effectiveness"],
			v["online_handling"], v["service_modes"], v["satisfaction"], fmt.Sprint(sc.Composite), sc.Grade))
	}
	slices.Sort(got)
	slices.Sort(want)
	checkEqual(t, "latest_scores_2022", got, want)

	got = nil
	rows, err = conn.Query(ctx, "SELECT region, method, rank, default_rank, rank_difference FROM "+db+".method_comparison")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var region, method string
		var rank, defRank uint8
		var diff int16
		if err := rows.Scan(&region, &method, &rank, &defRank, &diff); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d %d %d", region, method, rank, defRank, diff))
	}
	rows.Close()
	want = nil
	ranks := map[string]map[string]uint8{}
	for _, r := range b.MethodRankings {
		if ranks[r.Method] == nil {
			ranks[r.Method] = map[string]uint8{}
		}
		ranks[r.Method][r.Region] = r.Rank
	}
	for _, region := range []string{"110000", "330000"} {
		for _, m := range []string{scoring.Method, scoring.Method2022} {
			r, d := ranks[m][region], ranks[scoring.Method][region]
			want = append(want, fmt.Sprintf("%s %s %d %d %d", region, m, r, d, int(d)-int(r)))
		}
	}
	checkEqual(t, "method_comparison", got, want)
	for view, rows := range map[string]uint64{"latest_scores_2017": 2, "latest_ranking_2017": 2, "latest_ranking_2022": 2,
		"latest_method_scores": 4, "latest_method_ranking": 4} {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+view).Scan(&n); err != nil || n != rows {
			t.Errorf("%s: %d rows, %v; want %d", view, n, err, rows)
		}
	}
}
