package chstore_test

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/schema"
)

func TestClusterStatements(t *testing.T) {
	tests := []struct {
		name    string
		stmt    string
		locals  map[string]string // before the statement
		want    []string
		wantErr string
	}{
		{
			name: "replacing merge tree with version",
			stmt: "-- scores\nCREATE TABLE IF NOT EXISTS `db`.scores\n(\n    region String,\n    version UInt64,\n    x Nullable(Float64)\n)\nENGINE = ReplacingMergeTree(version)\nORDER BY (region, version)",
			want: []string{
				"-- scores\nCREATE TABLE IF NOT EXISTS `db`.scores_local ON CLUSTER c\n(\n    region String,\n    version UInt64,\n    x Nullable(Float64)\n)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/scores', '{replica}', version)\nORDER BY (region, version)",
				"CREATE TABLE IF NOT EXISTS `db`.scores ON CLUSTER c AS `db`.scores_local\nENGINE = Distributed(c, db, scores_local, cityHash64(region))",
			},
		},
		{
			name: "no version, partitions, time with a zone",
			stmt: "CREATE TABLE IF NOT EXISTS `db`.dlq (stage String, at DateTime('UTC'), seq UInt64) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(at) ORDER BY (stage, seq);",
			want: []string{
				"CREATE TABLE IF NOT EXISTS `db`.dlq_local ON CLUSTER c\n(stage String, at DateTime('UTC'), seq UInt64)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/dlq', '{replica}') PARTITION BY toYYYYMM(at) ORDER BY (stage, seq)",
				"CREATE TABLE IF NOT EXISTS `db`.dlq ON CLUSTER c AS `db`.dlq_local\nENGINE = Distributed(c, db, dlq_local, cityHash64(stage))",
			},
		},
		{
			name: "another merge tree family, key without parentheses",
			stmt: "CREATE TABLE db.totals (k String, n UInt64) ENGINE = SummingMergeTree ORDER BY k",
			want: []string{
				"CREATE TABLE `db`.totals_local ON CLUSTER c\n(k String, n UInt64)\nENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db/totals', '{replica}') ORDER BY k",
				"CREATE TABLE `db`.totals ON CLUSTER c AS `db`.totals_local\nENGINE = Distributed(c, db, totals_local, cityHash64(k))",
			},
		},
		{
			name:   "add column: local table first, then the Distributed table again",
			stmt:   "ALTER TABLE `db`.scores ADD COLUMN extra String",
			locals: map[string]string{"scores": "CREATE DISTRIBUTED"},
			want: []string{
				"ALTER TABLE `db`.scores_local ON CLUSTER c ADD COLUMN extra String",
				"DROP TABLE IF EXISTS `db`.scores ON CLUSTER c",
				"CREATE DISTRIBUTED",
			},
		},
		{
			name:   "drop table: Distributed table first",
			stmt:   "DROP TABLE IF EXISTS `db`.scores",
			locals: map[string]string{"scores": "CREATE DISTRIBUTED"},
			want: []string{
				"DROP TABLE IF EXISTS `db`.scores ON CLUSTER c",
				"DROP TABLE IF EXISTS `db`.scores_local ON CLUSTER c",
			},
		},
		{
			name: "view",
			stmt: "-- the view\nCREATE VIEW IF NOT EXISTS `db`.latest AS\nSELECT * FROM `db`.scores FINAL",
			want: []string{"-- the view\nCREATE VIEW IF NOT EXISTS `db`.latest ON CLUSTER c AS\nSELECT * FROM `db`.scores FINAL"},
		},
		{
			name: "drop view",
			stmt: "DROP TABLE IF EXISTS `db`.latest",
			want: []string{"DROP TABLE IF EXISTS `db`.latest ON CLUSTER c"},
		},
		{
			name: "insert goes through the Distributed table",
			stmt: "INSERT INTO `db`.regions (region) SELECT '1' FROM system.one;",
			want: []string{"INSERT INTO `db`.regions (region) SELECT '1' FROM system.one;"},
		},
		{name: "replicated already", stmt: "CREATE TABLE db.t (k String) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY k", wantErr: "replicated already"},
		{name: "no key", stmt: "CREATE TABLE db.t (k String) ENGINE = MergeTree() PARTITION BY k", wantErr: "no ORDER BY"},
		{name: "on cluster already", stmt: "ALTER TABLE db.t ON CLUSTER other ADD COLUMN x String", wantErr: "names a cluster"},
		{name: "rename", stmt: "RENAME TABLE db.a TO db.b", wantErr: "cannot place"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locals := map[string]string{}
			for k, v := range tt.locals {
				locals[k] = v
			}
			got, err := chstore.ClusterStatements(tt.stmt, "db", "c", locals)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "statements", got, tt.want)
		})
	}
}

