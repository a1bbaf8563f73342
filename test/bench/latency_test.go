package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// Environment variables of the latency benchmark.
const (
	envLatencyRate    = "GOVPULSE_LATENCY_RATE"    // events per second of the paced run (default 5,000)
	envLatencySeconds = "GOVPULSE_LATENCY_SECONDS" // length of the paced run in seconds (default 20)
	envLatencyBatch   = "GOVPULSE_LATENCY_BATCH"   // events per request of the paced run (default 50)
	envLatencyLone    = "GOVPULSE_LATENCY_LONE"    // lone events of the idle run (default 50)
)

const (
	defaultLatencyRate    = 5_000
	defaultLatencySeconds = 20
	defaultLatencyBatch   = 50
	defaultLatencyLone    = 50
	latencyWorkers        = 16                     // concurrent HTTP clients of the paced run
	loneWarmup            = 10_000                 // events fed before the lone ones
	loneTimeout           = 5 * time.Second        // longest wait for a lone event's score
	loneIdle              = 300 * time.Millisecond // quiet time before each lone event
)

// BenchmarkLatency measures the time from ingest's 202 for an event to the first score of the
// event's unit published on NATS whose version (the stream sequence of the event that last
// changed it) covers the event: paced at GOVPULSE_LATENCY_RATE events/s, and for lone events on
// an otherwise idle pipeline. Run it with -benchtime=1x: one iteration is a whole run.
func BenchmarkLatency(b *testing.B) {
	b.Run(fmt.Sprintf("rate=%d", benchkit.EnvPositive(b, envLatencyRate, defaultLatencyRate)), func(b *testing.B) {
		for range b.N {
			paced(b)
		}
	})
	b.Run("lone", func(b *testing.B) {
		for range b.N {
			lone(b)
		}
	})
}

// scoreWatch records the scores published on NATS: when each arrived and the highest version
// (stream sequence) published so far. Versions are stream sequences and the aggregator publishes
// its flushes in stream order, so the first score with a version of at least s marks the
// publication of the flush that carried event s (or, when no event after s in that flush changed
// a score, of a later one: the measure never flatters).
type scoreWatch struct {
	mu   sync.Mutex
	seen []seenScore // in arrival order; version is the highest so far, so it never falls
	bad  error
}

type seenScore struct {
	version uint64
	at      time.Time
}

// watchScores subscribes to the score subjects on a connection of its own (as the site does).
func watchScores(b *testing.B, p *pipeline) *scoreWatch {
	b.Helper()
	w := &scoreWatch{}
	nc, _ := natstest.Connect(b, p.srv.ClientURL(), nats.Name("govpulse-bench-scores"))
	_, err := nc.Subscribe(natsjs.Names{}.WithDefaults().ScoreSubjects(), func(m *nats.Msg) {
		at := time.Now()
		var sc struct {
			Version uint64 `json:"version"`
		}
		err := json.Unmarshal(m.Data, &sc)
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			w.bad = errors.Join(w.bad, fmt.Errorf("score on %s: %w", m.Subject, err))
			return
		}
		if n := len(w.seen); n > 0 {
			sc.Version = max(sc.Version, w.seen[n-1].version)
		}
		w.seen = append(w.seen, seenScore{version: sc.Version, at: at})
	})
	if err != nil {
		b.Fatalf("subscribe to scores: %v", err)
	}
	if err := nc.Flush(); err != nil {
		b.Fatalf("flush the subscription: %v", err)
	}
	return w
}

// covered returns when the first score with a version of at least seq arrived.
func (w *scoreWatch) covered(seq uint64) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen
	i := sort.Search(len(s), func(i int) bool { return s[i].version >= seq })
	if i == len(s) {
		return time.Time{}, false
	}
	return s[i].at, true
}

// last returns the arrival of the latest score.
func (w *scoreWatch) last() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.seen); n > 0 {
		return w.seen[n-1].at
	}
	return time.Time{}
}

// latencies summarises delays: quantiles in milliseconds and how many events had no score.
type latencies struct {
	delays  []time.Duration
	noScore int
}

