package chstore_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/govpulse/govpulse/internal/chstore"
)

func TestPartitionBlocks(t *testing.T) {
	month := func(months ...int) func(int) time.Time {
		return func(i int) time.Time { return time.Date(2016, time.Month(1+months[i]), 15, 0, 0, 0, 0, time.UTC) }
	}
	seq := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	}
	months101 := make([]int, 101)
	for i := range months101 {
		months101[i] = i
	}
	tests := []struct {
		name  string
		n     int
		month func(int) time.Time
		limit int
		want  [][]int
	}{
		{name: "unpartitioned", n: 5, month: nil, limit: 2, want: [][]int{seq(5)}},
		{name: "within the limit", n: 4, month: month(0, 1, 0, 1), limit: 2, want: [][]int{seq(4)}},
		{name: "rows within the limit", n: 2, month: month(0, 1), limit: 2, want: [][]int{seq(2)}},
		{name: "three months, limit two", n: 5, month: month(0, 1, 2, 0, 2), limit: 2, want: [][]int{{0, 1, 3}, {2, 4}}},
		{name: "first seen order", n: 4, month: month(5, 3, 1, 5), limit: 1, want: [][]int{{0, 3}, {1}, {2}}},
		{name: "same month of other years", n: 3, month: func(i int) time.Time { return time.Date(2016+i, 1, 1, 0, 0, 0, 0, time.UTC) }, limit: 1, want: [][]int{{0}, {1}, {2}}},
		{name: "101 months", n: 101, month: month(months101...), limit: 100, want: [][]int{seq(100), {100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chstore.PartitionBlocks(tt.n, tt.month, tt.limit)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PartitionBlocks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	ex := func(code int32, msg string) error {
		return fmt.Errorf("chstore: insert events: %w", &clickhouse.Exception{Code: code, Message: msg})
	}
	tests := []struct {
		name string
		err  error
		want chstore.Class
	}{
		{"network", errors.New("read tcp 127.0.0.1:19000: connection reset by peer"), chstore.Transient},
		{"acquire timeout", clickhouse.ErrAcquireConnTimeout, chstore.Transient},
		{"too many parts", ex(252, "Too many parts (300). Merges are processing significantly slower than inserts"), chstore.Transient},
		{"too many partitions", ex(252, "Too many partitions for single INSERT block (more than 100)."), chstore.RowError},
		{"memory limit", ex(241, "Memory limit (for query) exceeded"), chstore.Transient},
		{"timeout", ex(159, "Timeout exceeded"), chstore.Transient},
		{"readonly replica", ex(242, "Table is in readonly mode"), chstore.Transient},
		{"access denied", ex(497, "Not enough privileges"), chstore.Transient},
		{"value out of range", ex(321, "Value is out of range"), chstore.RowError},
		{"throwIf", ex(395, "Value passed to 'throwIf' function is non zero"), chstore.RowError},
		{"cannot parse", ex(6, "Cannot parse text"), chstore.RowError},
		{"constraint", ex(469, "Constraint violated"), chstore.RowError},
		{"no such column", ex(16, "No such column channel in table events"), chstore.SchemaFault},
		{"unknown table", ex(60, "Table govpulse.events doesn't exist."), chstore.SchemaFault},
		{"unknown database", ex(81, "Database govpulse doesn't exist"), chstore.SchemaFault},
		{"unknown code", ex(62, "Syntax error"), chstore.SchemaFault},
		{"unknown element of an enum", fmt.Errorf("column 11: %w", &column.Error{ColumnType: "Enum8", Err: errors.New(`unknown element "sms"`)}), chstore.RowError},
		{"value too long", &proto.BlockError{Op: "AppendRow", ColumnName: "f", Err: errors.New("exceeds FixedString(3) capacity")}, chstore.RowError},
		{"type no longer convertible", &proto.BlockError{Op: "AppendRow", ColumnName: "n", Err: &column.ColumnConverterError{Op: "AppendRow", From: "string", To: "UInt8"}}, chstore.SchemaFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chstore.Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

// monthlyEvents returns n events, each in its own month from January 2010 on.
func monthlyEvents(n int) []chstore.EventRow {
	rows := make([]chstore.EventRow, n)
	for i := range rows {
		rows[i] = chstore.EventRow{Region: "330000", ID: fmt.Sprintf("m-%03d", i), Type: "feedback.rated",
			Time: time.Date(2010, time.Month(1+i), 2, 3, 4, 5, 0, time.UTC), IngestTime: t1, StreamSeq: uint64(i + 1),
			Source: "probe/zhejiang", Rating: 4, Channel: "web", Payload: "{}"}
	}
	return rows
}

// countBlocks counts the INSERT blocks s sends, by table.
func countBlocks(s *chstore.Store) func() map[string]int {
	var (
		mu     sync.Mutex
		blocks = map[string]int{}
	)
	chstore.OnBlock(s, func(table string, _ int) {
		mu.Lock()
		defer mu.Unlock()
		blocks[table]++
	})
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(blocks)
	}
}

// 101 valid events in 101 months are stored in two blocks: no block spans more than 100 partitions
// (max_partitions_per_insert_block of current releases).
func TestWrite101Months(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	blocks := countBlocks(s)
	// The other partitioned tables are split by the same code (TestPartitionBlocks); 101 parts
	// each would only slow the test down.
	b := chstore.Batch{Events: monthlyEvents(101)}
	if err := s.Write(ctx, b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	want := map[string]int{"events": 2}
	if got := blocks(); !reflect.DeepEqual(got, want) {
		t.Errorf("blocks sent %v, want %v", got, want)
	}
	for _, table := range []string{"events"} {
		var rows, parts uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+table).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT uniqExact(partition) FROM system.parts WHERE database = ? AND table = ? AND active", db, table).Scan(&parts); err != nil {
			t.Fatal(err)
		}
		if rows != 101 || parts != 101 {
			t.Errorf("%s: %d rows in %d partitions, want 101 in 101", table, rows, parts)
		}
	}
}

func TestWriteIsolatedRowErrors(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	// A narrower column type: the channels of 18.16's Enum8 are web and app only, so "sms" and
	// "wechat" are refused by the client for that column; every other row is fine.
	if err := conn.Exec(ctx, "ALTER TABLE "+db+".events MODIFY COLUMN channel Enum8('' = 0, 'web' = 1, 'app' = 2)"); err != nil {
		t.Fatal(err)
	}
	// A server-side refusal: a materialized view that throws for one score version.
	if err := conn.Exec(ctx, "CREATE TABLE "+db+".score_sink (region String) ENGINE = MergeTree ORDER BY region"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW "+db+".score_check TO "+db+".score_sink AS SELECT region FROM "+db+
		".method_scores WHERE throwIf(version = 13) = 0"); err != nil {
		t.Fatal(err)
	}
	blocks := countBlocks(s)
	b := chstore.Batch{Events: monthlyEvents(40)}
	bad := map[int]bool{3: true, 17: true, 18: true, 39: true}
	for i := range bad {
		b.Events[i].Channel = "sms"
	}
	b.MethodScores = []chstore.ScoreRow{{Region: "110000", Version: 12, AsOf: t1, Method: "2017"},
		{Region: "330000", Version: 13, AsOf: t1, Method: "2017"}, {Region: "520000", Version: 14, AsOf: t1, Method: "2017"}}
	if err := s.Write(ctx, b); chstore.Classify(err) != chstore.RowError {
		t.Fatalf("Write: %v (%s), want a row error", err, chstore.Classify(err))
	}
	refused, err := s.WriteIsolated(ctx, b, false)
	if err != nil {
		t.Fatalf("WriteIsolated: %v", err)
	}
	var got []string
	for _, r := range refused {
		got = append(got, fmt.Sprintf("%s/%d", r.Table, r.Row))
		if r.Table == "events" && !strings.Contains(r.Err.Error(), `unknown element "sms"`) {
			t.Errorf("refused %s/%d: %v, want the client's error", r.Table, r.Row, r.Err)
		}
		if r.Table == "method_scores" && (!strings.Contains(r.Err.Error(), "throwIf") || !strings.Contains(r.Err.Error(), "code: 395")) {
			t.Errorf("refused %s/%d: %v, want the server's error", r.Table, r.Row, r.Err)
		}
	}
	checkEqual(t, "refused rows", got, []string{"events/3", "events/17", "events/18", "events/39", "method_scores/1"})
	events, err := s.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 40-len(bad) {
		t.Errorf("%d events stored, want %d", len(events), 40-len(bad))
	}
	for _, ev := range events {
		if ev.Channel != "web" {
			t.Errorf("stored event %s with channel %q", ev.ID, ev.Channel)
		}
	}
	var versions []uint64
	rows, err := conn.Query(ctx, "SELECT version FROM "+db+".scores ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v uint64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	rows.Close()
	// The view throws after the scores block was written (18.16 writes the table first), so
	// version 13 may be in the table; 12 and 14 must be.
	if !slices.Contains(versions, 12) || !slices.Contains(versions, 14) {
		t.Errorf("scores versions %v, want 12 and 14", versions)
	}
	n := blocks()["events"]
	t.Logf("isolating 4 of 40 rows took %d event blocks", n)
	if n > 40 {
		t.Errorf("%d event blocks for 4 refused rows of 40: bisection should need far fewer than one per row", n)
	}
}

func TestWriteIsolatedSchemaFault(t *testing.T) {
	s, conn, db := newStore(t)
	ctx := t.Context()
	if err := conn.Exec(ctx, "ALTER TABLE "+db+".events DROP COLUMN outcome"); err != nil {
		t.Fatal(err)
	}
	b := sampleBatch()
	refused, err := s.WriteIsolated(ctx, b, false)
	if chstore.Classify(err) != chstore.SchemaFault || len(refused) != 0 {
		t.Fatalf("WriteIsolated without schema faults: %v (%s), %d refused; want a schema fault and none refused", err, chstore.Classify(err), len(refused))
	}
	blocks := countBlocks(s)
	refused, err = s.WriteIsolated(ctx, b, true)
	if err != nil {
		t.Fatalf("WriteIsolated with schema faults: %v", err)
	}
	if len(refused) != len(b.Events) {
		t.Fatalf("%d rows refused, want the %d events", len(refused), len(b.Events))
	}
	for i, r := range refused {
		if r.Table != "events" || r.Row != i || !strings.Contains(r.Err.Error(), "No such column outcome") {
			t.Errorf("refused[%d] = %s/%d %v", i, r.Table, r.Row, r.Err)
		}
	}
	if got := blocks()["events"]; got != 1 {
		t.Errorf("%d event blocks, want 1: a missing column refuses the block without splitting it", got)
	}
	scores, err := s.LatestScores(ctx)
	if err != nil || len(scores) != len(b.MethodScores) {
		t.Errorf("scores after the refused events: %d (%v), want %d", len(scores), err, len(b.MethodScores))
	}
}
