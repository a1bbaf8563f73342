package aggregate

import (
	"fmt"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scenario"
)

// BenchmarkFlushWrite measures the ClickHouse write path of the flush alone: the synthetic stream
// of the end-to-end replay applied to an engine as the reader applies it, cut into flushes of the
// replay's typical size, each flush's rows written with Store.WriteIsolated as the flusher writes
// them, into two fresh databases: without and with the tables that explain every change,
// alternately flush by flush, so that both see the same load of a shared machine; and into a
// third, with the explanations of GOVPULSE_BENCH_EXPLAIN_FLUSHES flushes (default 6, about what
// Config.ExplainDelay holds under load) written together with the last of them, as the flusher
// writes them under load (heldExplanations). It prints the explanations' share of the write time
// both ways; the engine's time is not measured. GOVPULSE_BENCH_EVENTS (default 60,000) and
// GOVPULSE_BENCH_FLUSH (default 3,500 events per flush) size it.
func BenchmarkFlushWrite(b *testing.B) {
	n := benchkit.EnvPositive(b, "GOVPULSE_BENCH_EVENTS", 60_000)
	per := benchkit.EnvPositive(b, "GOVPULSE_BENCH_FLUSH", 3_500)
	together := benchkit.EnvPositive(b, "GOVPULSE_BENCH_EXPLAIN_FLUSHES", 6)
	const (
		off  = "explain off"
		on   = "explain on"
		held = "explain held"
	)
	withExplain := flushBatches(b, n, per, true)
	batches := map[string][]chstore.Batch{off: flushBatches(b, n, per, false), on: withExplain, held: make([]chstore.Batch, len(withExplain))}
	var h heldExplanations
	for i, batch := range withExplain {
		own, rest := splitExplanations(batch)
		h.add(own, uint64(i))
		if (i+1)%together == 0 || i == len(withExplain)-1 {
			rest = withExplanations(rest, h.take())
		}
		batches[held][i] = rest
	}
	kinds := []string{off, on, held}
	took := map[string]time.Duration{}
	flushes := 0
	for b.Loop() {
		stores := map[string]*chstore.Store{}
		for _, kind := range kinds {
			conn, database := chtest.Open(b)
			stores[kind] = chstore.New(conn, database, nil)
			if err := stores[kind].Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		for i := range batches[off] {
			for k := range kinds {
				kind := kinds[(i+k)%len(kinds)] // each goes first in turn
				start := time.Now()
				refused, err := stores[kind].WriteIsolated(b.Context(), batches[kind][i], false)
				if err != nil || len(refused) > 0 {
					b.Fatalf("write: %v, %d refused", err, len(refused))
				}
				took[kind] += time.Since(start)
			}
			flushes++
		}
	}
	per3 := map[string]time.Duration{}
	for _, kind := range kinds {
		per3[kind] = took[kind] / time.Duration(flushes)
	}
	b.ReportMetric(float64(per3[off].Microseconds())/1e3, "ms/flush-explain-off")
	b.ReportMetric(float64(per3[on].Microseconds())/1e3, "ms/flush-explain-on")
	b.ReportMetric(float64(per3[held].Microseconds())/1e3, "ms/flush-explain-held")
	fmt.Printf("flush write explain cost: %.2fx the write time (%v per flush with the explanations, %v without)\n",
		float64(per3[on])/float64(per3[off]), per3[on].Round(time.Millisecond), per3[off].Round(time.Millisecond))
	fmt.Printf("flush write explain cost, those of %d flushes written together: %.2fx the write time (%v per flush)\n",
		together, float64(per3[held])/float64(per3[off]), per3[held].Round(time.Millisecond))
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