func (l latencies) quantile(q float64) time.Duration {
	if len(l.delays) == 0 {
		return 0
	}
	s := slices.Clone(l.delays)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func (l latencies) String() string {
	return fmt.Sprintf("%d events: 202 to score published p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d without a score",
		len(l.delays), ms(l.quantile(0.50)), ms(l.quantile(0.99)), ms(l.quantile(1)), l.noScore)
}

func (l latencies) report(b *testing.B) {
	b.ReportMetric(ms(l.quantile(0.50)), "p50-ms")
	b.ReportMetric(ms(l.quantile(0.99)), "p99-ms")
	b.ReportMetric(ms(l.quantile(1)), "max-ms")
	b.ReportMetric(float64(l.noScore), "no-score")
	b.ReportMetric(0, "ns/op") // one op is a whole run
}

// postEvents sends evs in one request and returns when the 202 arrived.
func postEvents(ctx context.Context, p *pipeline, evs []*events.Event) (time.Time, error) {
	body := []byte{'['}
	for i, ev := range evs {
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = ev.AppendJSON(body); err != nil {
			return time.Time{}, fmt.Errorf("encode %s: %w", ev.ID, err)
		}
	}
	body = append(body, ']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	at := time.Now()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return at, fmt.Errorf("ingest answered %s: %s", resp.Status, msg)
	}
	return at, nil
}

// sequences maps the Nats-Msg-Id of every message of the EVENTS stream to its sequence.
func sequences(ctx context.Context, b *testing.B, js jetstream.JetStream) map[string]uint64 {
	b.Helper()
	st, err := js.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	seqs := make(map[string]uint64, info.State.Msgs)
	for uint64(len(seqs)) < info.State.Msgs {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				b.Fatal(err)
			}
			seqs[m.Headers().Get(jetstream.MsgIDHeader)] = md.Sequence.Stream
		}
		if err := batch.Error(); err != nil {
			b.Fatal(err)
		}
	}
	return seqs
}

