package chstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/scoring"
)

// newStore returns a migrated Store on a fresh database of the test server, its connection and
// the database name.
func newStore(tb testing.TB) (*chstore.Store, driver.Conn, string) {
	tb.Helper()
	conn, db := chtest.Open(tb)
	s := chstore.New(conn, db, nil)
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s, conn, db
}

func TestMigrateTwice(t *testing.T) {
	conn, db := chtest.Open(t)
	ctx := t.Context()
	s := chstore.New(conn, db, nil)
	for i := range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	want, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+chstore.MigrationsTable).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(want)) {
		t.Errorf("%s has %d rows, want %d (one per migration)", chstore.MigrationsTable, n, len(want))
	}
	applied, err := s.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(want) {
		t.Fatalf("applied %d migrations, want %d", len(applied), len(want))
	}
	for i, a := range applied {
		if a.Version != want[i].Version || a.Name != want[i].Name || a.Checksum != want[i].Checksum {
			t.Errorf("applied[%d] = %+v, want %s", i, a, want[i].Name)
		}
	}

	rows, err := conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", db)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			t.Fatal(err)
		}
		got[name] = engine
	}
	rows.Close()
	for name, engine := range map[string]string{
		"events": "ReplacingMergeTree", "scores": "View", "rankings": "View",
		"windows": "ReplacingMergeTree", "late_events": "ReplacingMergeTree", "dlq": "ReplacingMergeTree",
		"regions": "ReplacingMergeTree", chstore.MigrationsTable: "ReplacingMergeTree",
		"latest_scores": "View", "latest_ranking": "View", "score_history": "View",
		"method_scores": "ReplacingMergeTree", "method_rankings": "ReplacingMergeTree",
		"latest_method_scores": "View", "latest_method_ranking": "View", "method_comparison": "View",
		"latest_scores_2017": "View", "latest_ranking_2017": "View", "latest_scores_2022": "View", "latest_ranking_2022": "View",
	} {
		if got[name] != engine {
			t.Errorf("table %s: engine %q, want %q", name, got[name], engine)
		}
	}

	var regions, distinct uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(region) FROM "+db+".regions").Scan(&regions, &distinct); err != nil {
		t.Fatal(err)
	}
	if regions != 32 || distinct != 32 {
		t.Errorf("regions: %d rows, %d distinct, want 32", regions, distinct)
	}
	var zh, en, iso string
	if err := conn.QueryRow(ctx, "SELECT name_zh, name_en, iso_3166_2 FROM "+db+".regions FINAL WHERE region = '330000'").Scan(&zh, &en, &iso); err != nil {
		t.Fatal(err)
	}
	if zh != "浙江省" || en != "Zhejiang" || iso != "CN-ZJ" {
		t.Errorf("region 330000 = %q %q %q", zh, en, iso)
	}
}

func TestMigrateRejectsChangedMigration(t *testing.T) {
	conn, db := chtest.Open(t)
	ctx := t.Context()
	s := chstore.New(conn, db, nil)
	ms := []chstore.Migration{{Version: 1, Name: "0001_t.sql", Checksum: "a",
		SQL: "CREATE TABLE IF NOT EXISTS ${DATABASE}.t (a UInt8) ENGINE = Memory;"}}
	if err := s.MigrateWith(ctx, ms); err != nil {
		t.Fatal(err)
	}
	ms[0].Checksum = "b"
	if err := s.MigrateWith(ctx, ms); !errors.Is(err, chstore.ErrMigrationChanged) {
		t.Fatalf("MigrateWith changed migration: %v, want ErrMigrationChanged", err)
	}
}

func TestMigrateInvalidDatabase(t *testing.T) {
	conn, _ := chtest.Open(t)
	s := chstore.New(conn, "no-such`db", nil)
	if err := s.Migrate(t.Context()); !errors.Is(err, chstore.ErrInvalidDatabase) {
		t.Fatalf("Migrate: %v, want ErrInvalidDatabase", err)
	}
}

func TestDialAndServerVersion(t *testing.T) {
	addr := chtest.Addr(t)
	_, db := chtest.Open(t) // a database that the test cleans up
	ctx := t.Context()
	conn, gotDB, err := chstore.Dial(ctx, "clickhouse://"+addr+"/"+db+"?max_execution_time=60")
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	if gotDB != db {
		t.Errorf("Dial database = %q, want %q", gotDB, db)
	}
	s := chstore.New(conn, gotDB, nil)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	v, err := s.ServerVersion(ctx)
	if err != nil || v == "" {
		t.Fatalf("ServerVersion = %q, %v", v, err)
	}
	t.Logf("server version %s", v)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate over Dial: %v", err)
	}
}

func TestDialUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback is closed.
	if _, _, err := chstore.Dial(ctx, "clickhouse://127.0.0.1:1/govpulse?dial_timeout=1s"); err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
}