// TestClusterStatementsOfEveryMigration checks that every statement of the shipped migrations has
// a cluster form, and that every table of them, but those a later migration dropped, has a local
// table.
func TestClusterStatementsOfEveryMigration(t *testing.T) {
	ms, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	locals := map[string]string{}
	tables := map[string]bool{}
	name := regexp.MustCompile("(?s)^(?:\\s*--[^\\n]*\\n)*\\s*(CREATE TABLE|DROP TABLE)\\s+(?:IF NOT EXISTS\\s+|IF EXISTS\\s+)?`db`\\.([a-z_0-9]+)")
	for _, m := range ms {
		stmts, err := chstore.SplitStatements(strings.ReplaceAll(m.SQL, schema.DatabasePlaceholder, "`db`"))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stmts {
			if n := name.FindStringSubmatch(st); n != nil {
				tables[n[2]] = n[1] == "CREATE TABLE" // a DROP of a view leaves false: never a table here
			}
			if _, err := chstore.ClusterStatements(st, "db", "c", locals); err != nil {
				t.Errorf("%s: %v", m.Name, err)
			}
		}
	}
	var want []string
	for table, exists := range tables {
		if exists {
			want = append(want, table)
		}
	}
	slices.Sort(want)
	got := slices.Sorted(maps.Keys(locals))
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("tables with a local table %v, want %v", got, want)
	}
}

// clusterStores migrates the cluster schema through the first replica and returns a Store on
// every replica. Before the last migrations (from version first on), it calls stored, which
// writes rows as the schema before them took them.
func clusterStores(t *testing.T, first uint32, stored func(driver.Conn, string)) ([]*chstore.Store, []driver.Conn, string) {
	t.Helper()
	conns, db := chtest.OpenCluster(t)
	var stores []*chstore.Store
	for _, conn := range conns {
		stores = append(stores, chstore.New(conn, db, nil, chstore.OnCluster(chtest.ClusterName)))
	}
	before, _ := migrationsAround(t, first)
	if err := stores[0].MigrateWith(t.Context(), before); err != nil {
		t.Fatalf("Migrate before %d: %v", first, err)
	}
	stored(conns[0], db)
	if err := stores[0].Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return stores, conns, db
}

