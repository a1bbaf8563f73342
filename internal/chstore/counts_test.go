package chstore_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
)

// TestMethodScoreCountsMatchSchema checks that every count of method_scores is computed from its
// element of the column counts, in the order chstore writes them (the fields of scoring.Counts).
func TestMethodScoreCountsMatchSchema(t *testing.T) {
	_, conn, db := newStore(t)
	rows, err := conn.Query(t.Context(), "SELECT name, default_kind, default_expression FROM system.columns WHERE database = ? AND table = 'method_scores'", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, kind, expr string
		if err := rows.Scan(&name, &kind, &expr); err != nil {
			t.Fatal(err)
		}
		got[name] = kind + " " + expr
	}
	counts := chstore.MethodScoreCounts()
	if len(counts) < 24 {
		t.Fatalf("%d counts: %v", len(counts), counts)
	}
	for i, name := range counts {
		if want := "ALIAS counts[" + strconv.Itoa(i+1) + "]"; got[name] != want {
			t.Errorf("method_scores.%s is %q, want %q", name, got[name], want)
		}
	}
}

// TestMethodCountsKeepStoredRows stores scores in method_scores as the aggregator did before
// migration 0012 (a count per column; one row twice, not merged yet), applies 0012 and checks
// that every reader gives the same answers and that each row is stored once; also when the
// migration was interrupted after its copy or after its ALTER and is applied again, and when it
// is applied a second time.
func TestMethodCountsKeepStoredRows(t *testing.T) {
	before, counts := migrationsAround(t, 12)
	stmts, err := chstore.SplitStatements(counts.SQL)
	if err != nil {
		t.Fatal(err)
	}
	// Every count a value of its own: count i of a row is 100 * version + i.
	names := chstore.MethodScoreCounts()
	values := func(version int) string {
		var b strings.Builder
		for i := range names {
			b.WriteString(", " + strconv.Itoa(100*version+i+1))
		}
		return b.String()
	}
	at := time.Date(2016, 12, 1, 3, 0, 0, 123, time.UTC)
	ns := strconv.FormatInt(at.UnixNano(), 10)
	// Interrupted after that many statements of 0012 (0: not at all).
	for _, stop := range []int{0, 2, 3} {
		t.Run("interrupted after "+strconv.Itoa(stop), func(t *testing.T) {
			conn, db := chtest.Open(t)
			ctx := t.Context()
			s := chstore.New(conn, db, nil)
			if err := s.MigrateWith(ctx, before); err != nil {
				t.Fatal(err)
			}
			cols := "region, version, as_of_ns, method, composite, grade, platform_levels, integrated, portals, " +
				strings.Join(names, ", ") + ", term_names, term_values, window_start, window_end"
			row := func(region, method string, version int, terms string) string {
				return "INSERT INTO `" + db + "`.method_scores (" + cols + ") SELECT '" + region + "', " + strconv.Itoa(version) + ", " + ns +
					", '" + method + "', 35, 'low', 2, 1, 3" + values(version) + ", " + terms +
					", toDateTime(1475683200, 'UTC'), toDateTime(1478188800, 'UTC')"
			}
			terms2017 := "['service_modes', 'item_coverage', 'guide_accuracy', 'online_maturity', 'satisfaction'], [50, 40, 30, 20, NULL]"
			terms2022 := "['online_effectiveness'], [12.5]"
			for _, q := range []string{
				row("330000", "2017", 5, terms2017),
				row("330000", "2017", 5, terms2017), // twice, not merged yet
				row("330000", "2017", 7, terms2017),
				row("110000", "2017", 6, terms2017),
				row("110000", "2022", 6, terms2022),
			} {
				if err := conn.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			type answers struct {
				history, latest, range330000, methods2017, latest2022 []chstore.ScoreRow
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
				if a.range330000, err = s.ScoreHistoryRange(ctx, "330000", time.Time{}, time.Time{}, 10); err != nil {
					t.Fatal(err)
				}
				if a.methods2017, err = s.MethodScoreHistory(ctx, "2017"); err != nil {
					t.Fatal(err)
				}
				if a.latest2022, err = s.LatestMethodScores(ctx, "2022"); err != nil {
					t.Fatal(err)
				}
				return a
			}
			want := read()
			if len(want.history) != 3 || len(want.latest) != 2 || len(want.range330000) != 2 || len(want.latest2022) != 1 ||
				want.history[2].PublishedItems != 701 || want.latest2022[0].RectificationsOnTime != 624 {
				t.Fatalf("before 0012: %+v", want)
			}
			if stop > 0 {
				part := counts
				part.Version, part.Name = 98, "0098_part.sql"
				part.SQL = strings.Join(stmts[:stop], ";\n") + ";\n"
				if err := s.MigrateWith(ctx, []chstore.Migration{part}); err != nil {
					t.Fatal(err)
				}
			}
			check := func(when string) {
				t.Helper()
				got := read()
				checkEqual(t, when+": score_history", got.history, want.history)
				checkEqual(t, when+": latest_scores", got.latest, want.latest)
				checkEqual(t, when+": ScoreHistoryRange", got.range330000, want.range330000)
				checkEqual(t, when+": MethodScoreHistory", got.methods2017, want.methods2017)
				checkEqual(t, when+": LatestMethodScores", got.latest2022, want.latest2022)
				// Every row once, each with its counts stored in counts.
				var n, stored uint64
				if err := conn.QueryRow(ctx, "SELECT count(), countIf(length(counts) = "+strconv.Itoa(len(names))+") FROM `"+db+"`.method_scores FINAL").Scan(&n, &stored); err != nil {
					t.Fatal(err)
				}
				if n != 4 || stored != 4 {
					t.Errorf("%s: method_scores has %d rows, %d with their counts stored; want 4, 4", when, n, stored)
				}
				// Without FINAL, the rows stored before 0012 (4, one of them twice) and their copies
				// until the parts merge.
				if err := conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.method_scores").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n < 4 || n > 9 {
					t.Errorf("%s: method_scores has %d rows without FINAL, want 4 to 9", when, n)
				}
			}
			if err := s.MigrateWith(ctx, append(before, counts)); err != nil {
				t.Fatal(err)
			}
			check("after 0012")
			again := counts
			again.Version, again.Name = 99, "0099_again.sql"
			if err := s.MigrateWith(ctx, []chstore.Migration{again}); err != nil {
				t.Fatal(err)
			}
			check("after 0012 again")
		})
	}
}
