package aggregate

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scenario"
)

// BenchmarkFlushWrite measures the ClickHouse write path of the flush alone: the synthetic stream
// of the end-to-end replay applied to an engine as the reader applies it, cut into flushes of the
// replay's typical size, each flush's rows written with Store.WriteIsolated as the flusher writes
// them, into two fresh databases: without and with the tables that explain every change,
// alternately flush by flush, so that both see the same load of a shared machine. It prints the
// explanations' share of the write time; the engine's time is not measured. GOVPULSE_BENCH_EVENTS
// (default 60,000) and GOVPULSE_BENCH_FLUSH (default 3,500 events per flush) size it.
func BenchmarkFlushWrite(b *testing.B) {
	n := envInt(b, "GOVPULSE_BENCH_EVENTS", 60_000)
	per := envInt(b, "GOVPULSE_BENCH_FLUSH", 3_500)
	batches := map[bool][]chstore.Batch{false: flushBatches(b, n, per, false), true: flushBatches(b, n, per, true)}
	took := map[bool]time.Duration{}
	flushes := 0
	for b.Loop() {
		stores := map[bool]*chstore.Store{}
		for _, explain := range []bool{false, true} {
			conn, database := chtest.Open(b)
			stores[explain] = chstore.New(conn, database, nil)
			if err := stores[explain].Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		for i := range batches[false] {
			for _, explain := range []bool{i%2 == 0, i%2 != 0} {
				start := time.Now()
				refused, err := stores[explain].WriteIsolated(b.Context(), batches[explain][i], false)
				if err != nil || len(refused) > 0 {
					b.Fatalf("write: %v, %d refused", err, len(refused))
				}
				took[explain] += time.Since(start)
			}
			flushes++
		}
	}
	off, on := took[false]/time.Duration(flushes), took[true]/time.Duration(flushes)
	b.ReportMetric(float64(off.Microseconds())/1e3, "ms/flush-explain-off")
	b.ReportMetric(float64(on.Microseconds())/1e3, "ms/flush-explain-on")
	fmt.Printf("flush write explain cost: %.2fx the write time (%v per flush with the explanations, %v without)\n",
		float64(on)/float64(off), on.Round(time.Millisecond), off.Round(time.Millisecond))
}

// flushBatches applies the first n events of the synthetic stream to an engine with the
// aggregator's default configuration and returns the rows of a flush every per events.
func flushBatches(b *testing.B, n, per int, explain bool) []chstore.Batch {
	b.Helper()
	cfg := Config{NoExplain: !explain}.WithDefaults()
	eng, err := engine.New(cfg.engineConfig())
	if err != nil {
		b.Fatal(err)
	}
	stored := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var (
		out  []chstore.Batch
		p    = &pending{}
		seq  uint64
		rows = map[string]int{}
		cut  = func() {
			p.merge(eng.Drain())
			batch := p.rows(true)
			rows["events"] += len(batch.Events)
			rows["score_changes"] += len(batch.ScoreChanges)
			rows["score_causes"] += len(batch.ScoreCauses)
			rows["rank_changes"] += len(batch.RankChanges)
			rows["all"] += batch.Len()
			out = append(out, batch)
			p = &pending{}
		}
		payload []byte
	)
	for ev := range scenario.Stream(scenario.StreamOptions{Events: n}) {
		seq++
		if eng.Apply(seq, ev).Outcome == engine.NotInPartition {
			continue
		}
		payload, err = ev.AppendJSON(payload[:0])
		if err != nil {
			b.Fatal(err)
		}
		p.events = append(p.events, eventRow(ev, seq, stored, string(payload)))
		p.messages++
		if p.messages == per {
			cut()
		}
	}
	if p.messages > 0 {
		cut()
	}
	b.Logf("%d flushes; rows per flush: %d in all, %d events, %d score_changes, %d score_causes, %d rank_changes",
		len(out), rows["all"]/len(out), rows["events"]/len(out), rows["score_changes"]/len(out),
		rows["score_causes"]/len(out), rows["rank_changes"]/len(out))
	return out
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