// syncReplica waits until the replica on conn has fetched every part of the replicated tables.
func syncReplica(t *testing.T, conn driver.Conn, db string) {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT name FROM system.tables WHERE database = ? AND engine LIKE 'Replicated%'", db)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, tb := range tables {
		if err := conn.Exec(t.Context(), "SYSTEM SYNC REPLICA "+db+"."+tb); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterSchema runs the cluster variant against a real ClickHouse cluster with ZooKeeper
// (GOVPULSE_TEST_CLICKHOUSE_CLUSTER, two replicas of one shard, as make cluster starts): every
// replica gets every table as a replicated local table behind a Distributed one and the views;
// migrating again is harmless; rows written through one replica are read, once, through the
// other; duplicates that are not merged are collapsed by FINAL over the Distributed table;
// retention drops a month on both replicas; a later migration that creates a table and adds a
// column reaches both tables of every replica. A score and a ranking stored in the tables scores
// and rankings before migration 0011 are read from its views afterwards, through both replicas,
// the score's counts too (copied into counts by migration 0012).
func TestClusterSchema(t *testing.T) {
	old := time.Date(2016, 11, 30, 0, 0, 0, 0, time.UTC)
	stores, conns, db := clusterStores(t, 11, func(conn driver.Conn, db string) {
		ctx := clickhouse.Context(t.Context(), clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
		for _, q := range []string{
			"INSERT INTO " + db + ".scores (region, version, as_of, as_of_ns, method, composite, grade, published_items, rating_sum) SELECT '330000', 1, toDateTime(" +
				strconv.FormatInt(old.Unix(), 10) + ", 'UTC'), " + strconv.FormatInt(old.UnixNano(), 10) + ", '2017', 12.5, 'low', 7, 19",
			"INSERT INTO " + db + ".rankings (version, as_of, as_of_ns, method, rank, region, composite, grade) SELECT 1, toDateTime(" +
				strconv.FormatInt(old.Unix(), 10) + ", 'UTC'), " + strconv.FormatInt(old.UnixNano(), 10) + ", '2017', 1, '330000', 12.5, 'low'",
		} {
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	})
	ctx := t.Context()
	if err := stores[1].Migrate(ctx); err != nil {
		t.Fatalf("Migrate again through the second replica: %v", err)
	}
	ms, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		applied, err := s.AppliedMigrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != len(ms) {
			t.Errorf("replica %d: %d migrations recorded, want %d", i+1, len(applied), len(ms))
		}
		engines := tableEngines(t, conns[i], db)
		for _, table := range []string{"events", "method_scores", "method_rankings", "windows", "late_events", "dlq", "regions", chstore.MigrationsTable} {
			if engines[table] != "Distributed" || engines[table+chstore.LocalSuffix] != "ReplicatedReplacingMergeTree" {
				t.Errorf("replica %d: %s is %q and %s_local %q; want Distributed over ReplicatedReplacingMergeTree",
					i+1, table, engines[table], table, engines[table+chstore.LocalSuffix])
			}
		}
		for _, view := range []string{"scores", "rankings", "latest_scores", "latest_ranking", "score_history"} {
			if engines[view] != "View" {
				t.Errorf("replica %d: %s is %q, want a View", i+1, view, engines[view])
			}
		}
	}

	// Written through the first replica, twice (a retry), read through the second.
	b := sampleBatch()
	for range 2 {
		if err := stores[0].Write(ctx, b); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	syncReplica(t, conns[1], db)
	for i, s := range stores {
		events, err := s.Events(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "events", events, []chstore.EventRow{b.Events[2], b.Events[0], b.Events[1]})
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
		history, err := s.ScoreHistory(ctx, "330000")
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 2 || history[0].Version != 1 || history[0].Composite != 12.5 || !history[0].AsOf.Equal(old) ||
			history[0].PublishedItems != 7 || history[0].RatingSum != 19 {
			t.Errorf("replica %d: score history of 330000 %+v, want the score stored before 0011 (its counts in counts since 0012), then version 8", i+1, history)
		}
		var oldRanks uint64
		if err := conns[i].QueryRow(ctx, "SELECT count() FROM "+db+".rankings WHERE version = 1").Scan(&oldRanks); err != nil || oldRanks != 1 {
			t.Errorf("replica %d: %d rows of the ranking stored before 0011 (%v), want 1", i+1, oldRanks, err)
		}
		counts, err := s.EventCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "event counts", counts, map[string]uint64{"330000": 2, "110000": 1})
		var local uint64
		if err := conns[i].QueryRow(ctx, "SELECT count() FROM "+db+".events_local").Scan(&local); err != nil {
			t.Fatal(err)
		}
		if local == 0 {
			t.Errorf("replica %d: events_local is empty", i+1)
		}
	}

	// Two versions of one key in two parts that are not merged: FINAL over the Distributed table
	// shows the highest, through either replica.
	for _, conn := range conns {
		if err := conn.Exec(ctx, "SYSTEM STOP MERGES "+db+".events_local"); err != nil {
			t.Fatal(err)
		}
	}
	again := b.Events[0]
	again.StreamSeq, again.Source = 70, "probe/again"
	if err := stores[1].Write(ctx, chstore.Batch{Events: []chstore.EventRow{again}}); err != nil {
		t.Fatal(err)
	}
	syncReplica(t, conns[0], db)
	for i, conn := range conns {
		var rows, final uint64
		var source string
		q := "SELECT (SELECT count() FROM " + db + ".events WHERE id = 'zj-1'), (SELECT count() FROM " + db + ".events FINAL WHERE id = 'zj-1'), " +
			"(SELECT any(source) FROM " + db + ".events FINAL WHERE id = 'zj-1')"
		if err := conn.QueryRow(ctx, q).Scan(&rows, &final, &source); err != nil {
			t.Fatal(err)
		}
		if rows < 2 || final != 1 || source != "probe/again" {
			t.Errorf("replica %d: %d rows of zj-1, %d through FINAL with source %q; want at least 2, 1 and probe/again", i+1, rows, final, source)
		}
		if err := conn.Exec(ctx, "SYSTEM START MERGES "+db+".events_local"); err != nil {
			t.Fatal(err)
		}
	}

	// Retention: the month of the events goes from both replicas.
	dropped, err := stores[0].DropMonthsBefore(ctx, "events", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "dropped", dropped, []string{"201611"})
	syncReplica(t, conns[1], db)
	for i, s := range stores {
		if events, err := s.Events(ctx, ""); err != nil || len(events) != 0 {
			t.Errorf("replica %d after the drop: %d events, %v; want none", i+1, len(events), err)
		}
	}

	// A later migration: a new table and a new column get the cluster variant too.
	later := append(ms, chstore.Migration{Version: 1000, Name: "1000_later.sql", Checksum: "later", SQL: `
CREATE TABLE IF NOT EXISTS ${DATABASE}.later (k String, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY k;
ALTER TABLE ${DATABASE}.method_scores ADD COLUMN later_column String;
`})
	if err := stores[0].MigrateWith(ctx, later); err != nil {
		t.Fatalf("a later migration: %v", err)
	}
	for i, conn := range conns {
		engines := tableEngines(t, conn, db)
		if engines["later"] != "Distributed" || engines["later_local"] != "ReplicatedReplacingMergeTree" {
			t.Errorf("replica %d: later is %q, later_local %q", i+1, engines["later"], engines["later_local"])
		}
		for _, table := range []string{"method_scores", "method_scores_local"} {
			var n uint64
			if err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = 'later_column'", db, table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("replica %d: %s has no column later_column", i+1, table)
			}
		}
	}
}

// tableEngines returns the engine of every table of db on the server of conn.
func tableEngines(t *testing.T, conn driver.Conn, db string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			t.Fatal(err)
		}
		out[name] = engine
	}
	return out
}