// paced feeds events at a steady rate (requests of a fixed size, each sent on time by one of
// latencyWorkers clients) and measures each event's delay from its request's 202 to its score.
func paced(b *testing.B) {
	b.StopTimer()
	perSec := benchkit.EnvPositive(b, envLatencyRate, defaultLatencyRate)
	perReq := benchkit.EnvPositive(b, envLatencyBatch, defaultLatencyBatch)
	n := perSec * benchkit.EnvPositive(b, envLatencySeconds, defaultLatencySeconds)
	ctx, cancel := context.WithTimeout(b.Context(), replayTimeout)
	defer cancel()
	evs := slices.Collect(scenario.Stream(scenario.StreamOptions{Events: n}))
	p := startPipeline(ctx, b, false, latencyWorkers, aggregate.Config{})
	defer p.stop()
	w := watchScores(b, p)

	accepted := make([]time.Time, len(evs)) // the 202 of each event's request
	reqs := (len(evs) + perReq - 1) / perReq
	jobs := make(chan int, reqs)
	errs := make(chan error, latencyWorkers)
	var wg sync.WaitGroup
	b.StartTimer()
	for range latencyWorkers {
		wg.Go(func() {
			for k := range jobs {
				lo, hi := k*perReq, min((k+1)*perReq, len(evs))
				at, err := postEvents(ctx, p, evs[lo:hi])
				if err != nil {
					errs <- fmt.Errorf("request %d: %w", k, err)
					cancel()
					return
				}
				for i := lo; i < hi; i++ {
					accepted[i] = at
				}
			}
		})
	}
	start := time.Now()
	late := 0
	for k := range reqs {
		due := start.Add(time.Duration(k*perReq) * time.Second / time.Duration(perSec))
		if d := time.Until(due); d > 0 {
			// The schedule itself, not a wait for a condition.
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		} else if d < -10*time.Millisecond {
			late++
		}
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	sent := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	// Wait until the last event is stored (its flush publishes right after the write), then
	// until no score has arrived for a second.
	st, err := p.ingestJS.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	testwait.For(b, 5*time.Minute, 10*time.Millisecond, func() error {
		if _, ok := p.rec.reached(info.State.LastSeq); !ok {
			return fmt.Errorf("stream sequence %d not stored", info.State.LastSeq)
		}
		if time.Since(w.last()) < time.Second {
			return errors.New("scores still arriving")
		}
		return nil
	})
	b.StopTimer()
	if w.bad != nil {
		b.Fatal(w.bad)
	}

	seqs := sequences(ctx, b, p.ingestJS)
	var l latencies
	for i, ev := range evs {
		seq, ok := seqs[ev.Key().String()]
		if !ok {
			b.Fatalf("event %s is not in the stream", ev.Key())
		}
		at, ok := w.covered(seq)
		if !ok {
			l.noScore++
			continue
		}
		l.delays = append(l.delays, at.Sub(accepted[i]))
	}
	fmt.Printf("latency rate=%d: %s; sent in %s (%.0f events/s offered, %d requests late by more than 10 ms)\n",
		perSec, l, sent.Round(time.Millisecond), rate(len(evs), sent), late)
	l.report(b)
}

// lone feeds a warm-up, then one event at a time after a quiet period, and measures each one's
// delay from its 202 to its score.
func lone(b *testing.B) {
	b.StopTimer()
	count := benchkit.EnvPositive(b, envLatencyLone, defaultLatencyLone)
	ctx, cancel := context.WithTimeout(b.Context(), replayTimeout)
	defer cancel()
	// The warm-up gives every unit its portal and some ratings; the lone events are the ratings
	// that follow in the same stream, so that each one changes its unit's score.
	all := slices.Collect(scenario.Stream(scenario.StreamOptions{Events: loneWarmup + 50*count}))
	warm := all[:loneWarmup]
	var ratings []*events.Event
	for _, ev := range all[loneWarmup:] {
		if ev.Type == events.FeedbackRated && len(ratings) < count {
			ratings = append(ratings, ev)
		}
	}
	if len(ratings) < count {
		b.Fatalf("%d ratings after the warm-up, want %d", len(ratings), count)
	}
	p := startPipeline(ctx, b, false, 1, aggregate.Config{})
	defer p.stop()
	w := watchScores(b, p)
	for lo := 0; lo < len(warm); lo += feedBatch {
		if _, err := postEvents(ctx, p, warm[lo:min(lo+feedBatch, len(warm))]); err != nil {
			b.Fatal(err)
		}
	}
	st, err := p.ingestJS.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		b.Fatal(err)
	}

	var l, scoreStored, scoreWriting, stored, writing latencies
	type sent struct {
		seq uint64
		at  time.Time // its 202
	}
	var lones []sent
	// idle waits until nothing has been read or written for loneIdle. The aggregator publishes a
	// flush's scores before it writes the flush's other rows, so a quiet score subject is not
	// enough: the whole flush of the last event in the stream must be stored too.
	idle := func() {
		testwait.For(b, time.Minute, 10*time.Millisecond, func() error {
			info, err := st.Info(ctx)
			if err != nil {
				return err
			}
			m, ok := p.rec.reached(info.State.LastSeq)
			switch {
			case !ok:
				return fmt.Errorf("sequence %d not stored", info.State.LastSeq)
			case time.Since(w.last()) < loneIdle || time.Since(m.at) < loneIdle:
				return errors.New("scores still arriving")
			}
			return nil
		})
	}
	for _, ev := range ratings {
		idle()
		b.StartTimer()
		at, err := postEvents(ctx, p, []*events.Event{ev})
		if err != nil {
			b.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		seq := info.State.LastSeq // one client, one event at a time: the event just stored
		var scored time.Time
		wctx, wcancel := context.WithTimeout(ctx, loneTimeout)
		_ = testwait.Until(wctx, time.Millisecond, func() error {
			t, ok := w.covered(seq)
			if !ok {
				return fmt.Errorf("sequence %d has no score", seq)
			}
			scored = t
			return nil
		})
		wcancel()
		b.StopTimer()
		if scored.IsZero() {
			l.noScore++
			continue
		}
		l.delays = append(l.delays, scored.Sub(at))
		lones = append(lones, sent{seq: seq, at: at})
	}
	idle()
	for _, e := range lones {
		if m, ok := p.rec.scoredAt(e.seq); ok {
			scoreStored.delays = append(scoreStored.delays, m.at.Sub(e.at))
			scoreWriting.delays = append(scoreWriting.delays, m.took)
		}
		if m, ok := p.rec.reached(e.seq); ok {
			stored.delays = append(stored.delays, m.at.Sub(e.at))
			writing.delays = append(writing.delays, m.took)
		}
	}
	if w.bad != nil {
		b.Fatal(w.bad)
	}
	fmt.Printf("latency lone: %s; 202 to its score rows stored in ClickHouse p50 %.1f ms, p99 %.1f ms, of which their write p50 %.1f ms, p99 %.1f ms; "+
		"202 to the whole flush stored p50 %.1f ms, p99 %.1f ms, of which the write of the other rows p50 %.1f ms, p99 %.1f ms\n",
		l, ms(scoreStored.quantile(0.5)), ms(scoreStored.quantile(0.99)), ms(scoreWriting.quantile(0.5)), ms(scoreWriting.quantile(0.99)),
		ms(stored.quantile(0.5)), ms(stored.quantile(0.99)), ms(writing.quantile(0.5)), ms(writing.quantile(0.99)))
	l.report(b)
}
