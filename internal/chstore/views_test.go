package chstore_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
)

// storedRankings reads every row of rankings, a table before migration 0011 and a view after it,
// once per (version, rank).
func storedRankings(t *testing.T, conn driver.Conn, db string) []chstore.RankingRow {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT version, as_of_ns, method, rank, region, composite, grade, prev_rank, change FROM `"+
		db+"`.rankings ORDER BY version, rank LIMIT 1 BY version, rank")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []chstore.RankingRow
	for rows.Next() {
		var (
			r  chstore.RankingRow
			ns int64
		)
		if err := rows.Scan(&r.Version, &ns, &r.Method, &r.Rank, &r.Region, &r.Composite, &r.Grade, &r.PrevRank, &r.Change); err != nil {
			t.Fatal(err)
		}
		r.AsOf = time.Unix(0, ns).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestScoresViewsKeepStoredRows stores scores and rankings in the tables scores and rankings as
// the aggregator did before migration 0011 (some in method_scores and method_rankings too, as
// since 0005, some in the old tables alone, some twice), applies 0011 and checks that every
// reader gives the same answers from the views; then that the migration applied again, after an
// interruption between its DROP and its CREATE VIEW, neither loses nor duplicates a row.
func TestScoresViewsKeepStoredRows(t *testing.T) {
	conn, db := chtest.Open(t)
	ctx := t.Context()
	s := chstore.New(conn, db, nil)
	before, views := migrationsAround(t, 11)
	if err := s.MigrateWith(ctx, before); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2016, 12, 1, 3, 0, 0, 123, time.UTC)
	sec, ns := strconv.FormatInt(at.Unix(), 10), strconv.FormatInt(at.UnixNano(), 10)
	const scoreCols = "region, version, as_of, as_of_ns, method, service_modes, item_coverage, guide_accuracy, online_maturity, " +
		"composite, grade, satisfaction, platform_levels, integrated, portals, published_items, ratings, rating_sum, window_start, window_end"
	const rankingCols = "version, as_of, as_of_ns, method, rank, region, composite, grade, prev_rank, change"
	for _, q := range []string{
		// 330000 at 5: in scores only (before 0005), and twice (not merged yet); no satisfaction.
		"INSERT INTO `" + db + "`.scores (" + scoreCols + ") SELECT '330000', 5, toDateTime(" + sec + ", 'UTC'), " + ns +
			", '2017', 87.5, 66.666667, 91.25, 70.123456, 78.884906, 'medium', NULL, 4, 1, 12, 10, 0, 0, toDateTime(1475683200, 'UTC'), toDateTime(1478188800, 'UTC')",
		"INSERT INTO `" + db + "`.scores (" + scoreCols + ") SELECT '330000', 5, toDateTime(" + sec + ", 'UTC'), " + ns +
			", '2017', 87.5, 66.666667, 91.25, 70.123456, 78.884906, 'medium', NULL, 4, 1, 12, 10, 0, 0, toDateTime(1475683200, 'UTC'), toDateTime(1478188800, 'UTC')",
		// 110000 at 6: in both, with a count that only method_scores holds.
		"INSERT INTO `" + db + "`.scores (" + scoreCols + ") SELECT '110000', 6, toDateTime(" + sec + ", 'UTC'), " + ns +
			", '2017', 50, 40, 30, 20, 35, 'low', 80, 2, 0, 3, 7, 4, 17, toDateTime(1475683200, 'UTC'), toDateTime(1478188800, 'UTC')",
		"INSERT INTO `" + db + "`.method_scores (region, version, as_of, as_of_ns, method, composite, grade, platform_levels, integrated, portals, " +
			"published_items, ratings, rating_sum, ratings_bad, term_names, term_values, window_start, window_end) SELECT '110000', 6, toDateTime(" + sec + ", 'UTC'), " + ns +
			", '2017', 35, 'low', 2, 0, 3, 7, 4, 17, 1, ['service_modes', 'item_coverage', 'guide_accuracy', 'online_maturity', 'satisfaction'], " +
			"[50, 40, 30, 20, 80], toDateTime(1475683200, 'UTC'), toDateTime(1478188800, 'UTC')",
		// The ranking at 6 in rankings only (twice), the one at 7 in both.
		"INSERT INTO `" + db + "`.rankings (" + rankingCols + ") SELECT 6, toDateTime(" + sec + ", 'UTC'), " + ns + ", '2017', 1, '330000', 78.884906, 'medium', 2, 1",
		"INSERT INTO `" + db + "`.rankings (" + rankingCols + ") SELECT 6, toDateTime(" + sec + ", 'UTC'), " + ns + ", '2017', 1, '330000', 78.884906, 'medium', 2, 1",
		"INSERT INTO `" + db + "`.rankings (" + rankingCols + ") SELECT 6, toDateTime(" + sec + ", 'UTC'), " + ns + ", '2017', 2, '110000', 35, 'low', 1, -1",
		"INSERT INTO `" + db + "`.rankings (" + rankingCols + ") SELECT 7, toDateTime(" + sec + ", 'UTC'), " + ns + ", '2017', 1, '110000', 35, 'low', 2, 1",
		"INSERT INTO `" + db + "`.method_rankings (" + rankingCols + ") SELECT 7, toDateTime(" + sec + ", 'UTC'), " + ns + ", '2017', 1, '110000', 35, 'low', 2, 1",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	type answers struct {
		history, latest []chstore.ScoreRow
		rankings        []chstore.RankingRow
		latestRanking   int
	}
	read := func() answers {
		t.Helper()
		var a answers
		var err error
		if a.history, err = s.ScoreHistory(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if a.latest, err = s.LatestScores(ctx); err != nil {
			t.Fatal(err)
		}
		a.rankings = storedRankings(t, conn, db)
		if err := conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.latest_ranking").Scan(new(uint64)); err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.latest_ranking WHERE version = 7").Scan(&n); err != nil {
			t.Fatal(err)
		}
		a.latestRanking = int(n)
		return a
	}
	want := read()
	if len(want.history) != 2 || len(want.latest) != 2 || len(want.rankings) != 3 || want.latestRanking != 1 ||
		want.history[1].Satisfaction != nil || *want.history[0].Satisfaction != 80 {
		t.Fatalf("before 0011: %+v", want)
	}
	// Up to 0011: the statements of 0011 name the columns method_scores had then.
	if err := s.MigrateWith(ctx, append(before, views)); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		got := read()
		checkEqual(t, when+": score_history", got.history, want.history)
		checkEqual(t, when+": latest_scores", got.latest, want.latest)
		checkEqual(t, when+": rankings", got.rankings, want.rankings)
		if got.latestRanking != want.latestRanking {
			t.Errorf("%s: latest_ranking has %d rows of version 7, want %d", when, got.latestRanking, want.latestRanking)
		}
		ranking, err := s.LatestRanking(ctx)
		if err != nil || len(ranking) != 1 || ranking[0].Version != 7 {
			t.Errorf("%s: LatestRanking = %+v, %v", when, ranking, err)
		}
		var scores, rankings, bad uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.method_scores WHERE method = '2017'").Scan(&scores); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.method_rankings WHERE method = '2017'").Scan(&rankings); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT ratings_bad FROM `"+db+"`.method_scores FINAL WHERE region = '110000'").Scan(&bad); err != nil {
			t.Fatal(err)
		}
		// Every row once, without FINAL: nothing copied twice, nor over a row method_scores had.
		if scores != 2 || rankings != 3 || bad != 1 {
			t.Errorf("%s: method_scores has %d rows of method 2017, method_rankings %d, ratings_bad of 110000 %d; want 2, 3, 1",
				when, scores, rankings, bad)
		}
	}
	check("after 0011")
	// An interruption after the DROP of the old tables, before their views: 0011 again.
	for _, q := range []string{"DROP TABLE `" + db + "`.scores", "DROP TABLE `" + db + "`.rankings"} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	again := views
	again.Version, again.Name = 99, "0099_again.sql"
	if err := s.MigrateWith(ctx, []chstore.Migration{again}); err != nil {
		t.Fatal(err)
	}
	check("after 0011 again")
	// And once more with the views in place.
	again.Version, again.Name = 100, "0100_again.sql"
	if err := s.MigrateWith(ctx, []chstore.Migration{again}); err != nil {
		t.Fatal(err)
	}
	check("after 0011 a third time")
}
