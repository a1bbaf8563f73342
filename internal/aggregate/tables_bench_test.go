package aggregate

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/testwait"
)

// flushTables lists the tables of a flush with the part of a Batch each one takes.
var flushTables = []struct {
	name string
	of   func(chstore.Batch) chstore.Batch
}{
	{"events", func(b chstore.Batch) chstore.Batch { return chstore.Batch{Events: b.Events} }},
	{"late_events", func(b chstore.Batch) chstore.Batch { return chstore.Batch{LateEvents: b.LateEvents} }},
	{"windows", func(b chstore.Batch) chstore.Batch { return chstore.Batch{Windows: b.Windows} }},
	{"method_scores", func(b chstore.Batch) chstore.Batch { return chstore.Batch{MethodScores: b.MethodScores} }},
	{"inconsistencies", func(b chstore.Batch) chstore.Batch { return chstore.Batch{Inconsistencies: b.Inconsistencies} }},
	{"portal_counts", func(b chstore.Batch) chstore.Batch { return chstore.Batch{PortalCounts: b.PortalCounts} }},
	{"review_stats", func(b chstore.Batch) chstore.Batch { return chstore.Batch{ReviewStats: b.ReviewStats} }},
	{"alerts", func(b chstore.Batch) chstore.Batch { return chstore.Batch{Alerts: b.Alerts} }},
	{"method_rankings", func(b chstore.Batch) chstore.Batch { return chstore.Batch{MethodRankings: b.MethodRankings} }},
	{"group_rankings", func(b chstore.Batch) chstore.Batch { return chstore.Batch{GroupRankings: b.GroupRankings} }},
	{"score_changes", func(b chstore.Batch) chstore.Batch { return chstore.Batch{ScoreChanges: b.ScoreChanges} }},
	{"score_causes", func(b chstore.Batch) chstore.Batch { return chstore.Batch{ScoreCauses: b.ScoreCauses} }},
	{"rank_changes", func(b chstore.Batch) chstore.Batch { return chstore.Batch{RankChanges: b.RankChanges} }},
}