var (
	t0 = time.Date(2016, 11, 3, 1, 30, 0, 123456789, time.UTC)
	t1 = time.Date(2016, 11, 3, 2, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func sampleBatch() chstore.Batch {
	return chstore.Batch{
		Events: []chstore.EventRow{
			{Region: "330000", ID: "zj-1", Type: "feedback.rated", Time: t0, IngestTime: t1, StreamSeq: 7,
				Source: "probe/zj", ItemCode: "A.1", Level: "province", Rating: 5, Channel: "web",
				Payload: `{"id":"zj-1","note":"引号 ' and \\ and ;"}`},
			{Region: "330000", ID: "zj-2", Type: "application.completed", Time: t0.Add(time.Nanosecond), IngestTime: t1,
				StreamSeq: 8, Source: "probe/zj", ItemCode: "A.2", Level: "city", Outcome: "completed", Payload: `{}`},
			{Region: "110000", ID: "bj-1", Type: "platform.updated", Time: t1, StreamSeq: 9, Source: "probe/bj", Payload: `{}`},
		},
		MethodScores: []chstore.ScoreRow{
			{Region: "330000", Version: 8, AsOf: t0, Method: "2017", ServiceModes: 87.5, ItemCoverage: 66.666667,
				GuideAccuracy: 91.25, OnlineMaturity: 70.123456, Composite: 78.884906, Grade: "medium",
				Satisfaction: ptr(100.0), PlatformLevels: 4, Integrated: true, Portals: 12, Counts: scoring.Counts{PublishedItems: 10,
					ModesTotal: 70, MaturityTotal: 30, RequiredProvince: 5, CoveredProvince: 4, RequiredCity: 3,
					CoveredCity: 2, RequiredCounty: 2, CoveredCounty: 1, RequiredTownship: 1, CoveredTownship: 1,
					AuditedItems: 8, AuditCorrectConsistent: 50, AuditCorrectInconsistent: 6, Applications: 3,
					ApplicationsOnlineCompleted: 2, Ratings: 1, RatingSum: 5},
				WindowStart: time.Date(2016, 10, 5, 16, 0, 0, 0, time.UTC), WindowEnd: time.Date(2016, 11, 3, 16, 0, 0, 0, time.UTC)},
			{Region: "110000", Version: 9, AsOf: t1, Method: "2017", Grade: "low", Satisfaction: nil},
		},
		MethodRankings: []chstore.RankingRow{
			{Version: 9, AsOf: t1, Method: "2017", Rank: 1, Region: "330000", Composite: 78.884906, Grade: "medium", PrevRank: 2, Change: 1},
			{Version: 9, AsOf: t1, Method: "2017", Rank: 2, Region: "110000", Composite: 0, Grade: "low", PrevRank: 1, Change: -1},
		},
		Windows: []chstore.WindowRow{
			{Region: "330000", Metric: "feedback", WindowStart: t1.Add(-time.Hour), WindowEnd: t1, Version: 7,
				Count: 1, RatingSum: 5, RatingCounts: [5]uint64{0, 0, 0, 0, 1}},
			{Region: "330000", Metric: "applications", WindowStart: t1.Add(-time.Hour), WindowEnd: t1, Version: 8,
				Count: 1, Completed: 1, Abandoned: 2, Rejected: 3, OnlineCompleted: 1},
		},
		LateEvents: []chstore.LateEventRow{
			{Region: "330000", ID: "zj-old", Type: "feedback.rated", Time: t0.AddDate(0, 0, -10), StreamSeq: 10,
				Watermark: t0.Add(-10 * time.Minute), Reason: "too_late", Payload: `{"id":"zj-old"}`, RecordedAt: t1},
		},
		DLQ: []chstore.DLQRow{
			{Stage: "ingest", Reason: "field data.rating: must be 1..5", ReasonCode: "invalid", Source: "probe/zj",
				ReceivedAt: t1, StreamSeq: 1, EventID: "zj-bad", Region: "330000", Type: "feedback.rated", Body: "{\"x\":\x01}"},
			{Stage: "ingest", Reason: "not JSON", ReasonCode: "decode", ReceivedAt: t1, StreamSeq: 2, Body: "\xff\xfe"},
		},
	}
}

func TestWriteRoundTrip(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	b := sampleBatch()
	if err := s.Write(ctx, b); err != nil {
		t.Fatalf("Write: %v", err)
	}

	events, err := s.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by (region, id).
	checkEqual(t, "events", events, []chstore.EventRow{b.Events[2], b.Events[0], b.Events[1]})

	history, err := s.ScoreHistory(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "score_history", history, []chstore.ScoreRow{b.MethodScores[1], b.MethodScores[0]})
	latest, err := s.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "latest_scores", latest, []chstore.ScoreRow{b.MethodScores[1], b.MethodScores[0]})

	ranking, err := s.LatestRanking(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "latest ranking", ranking, b.MethodRankings)

	windows, err := s.Windows(ctx, "330000")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "windows", windows, []chstore.WindowRow{b.Windows[1], b.Windows[0]})

	late, err := s.LateEvents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "late_events", late, b.LateEvents)

	dlq, err := s.DLQ(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "dlq", dlq, b.DLQ)

	counts, err := s.EventCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "event counts", counts, map[string]uint64{"330000": 2, "110000": 1})
}

