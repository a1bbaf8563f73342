package chstore_test

import (
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
)

// TestExplainRoundTrip writes the three tables that explain changes twice, the second time with a
// finer step for one version (as after a crash), and reads back the finest rows.
func TestExplainRoundTrip(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	at := func(h int) time.Time { return time.Date(2016, 12, 1, h, 0, 0, 123, time.UTC) }
	f := func(v float64) *float64 { return &v }
	coarse := chstore.Batch{
		ScoreChanges: []chstore.ScoreChangeRow{
			{Method: "2017", Region: "330000", Version: 5, Term: "composite", To: f(40), AsOf: at(1)},
			{Method: "2017", Region: "330000", Version: 9, Term: "composite", FromVersion: 5, From: f(40), To: f(42), Delta: f(2), AsOf: at(3)},
		},
		ScoreCauses: []chstore.ScoreCauseRow{
			{Method: "2017", Region: "330000", Version: 5, AsOf: at(1), FirstSeq: 1, LastSeq: 5, Applied: 2,
				EventTypes: []string{"feedback.rated"}, EventCounts: []uint64{2}},
			{Method: "2017", Region: "330000", Version: 9, FromVersion: 5, AsOf: at(3), FirstSeq: 6, LastSeq: 9, Applied: 2,
				EventTypes: []string{"service.published"}, EventCounts: []uint64{2}, Items: []string{"province/A published"}, ItemsTotal: 2,
				WindowTypes: []string{"feedback.rated"}, WindowLeft: []int64{-1}},
		},
		RankChanges: []chstore.RankChangeRow{
			{Method: "2017", Version: 9, FromVersion: 5, AsOf: at(3), Region: "330000", OldRank: 3, NewRank: 2,
				Passed: []string{"110000"}, PassedTerms: []string{"service_modes"}},
			{Method: "2017", Version: 9, FromVersion: 5, AsOf: at(3), Region: "110000", OldRank: 2, NewRank: 3,
				PassedBy: []string{"330000"}, PassedByTerms: []string{"service_modes"}},
		},
	}
	fine := chstore.Batch{
		ScoreChanges: []chstore.ScoreChangeRow{
			{Method: "2017", Region: "330000", Version: 9, Term: "composite", FromVersion: 7, From: f(41), To: f(42), Delta: f(1), AsOf: at(3)},
		},
		ScoreCauses: []chstore.ScoreCauseRow{
			{Method: "2017", Region: "330000", Version: 9, FromVersion: 7, AsOf: at(3), FirstSeq: 8, LastSeq: 9, Applied: 1,
				EventTypes: []string{"service.published"}, EventCounts: []uint64{1}, ItemsTotal: 1},
		},
		RankChanges: []chstore.RankChangeRow{
			{Method: "2017", Version: 9, FromVersion: 7, AsOf: at(3), Region: "330000", OldRank: 3, NewRank: 2,
				Passed: []string{"110000"}, PassedTerms: []string{"service_modes"}},
		},
	}
	for _, b := range []chstore.Batch{coarse, coarse, fine} {
		if err := s.Write(ctx, b); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	changes, err := s.ScoreChanges(ctx, "330000", 5, 9)
	if err != nil {
		t.Fatal(err)
	}
	want := []chstore.ScoreChangeRow{coarse.ScoreChanges[0], fine.ScoreChanges[0]}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("score changes\n got %+v\nwant %+v", changes, want)
	}
	causes, err := s.ScoreCauses(ctx, "330000", at(1), at(3))
	if err != nil {
		t.Fatal(err)
	}
	wantCause := fine.ScoreCauses[0]
	wantCause.Items, wantCause.WindowTypes, wantCause.WindowLeft = []string{}, []string{}, []int64{}
	if len(causes) != 1 || !reflect.DeepEqual(causes[0], wantCause) {
		t.Fatalf("causes\n got %+v\nwant %+v", causes, wantCause)
	}
	v, ok, err := s.VersionAt(ctx, "330000", at(2))
	if err != nil || !ok || v != 5 {
		t.Fatalf("VersionAt = %d, %v, %v; want 5", v, ok, err)
	}
	if _, ok, err := s.VersionAt(ctx, "330000", at(0)); err != nil || ok {
		t.Fatalf("VersionAt before the first = %v, %v", ok, err)
	}
	ranks, err := s.RankChanges(ctx, time.Time{}, at(4))
	if err != nil {
		t.Fatal(err)
	}
	wantRank := fine.RankChanges[0]
	wantRank.PassedBy, wantRank.PassedByTerms = []string{}, []string{}
	if len(ranks) != 1 || !reflect.DeepEqual(ranks[0], wantRank) {
		t.Fatalf("rank changes\n got %+v\nwant %+v", ranks, wantRank)
	}
}

