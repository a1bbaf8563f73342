package bench_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/scenario"
)

// replays is how many consecutive replays BenchmarkEndToEndReplays runs on one pipeline.
const replays = 3

// BenchmarkEndToEndReplays runs the replay of BenchmarkEndToEnd (default sync interval, the
// aggregator's defaults, explanations on) three times in a row on one pipeline, as a user feeding
// the pipeline again would: the JetStream server and its EVENTS stream, the ClickHouse database,
// the aggregator (its engine state, consumer and checkpoints) and ingest stay up from one replay
// to the next, and nothing is deleted or restarted between them. Each replay is the next stretch
// of the same synthetic stream (see [replayStretch]): as many events, new ids, event time going on
// where the previous stretch ended, so that all of them are new to the stream's duplicate window
// and to the aggregator's remembered ids. It prints each replay's figures, the database's active
// parts after it, and the ratio of the third replay's end-to-end rate to the first's
// ("replay 3 / replay 1 = R"). Run it with -benchtime=1x: one iteration is a whole replay.
func BenchmarkEndToEndReplays(b *testing.B) {
	n := benchkit.EnvPositive(b, envEvents, defaultEvents)
	feeders := benchkit.EnvPositive(b, envFeeders, defaultFeeders)
	chtest.Addr(b) // skip (or fail) early without a ClickHouse server
	ctx, cancel := context.WithTimeout(b.Context(), replays*replayTimeout)
	defer cancel()
	p := startPipeline(ctx, b, false, feeders, aggregate.Config{})
	defer p.stop()
	// Runs before the database is dropped (cleanups run last first): see dropTables.
	b.Cleanup(func() { dropTables(b, p.conn, p.db) })

	fed := 0 // events in the stream and the database
	var rates [replays]float64
	var lines [replays]string
	for k := range replays {
		b.Run(fmt.Sprintf("replay=%d", k+1), func(b *testing.B) {
			var sum result
			for range b.N {
				evs := slices.Collect(scenario.Stream(replayStretch(n, fed/n)))
				r := p.feed(ctx, b, evs, feeders, fed)
				fed += len(evs)
				parts := activeParts(ctx, b, p.conn, p.db)
				b.Logf("replay %d: %s; %s", k+1, r, parts)
				fmt.Printf("end-to-end replay %d: %s; %s\n", k+1, r, parts)
				sum.add(r)
			}
			sum.report(b)
			if sum.runs > 0 {
				rates[k] = rate(sum.events, sum.total)
				lines[k] = fmt.Sprintf("%.0f events/s, ClickHouse writes %.1f s", rates[k], sum.writing.Seconds()/float64(sum.runs))
			}
		})
	}
	if rates[0] > 0 && rates[replays-1] > 0 {
		fmt.Printf("end-to-end replays: replay %d / replay 1 = %.2f (%s; target at least 1.00)\n",
			replays, rates[replays-1]/rates[0], strings.Join(lines[:], "; "))
	}
}

// replayStretch returns the options of the k-th stretch (from 0) of n events of the synthetic
// stream: stretch 0 is the stream of BenchmarkEndToEnd; stretch k starts where stretch k-1 ended
// in event time and has ids of its own ("syn<k+1>-<n>"), with the same mix of events.
func replayStretch(n, k int) scenario.StreamOptions {
	o := scenario.StreamOptions{Events: n}.WithDefaults()
	if k > 0 {
		o.Start = o.Start.Add(time.Duration(k*n) * o.Step)
		o.IDPrefix = fmt.Sprintf("%s%d", o.IDPrefix, k+1)
	}
	return o
}

// activeParts describes the active parts of the tables of db, the most first, and the merges
// running in it.
func activeParts(ctx context.Context, b *testing.B, conn driver.Conn, db string) string {
	b.Helper()
	rows, err := conn.Query(ctx, "SELECT table, count() AS parts, sum(rows) FROM system.parts "+
		"WHERE database = ? AND active GROUP BY table ORDER BY parts DESC, table", db)
	if err != nil {
		b.Fatalf("active parts: %v", err)
	}
	defer rows.Close()
	var total uint64
	var tables []string
	for rows.Next() {
		var table string
		var parts, n uint64
		if err := rows.Scan(&table, &parts, &n); err != nil {
			b.Fatalf("active parts: %v", err)
		}
		total += parts
		if len(tables) < 4 {
			tables = append(tables, fmt.Sprintf("%s %d (%d rows)", table, parts, n))
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatalf("active parts: %v", err)
	}
	var merges, outdated uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", db).Scan(&merges); err != nil {
		b.Fatalf("merges: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.parts WHERE database = ? AND NOT active", db).Scan(&outdated); err != nil {
		b.Fatalf("outdated parts: %v", err)
	}
	return fmt.Sprintf("%d active parts (%s, ...), %d merges running, %d outdated parts on disk",
		total, strings.Join(tables, ", "), merges, outdated)
}

// dropTables drops the tables of db one by one, with more time than dropping the whole database
// gets. After three replays within a few minutes the database holds well over a thousand parts on
// disk (ClickHouse keeps the parts a merge replaced for old_parts_lifetime, 8 minutes by default),
// each with two files per column, and on a loaded machine deleting them took longer than the
// two minutes the test database's own cleanup allows.
func dropTables(b *testing.B, conn driver.Conn, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", db)
	if err != nil {
		b.Errorf("list tables of %s: %v", db, err)
		return
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			b.Errorf("list tables of %s: %v", db, err)
			rows.Close()
			return
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS `"+db+"`.`"+t+"`"); err != nil {
			b.Errorf("drop table %s.%s: %v", db, t, err)
		}
	}
}
