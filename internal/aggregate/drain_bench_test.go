package aggregate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/testwait"
)

// discardWrites is a batchWriter that stores nothing and accepts every row, so that a benchmark
// measures the aggregator without ClickHouse.
type discardWrites struct{}

func (discardWrites) WriteIsolated(context.Context, chstore.Batch, bool) ([]chstore.Refused, error) {
	return nil, nil
}

// BenchmarkDrain measures the aggregator's own work on a backlog, as `make bench-peer` drains it:
// the first GOVPULSE_BENCH_EVENTS events (default 50,000) of the synthetic stream, published as
// ingest publishes them (subject, Nats-Msg-Id, event-time header) into the EVENTS stream of an
// embedded JetStream server, then read by a fresh service with the default configuration from
// the start of the stream until it has read them all: decoding, the engine, the batches' rows,
// the publications and checkpoints on NATS. The rows go nowhere (no ClickHouse). Each iteration
// is one drain of a fresh server; it reports the wall time and the process's CPU (the embedded
// server's included, the same for any code of the aggregator) per event.
func BenchmarkDrain(b *testing.B) {
	n := benchkit.EnvPositive(b, "GOVPULSE_BENCH_EVENTS", 50_000)
	msgs := drainMessages(b, n)
	var wall, cpu time.Duration
	b.StopTimer()
	for range b.N {
		url, _ := natstest.Start(b)
		_, js := natstest.Connect(b, url)
		ctx := b.Context()
		if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
		svc, err := New(Config{}, js, discardWrites{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := benchkit.ProcessCPU(b)
		start := time.Now()
		b.StartTimer()
		stop := testwait.Run(b, "aggregator", svc.Run)
		testwait.For(b, 10*time.Minute, time.Millisecond, func() error {
			if p := svc.Progress(); p.Done < uint64(n) {
				return fmt.Errorf("read %d of %d messages", p.Done, n)
			}
			return nil
		})
		b.StopTimer()
		wall += time.Since(start)
		cpu += benchkit.ProcessCPU(b) - cpu0
		stop()
	}
	events := float64(n) * float64(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/events/1e3, "cpu-µs/event")
	b.ReportMetric(events/wall.Seconds(), "events/s")
}

// drainMessages returns the first n events of the synthetic stream as ingest publishes them.
func drainMessages(b *testing.B, n int) []*nats.Msg {
	b.Helper()
	base := natsjs.Names{}.WithDefaults().EventSubjectBase()
	msgs := make([]*nats.Msg, 0, n)
	for ev := range scenario.Stream(scenario.StreamOptions{Events: n}) {
		data, err := ev.AppendJSON(nil)
		if err != nil {
			b.Fatal(err)
		}
		m := nats.NewMsg(ev.Subject(base))
		m.Data = data
		m.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(ev.Time))
		m.Header.Set(jetstream.MsgIDHeader, ev.Key().String())
		msgs = append(msgs, m)
	}
	return msgs
}