// BenchmarkFlushTables measures what each table of a flush costs ClickHouse: the replay's stream
// applied to an engine with the explanations and cut into flushes (GOVPULSE_BENCH_EVENTS, default
// 60,000; GOVPULSE_BENCH_FLUSH events each, default 5,000), each flush written one table at a time
// into a fresh database. It prints per table the rows and the INSERTs per 10,000 events, its
// columns and the files a part of it has, the INSERT time per flush, and, once the server's merges
// have settled, its active parts; then the server's merge counters over the run and, with
// GOVPULSE_BENCH_CH_PID (the pid of a ClickHouse server no one else uses), the server's CPU per
// event, writes and merges included.
func BenchmarkFlushTables(b *testing.B) {
	n := benchkit.EnvPositive(b, "GOVPULSE_BENCH_EVENTS", 60_000)
	per := benchkit.EnvPositive(b, "GOVPULSE_BENCH_FLUSH", 5_000)
	batches := flushBatches(b, n, per, true)
	for b.Loop() {
		conn, database := chtest.Open(b)
		store := chstore.New(conn, database, nil)
		if err := store.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		before := serverEvents(b, conn)
		cpu0 := serverCPU(b)
		rows, inserts, took := map[string]int{}, map[string]int{}, map[string]time.Duration{}
		events := 0
		for _, batch := range batches {
			events += len(batch.Events)
			for _, t := range flushTables {
				part := t.of(batch)
				if part.Len() == 0 {
					continue
				}
				start := time.Now()
				if err := store.Write(b.Context(), part); err != nil {
					b.Fatalf("write %s: %v", t.name, err)
				}
				took[t.name] += time.Since(start)
				rows[t.name] += part.Len()
				inserts[t.name]++
			}
		}
		cpuWrite := serverCPU(b)
		testwait.For(b, 5*time.Minute, 100*time.Millisecond, func() error {
			var merges uint64
			if err := conn.QueryRow(b.Context(), "SELECT count() FROM system.merges WHERE database = ?", database).Scan(&merges); err != nil {
				return err
			}
			if merges > 0 {
				return fmt.Errorf("%d merges running", merges)
			}
			return nil
		})
		cpuAll := serverCPU(b)
		after := serverEvents(b, conn)
		cols := tableColumns(b, conn, database)
		parts := tableParts(b, conn, database)
		per10k := func(v int) float64 { return float64(v) * 10_000 / float64(events) }
		fmt.Printf("%d events in %d flushes\n%-16s %10s %10s %5s %5s %12s %7s\n", events, len(batches),
			"table", "rows/10k", "ins/10k", "cols", "files", "ms/flush", "parts")
		var total, explained time.Duration
		files := map[bool]int{}
		for _, t := range flushTables {
			ex := t.name == "score_changes" || t.name == "score_causes" || t.name == "rank_changes"
			if inserts[t.name] > 0 {
				files[ex] += cols[t.name][1]
			}
			if ex {
				explained += took[t.name]
			}
			c := cols[t.name]
			fmt.Printf("%-16s %10.0f %10.1f %5d %5d %12.1f %7d\n", t.name, per10k(rows[t.name]), per10k(inserts[t.name]),
				c[0], c[1], float64(took[t.name].Microseconds())/1e3/float64(len(batches)), parts[t.name])
			total += took[t.name]
		}
		fmt.Printf("all tables: %.1f ms/flush of INSERTs, %d rows per 10,000 events, %d column files per flush\n",
			float64(total.Microseconds())/1e3/float64(len(batches)), int(per10k(sum(rows))), files[false]+files[true])
		fmt.Printf("explanation tables: %.1f ms/flush, %.1f%% of the INSERT time; %d of the column files\n",
			float64(explained.Microseconds())/1e3/float64(len(batches)), 100*float64(explained)/float64(total), files[true])
		for _, k := range []string{"InsertedRows", "Merge", "MergedRows", "MergedUncompressedBytes", "MergesTimeMilliseconds"} {
			fmt.Printf("%s: %d (%.1f per 10,000 events)\n", k, after[k]-before[k], per10k(int(after[k]-before[k])))
		}
		if cpu0 >= 0 {
			fmt.Printf("server CPU: %.2f s writing, %.2f s with the merges after: %.1f µs per event\n",
				cpuWrite-cpu0, cpuAll-cpu0, (cpuAll-cpu0)*1e6/float64(events))
		}
	}
}

func sum(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

// serverEvents returns the server's ProfileEvents counters.
func serverEvents(b *testing.B, conn driver.Conn) map[string]uint64 {
	b.Helper()
	rows, err := conn.Query(context.Background(), "SELECT event, value FROM system.events")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			k string
			v uint64
		)
		if err := rows.Scan(&k, &v); err != nil {
			b.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// serverCPU returns the user+system CPU seconds of the process GOVPULSE_BENCH_CH_PID, -1 without it.
func serverCPU(b *testing.B) float64 {
	b.Helper()
	pid := os.Getenv("GOVPULSE_BENCH_CH_PID")
	if pid == "" {
		return -1
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// tableColumns returns per table its stored columns and the files a part of it holds per column (.bin and
// .mrk of each stream: one more stream for a Nullable's null map and for an array's sizes).
func tableColumns(b *testing.B, conn driver.Conn, database string) map[string][2]int {
	b.Helper()
	rows, err := conn.Query(context.Background(), "SELECT table, type FROM system.columns WHERE database = ? AND default_kind != 'ALIAS'", database)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := map[string][2]int{}
	for rows.Next() {
		var t, typ string
		if err := rows.Scan(&t, &typ); err != nil {
			b.Fatal(err)
		}
		c := out[t]
		c[0]++
		c[1] += 2 * (1 + strings.Count(typ, "Nullable(") + strings.Count(typ, "Array("))
		out[t] = c
	}
	return out
}

// tableParts returns the active parts of each table.
func tableParts(b *testing.B, conn driver.Conn, database string) map[string]int {
	b.Helper()
	rows, err := conn.Query(context.Background(), "SELECT table, count() FROM system.parts WHERE database = ? AND active GROUP BY table", database)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			t string
			c uint64
		)
		if err := rows.Scan(&t, &c); err != nil {
			b.Fatal(err)
		}
		out[t] = int(c)
	}
	return out
}