func TestLatestRankingView(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	if err := s.Write(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version FROM "+db+".latest_ranking")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			rank, prev     uint8
			region, zh, en string
			grade          string
			composite      float64
			change         int16
			asOf           time.Time
			version        uint64
		)
		if err := rows.Scan(&rank, &region, &zh, &en, &composite, &grade, &prev, &change, &asOf, &version); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s %s %s %.6f %s %d %d %s %d", rank, region, zh, en, composite, grade, prev, change,
			asOf.Format(time.RFC3339), version))
	}
	want := []string{
		"1 330000 浙江省 Zhejiang 78.884906 medium 2 1 2016-11-03T02:00:00Z 9",
		"2 110000 北京市 Beijing 0.000000 low 1 -1 2016-11-03T02:00:00Z 9",
	}
	checkEqual(t, "latest_ranking", got, want)
}

func TestWriteIdempotent(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	b := sampleBatch()
	// The same batch twice, no OPTIMIZE: the rows are stored twice until a merge.
	for range 2 {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		view string
		want uint64
	}{
		{"latest_scores", 2}, {"score_history", 2}, {"latest_ranking", 2},
	} {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+tc.view).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("%s: %d rows after writing the batch twice, want %d", tc.view, n, tc.want)
		}
	}
	var raw uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".method_scores").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != 4 {
		t.Logf("method_scores holds %d raw rows (4 expected before a merge)", raw)
	}
	events, err := s.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Errorf("events: %d rows, want 3", len(events))
	}
	counts, err := s.EventCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "event counts", counts, map[string]uint64{"330000": 2, "110000": 1})
	for name, n := range map[string]func() (int, error){
		"windows":     func() (int, error) { r, err := s.Windows(ctx, ""); return len(r), err },
		"late_events": func() (int, error) { r, err := s.LateEvents(ctx, ""); return len(r), err },
		"dlq":         func() (int, error) { r, err := s.DLQ(ctx); return len(r), err },
		"ranking":     func() (int, error) { r, err := s.LatestRanking(ctx); return len(r), err },
	} {
		got, err := n()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"windows": 2, "late_events": 1, "dlq": 2, "ranking": 2}[name]; got != want {
			t.Errorf("%s: %d rows after writing the batch twice, want %d", name, got, want)
		}
	}

	// A higher version wins: a new score for 330000, a corrected window, a new ranking.
	next := chstore.Batch{
		MethodScores: []chstore.ScoreRow{{Region: "330000", Version: 12, AsOf: t1.Add(time.Hour), Method: "2017",
			Composite: 80.5, Grade: "high", Satisfaction: ptr(75.0)}},
		Windows: []chstore.WindowRow{{Region: "330000", Metric: "feedback", WindowStart: t1.Add(-time.Hour), WindowEnd: t1,
			Version: 11, Count: 2, RatingSum: 8, RatingCounts: [5]uint64{0, 0, 1, 0, 1}}},
		MethodRankings: []chstore.RankingRow{
			{Version: 12, AsOf: t1.Add(time.Hour), Method: "2017", Rank: 1, Region: "330000", Composite: 80.5, Grade: "high", PrevRank: 1},
			{Version: 12, AsOf: t1.Add(time.Hour), Method: "2017", Rank: 2, Region: "110000", Composite: 0, Grade: "low", PrevRank: 2},
		},
	}
	for range 2 {
		if err := s.Write(ctx, next); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := s.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "latest_scores after a higher version", latest, []chstore.ScoreRow{b.MethodScores[1], next.MethodScores[0]})
	history, err := s.ScoreHistory(ctx, "330000")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "score_history of 330000", history, []chstore.ScoreRow{b.MethodScores[0], next.MethodScores[0]})
	windows, err := s.Windows(ctx, "330000")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "windows after a correction", windows, []chstore.WindowRow{b.Windows[1], next.Windows[0]})
	ranking, err := s.LatestRanking(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "latest ranking", ranking, next.MethodRankings)
}

func TestWriteEmptyBatch(t *testing.T) {
	s, _, _ := newStore(t)
	if err := s.Write(t.Context(), chstore.Batch{}); err != nil {
		t.Fatalf("Write(empty): %v", err)
	}
	ranking, err := s.LatestRanking(t.Context())
	if err != nil || len(ranking) != 0 {
		t.Fatalf("LatestRanking on an empty table = %v, %v", ranking, err)
	}
}

func TestWriteErrorNamesTable(t *testing.T) {
	conn, db := chtest.Open(t)
	s := chstore.New(conn, db, nil) // not migrated: the tables do not exist
	err := s.Write(t.Context(), chstore.Batch{MethodScores: sampleBatch().MethodScores})
	if err == nil || !strings.Contains(err.Error(), "chstore: insert method_scores") {
		t.Fatalf("Write to a missing table: %v, want an error naming method_scores", err)
	}
}

func checkEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