// TestExplainAliasesKeepStoredRows stores explanation rows with the columns of migration 0004
// (delta, as_of and applied stored), applies migration 0010, which computes those columns when
// read, and checks that the rows read back unchanged; then that the computed columns are no longer
// stored.
func TestExplainAliasesKeepStoredRows(t *testing.T) {
	conn, db := chtest.Open(t)
	ctx := t.Context()
	s := chstore.New(conn, db, nil)
	before, _ := migrationsAround(t, 10)
	if err := s.MigrateWith(ctx, before); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2016, 12, 1, 3, 0, 0, 123, time.UTC)
	for _, q := range []string{
		"INSERT INTO `" + db + "`.score_changes (method, region, version, term, from_version, from_value, to_value, delta, as_of, as_of_ns) " +
			"SELECT '2017', '330000', 9, 'composite', 5, 40.25, 42.5, 42.5 - 40.25, toDateTime(" + strconv.FormatInt(at.Unix(), 10) + ", 'UTC'), " + strconv.FormatInt(at.UnixNano(), 10),
		"INSERT INTO `" + db + "`.score_changes (method, region, version, term, from_version, from_value, to_value, delta, as_of, as_of_ns) " +
			"SELECT '2017', '330000', 9, 'satisfaction', 5, NULL, 80, NULL, toDateTime(" + strconv.FormatInt(at.Unix(), 10) + ", 'UTC'), " + strconv.FormatInt(at.UnixNano(), 10),
		"INSERT INTO `" + db + "`.score_causes (method, region, version, from_version, as_of, as_of_ns, first_seq, last_seq, applied, event_types, event_counts, items, items_total, window_types, window_left) " +
			"SELECT '2017', '330000', 9, 5, toDateTime(" + strconv.FormatInt(at.Unix(), 10) + ", 'UTC'), " + strconv.FormatInt(at.UnixNano(), 10) + ", 6, 9, 3, ['feedback.rated', 'service.published'], [1, 2], [], 2, [], []",
		"INSERT INTO `" + db + "`.rank_changes (method, version, from_version, as_of, as_of_ns, region, old_rank, new_rank, passed, passed_terms, passed_by, passed_by_terms) " +
			"SELECT '2017', 9, 5, toDateTime(" + strconv.FormatInt(at.Unix(), 10) + ", 'UTC'), " + strconv.FormatInt(at.UnixNano(), 10) + ", '330000', 3, 2, ['110000'], ['service_modes'], [], []",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	read := func() ([]chstore.ScoreChangeRow, []chstore.ScoreCauseRow, []chstore.RankChangeRow) {
		t.Helper()
		changes, err := s.ScoreChanges(ctx, "330000")
		if err != nil {
			t.Fatal(err)
		}
		causes, err := s.ScoreCauses(ctx, "330000", time.Time{}, at)
		if err != nil {
			t.Fatal(err)
		}
		ranks, err := s.RankChanges(ctx, time.Time{}, at)
		if err != nil {
			t.Fatal(err)
		}
		return changes, causes, ranks
	}
	c1, k1, r1 := read()
	if len(c1) != 2 || len(k1) != 1 || len(r1) != 1 || k1[0].Applied != 3 || *c1[0].Delta != 2.25 || c1[1].Delta != nil {
		t.Fatalf("before 0010: %+v %+v %+v", c1, k1, r1)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c2, k2, r2 := read()
	if !reflect.DeepEqual(c1, c2) || !reflect.DeepEqual(k1, k2) || !reflect.DeepEqual(r1, r2) {
		t.Fatalf("after 0010:\n%+v\n%+v\n%+v\nbefore:\n%+v\n%+v\n%+v", c2, k2, r2, c1, k1, r1)
	}
	rows, err := conn.Query(ctx, "SELECT table, name FROM system.columns WHERE database = ? AND default_kind = 'ALIAS' ORDER BY table, name", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var computed []string
	for rows.Next() {
		var table, name string
		if err := rows.Scan(&table, &name); err != nil {
			t.Fatal(err)
		}
		computed = append(computed, table+"."+name)
	}
	want := []string{"method_rankings.as_of", "method_scores.as_of", "rank_changes.as_of", "score_causes.applied", "score_causes.as_of", "score_changes.as_of", "score_changes.delta"}
	for _, name := range chstore.MethodScoreCounts() { // migration 0012
		want = append(want, "method_scores."+name)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(computed, want) {
		t.Fatalf("computed columns %v, want %v", computed, want)
	}
}

// TestScoreChangesChunked writes more score_changes rows than one chunk of an INSERT holds and
// reads them back: every row as written, stored in one part (the server squashes the blocks of an
// INSERT), as a single block would be.
func TestScoreChangesChunked(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	n := 2*chstore.InsertChunkRows + 7
	rows := make([]chstore.ScoreChangeRow, n)
	at := time.Date(2016, 12, 1, 0, 0, 0, 456, time.UTC)
	for i := range rows {
		v := float64(i) / 8
		rows[i] = chstore.ScoreChangeRow{Method: "2017", Region: strconv.Itoa(110000 + i/40), Version: uint64(i/40 + 2),
			Term: "term_" + strconv.Itoa(i%40), FromVersion: uint64(i/40 + 1), To: &v, AsOf: at.Add(time.Duration(i) * time.Second)}
		if i%3 != 0 {
			from := v - 1
			rows[i].From, rows[i].Delta = &from, new(float64)
			*rows[i].Delta = v - from
		}
	}
	if err := s.Write(ctx, chstore.Batch{ScoreChanges: rows}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var parts, level uint64
	if err := conn.QueryRow(ctx, "SELECT count(), toUInt64(max(level)) FROM system.parts WHERE database = ? AND table = 'score_changes' AND active",
		db).Scan(&parts, &level); err != nil {
		t.Fatal(err)
	}
	if parts != 1 || level != 0 {
		t.Errorf("score_changes: %d active parts, level %d; want one part of the insert (level 0)", parts, level)
	}
	got, err := s.ScoreChanges(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	byKey := make(map[string]chstore.ScoreChangeRow, len(got))
	for _, r := range got {
		byKey[r.Region+"/"+strconv.FormatUint(r.Version, 10)+"/"+r.Term] = r
	}
	if len(byKey) != n {
		t.Fatalf("read %d rows (%d distinct), want %d", len(got), len(byKey), n)
	}
	for _, want := range rows {
		if r := byKey[want.Region+"/"+strconv.FormatUint(want.Version, 10)+"/"+want.Term]; !reflect.DeepEqual(r, want) {
			t.Fatalf("row\n got %+v\nwant %+v", r, want)
		}
	}
}
