package bench_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// Environment variables of the benchmark.
const (
	envEvents  = "GOVPULSE_BENCH_EVENTS"  // events of one replay (default 200,000)
	envFeeders = "GOVPULSE_BENCH_FEEDERS" // concurrent HTTP clients (default 8)
)

const (
	defaultEvents  = 200_000
	defaultFeeders = 8
	feedBatch      = 500              // events per request
	replayTimeout  = 10 * time.Minute // bounds one whole replay
)

// BenchmarkEndToEnd replays a synthetic stream through HTTP ingest, JetStream, the aggregator and
// ClickHouse: with the server's default sync interval, without and with the tables that explain
// every change (the aggregator's --explain, on by default), then with sync_interval: always. It
// prints the cost of the explanations: how much lower the end-to-end rate is with them. Right
// after the default replay ("sync=default") it measures JetStream alone on the same events
// ("ceiling": publishing and consuming them at once, see [ceiling]) and prints the ratio of the
// two rates ("end-to-end / JetStream ceiling = R").
// Run it with -benchtime=1x: one iteration is a whole replay.
func BenchmarkEndToEnd(b *testing.B) {
	n := benchkit.EnvPositive(b, envEvents, defaultEvents)
	feeders := benchkit.EnvPositive(b, envFeeders, defaultFeeders)
	chtest.Addr(b) // skip (or fail) early without a ClickHouse server
	evs := slices.Collect(scenario.Stream(scenario.StreamOptions{Events: n}))
	rates := map[bool]float64{} // end-to-end events/s with sync=default, by explain
	var ceilingRate float64     // JetStream alone: publish and consume
	for _, run := range []struct {
		name    string
		always  bool
		explain bool
		ceiling bool
	}{
		{name: "sync=default,explain=off"},
		{name: "sync=default", explain: true},
		{name: "ceiling", ceiling: true},
		{name: "sync=always", always: true, explain: true},
	} {
		if run.ceiling {
			b.Run(run.name, func(b *testing.B) {
				var events int
				var total time.Duration
				for range b.N {
					c := ceiling(b, evs, feeders)
					b.Logf("ceiling: %s", c)
					fmt.Printf("end-to-end JetStream ceiling: %s\n", c)
					events += c.events
					total += c.total
				}
				ceilingRate = rate(events, total)
				b.ReportMetric(ceilingRate, "events/s")
				b.ReportMetric(0, "ns/op")
			})
			continue
		}
		b.Run(run.name, func(b *testing.B) {
			var sum result
			for range b.N {
				r := replay(b, evs, feeders, run.always, run.explain)
				b.Logf("%s: %s", run.name, r)
				fmt.Printf("end-to-end %s: %s\n", run.name, r)
				sum.add(r)
			}
			sum.report(b)
			if !run.always && sum.runs > 0 {
				rates[run.explain] = rate(sum.events, sum.total)
			}
		})
	}
	if off, on := rates[false], rates[true]; off > 0 && on > 0 {
		fmt.Printf("end-to-end explain cost: %.1f%% (%.0f events/s with score_changes, score_causes and rank_changes, %.0f without; budget 10%%)\n",
			100*(off-on)/off, on, off)
	}
	if on := rates[true]; on > 0 && ceilingRate > 0 {
		fmt.Printf("end-to-end / JetStream ceiling = %.2f (%.0f events/s end to end, %.0f publishing and consuming the same events; target at least 0.80)\n",
			on/ceilingRate, on, ceilingRate)
	}
}

// BenchmarkEndToEndUnits runs the replay of BenchmarkEndToEnd (default sync interval, the
// aggregator's defaults, explanations on) over the 32 provincial units ("units=32") and over every
// unit of the hierarchy ("units=all", scenario.StreamOptions.AllUnits), one after the other in the
// same invocation, and prints the ratio of the two end-to-end rates (all units to 32). Run it with
// -benchtime=1x: one iteration is a whole replay.
func BenchmarkEndToEndUnits(b *testing.B) {
	n := benchkit.EnvPositive(b, envEvents, defaultEvents)
	feeders := benchkit.EnvPositive(b, envFeeders, defaultFeeders)
	chtest.Addr(b)              // skip (or fail) early without a ClickHouse server
	rates := map[bool]float64{} // end-to-end events/s by AllUnits
	for _, all := range []bool{false, true} {
		name := "units=32"
		if all {
			name = "units=all"
		}
		evs := slices.Collect(scenario.Stream(scenario.StreamOptions{Events: n, AllUnits: all}))
		b.Run(name, func(b *testing.B) {
			var sum result
			for range b.N {
				r := replay(b, evs, feeders, false, true)
				b.Logf("%s: %s", name, r)
				fmt.Printf("end-to-end %s: %s\n", name, r)
				sum.add(r)
			}
			sum.report(b)
			if sum.runs > 0 {
				rates[all] = rate(sum.events, sum.total)
			}
		})
	}
	if r32, rall := rates[false], rates[true]; r32 > 0 && rall > 0 {
		fmt.Printf("end-to-end units: all units / 32 units = %.2f (%.0f events/s over %d units, %.0f over 32)\n",
			rall/r32, rall, len(events.Units()), r32)
	}
}

// result holds the figures of one replay.
type result struct {
	events  int           // events stored by ingest
	retries int           // requests repeated after a 503 or 429
	feeders int           // concurrent clients
	ingest  time.Duration // first request to the last 202
	total   time.Duration // first request to the score of the last event stored
	lastLag time.Duration // last 202 to the score of the last event stored
	flushes int           // aggregator writes to ClickHouse
	writing time.Duration // total time of those writes
	cpu     time.Duration // CPU of this process (ingest, NATS, the aggregator, the feeders) over total
	runs    int           // replays summed (report averages)
}

func (r result) String() string {
	return fmt.Sprintf("%d events, %d feeders: %.0f events/s end to end (%s), ingest %.0f events/s (%s), "+
		"last 202 to score stored %.0f ms, %d ClickHouse writes taking %s, %d requests retried, "+
		"in-process CPU %.1f s (%.1f µs/event)",
		r.events, r.feeders, rate(r.events, r.total), r.total.Round(time.Millisecond),
		rate(r.events, r.ingest), r.ingest.Round(time.Millisecond),
		ms(r.lastLag), r.flushes, r.writing.Round(time.Millisecond), r.retries,
		r.cpu.Seconds(), perEvent(r.cpu, r.events))
}

// perEvent returns d per event in microseconds.
func perEvent(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

func (r *result) add(o result) {
	r.events += o.events
	r.ingest += o.ingest
	r.total += o.total
	r.lastLag += o.lastLag
	r.flushes += o.flushes
	r.retries += o.retries
	r.writing += o.writing
	r.cpu += o.cpu
	r.runs++
}

// report sets the benchmark's metrics to the averages of the replays summed in r.
func (r result) report(b *testing.B) {
	if r.runs == 0 {
		return
	}
	b.ReportMetric(rate(r.events, r.total), "events/s")
	b.ReportMetric(rate(r.events, r.ingest), "ingest_events/s")
	b.ReportMetric(ms(r.lastLag)/float64(r.runs), "ms_last_to_stored")
	b.ReportMetric(float64(r.flushes)/float64(r.runs), "ch_writes")
	b.ReportMetric(ms(r.writing)/float64(r.runs), "ms_ch_writing")
	b.ReportMetric(0, "ns/op") // one op is a whole replay: its time says nothing by itself
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// replay runs one end-to-end replay of evs on fresh servers (a new JetStream store and a new
// ClickHouse database) and returns its figures.
func replay(b *testing.B, evs []*events.Event, feeders int, syncAlways, explain bool) result {
	b.StopTimer()
	ctx, cancel := context.WithTimeout(b.Context(), replayTimeout)
	defer cancel()

	p := startPipeline(ctx, b, syncAlways, feeders, aggregate.Config{NoExplain: !explain})
	defer p.stop()
	return p.feed(ctx, b, evs, feeders, 0)
}

// feed posts evs to the running pipeline p from feeders concurrent clients, waits until the
// aggregator has stored the score of the last event, checks what ClickHouse holds and returns the
// replay's figures. before is the number of events the stream and the database hold already (from
// earlier replays on the same pipeline); evs must all be new to both.
func (p *pipeline) feed(ctx context.Context, b *testing.B, evs []*events.Event, feeders, before int) result {
	b.StopTimer()
	ingestJS, conn, db, rec := p.ingestJS, p.conn, p.db, p.rec
	client, url := p.client, p.url
	writesBefore, writingBefore := rec.writes()

	// Feed: request k carries events [k*batch, (k+1)*batch); feeder f sends the requests k with
	// k mod feeders = f, so the clients advance through event time together.
	sums := make([]ctl.FeedSummary, feeders)
	done := make([]time.Time, feeders)
	b.StartTimer()
	start, cpu0 := time.Now(), benchkit.ProcessCPU(b)
	g, gctx := errgroup.WithContext(ctx)
	for f := range feeders {
		g.Go(func() error {
			sum, err := ctl.Feed(gctx, share(evs, f, feeders), ctl.FeedOptions{URL: url, Batch: feedBatch, Client: client})
			sums[f], done[f] = sum, time.Now()
			if err != nil {
				return fmt.Errorf("feeder %d: %w (%s)", f, err, sum)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	lastAccepted := slices.MaxFunc(done, time.Time.Compare)
	var fed ctl.FeedSummary
	for _, s := range sums {
		fed.Events += s.Events
		fed.Accepted += s.Accepted
		fed.Duplicates += s.Duplicates
		fed.Rejected += s.Rejected
		fed.Requests += s.Requests
		fed.Retries += s.Retries
		fed.Errors = append(fed.Errors, s.Errors...)
	}
	// A request retried after a 503 (acknowledgements slower than the publish timeout) finds the
	// events an earlier attempt stored as duplicates: for events new to the stream both count as stored.
	if fed.Accepted+fed.Duplicates != len(evs) || fed.Rejected != 0 {
		b.Fatalf("ingest stored %d of %d events: %s; errors %v", fed.Accepted+fed.Duplicates, len(evs), fed, fed.Errors)
	}

	// The score of the last event is stored when a write of event rows covers the stream's last
	// sequence: the aggregator writes a flush's scores first, then its event rows with the rest.
	st, err := ingestJS.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	last := info.State.LastSeq
	if info.State.Msgs != uint64(before+len(evs)) {
		b.Fatalf("stream %s holds %d messages, want %d", natsjs.DefaultEventsStream, info.State.Msgs, before+len(evs))
	}
	var storedAt time.Time
	testwait.For(b, 5*time.Minute, 2*time.Millisecond, func() error {
		if err := ctx.Err(); err != nil {
			return testwait.Abort(fmt.Errorf("waiting for stream sequence %d stored: %w", last, err))
		}
		m, ok := rec.reached(last)
		if !ok {
			return fmt.Errorf("stream sequence %d not stored", last)
		}
		storedAt = m.at
		return nil
	})
	if p.explain {
		// Under load the aggregator may write the explanations of the last batches after their
		// events (aggregate.Config.ExplainDelay): the replay ends when they are stored too.
		testwait.For(b, 5*time.Minute, 2*time.Millisecond, func() error {
			if err := ctx.Err(); err != nil {
				return testwait.Abort(fmt.Errorf("waiting for the explanations: %w", err))
			}
			m, ok := rec.explainedAt()
			if !ok {
				return errors.New("the newest score is not explained")
			}
			if m.at.After(storedAt) {
				storedAt = m.at
			}
			return nil
		})
	}
	b.StopTimer()
	cpu := benchkit.ProcessCPU(b) - cpu0

	writes, writing := rec.writes()
	r := result{
		events:  len(evs),
		retries: fed.Retries,
		feeders: feeders,
		ingest:  lastAccepted.Sub(start),
		total:   storedAt.Sub(start),
		lastLag: storedAt.Sub(lastAccepted),
		flushes: writes - writesBefore,
		writing: writing - writingBefore,
		cpu:     cpu,
	}
	checkStored(ctx, b, conn, db, before+len(evs), last)
	return r
}

// share yields the events of the requests k with k mod n = f.
func share(evs []*events.Event, f, n int) iter.Seq[*events.Event] {
	return func(yield func(*events.Event) bool) {
		for lo := f * feedBatch; lo < len(evs); lo += n * feedBatch {
			for _, ev := range evs[lo:min(lo+feedBatch, len(evs))] {
				if !yield(ev) {
					return
				}
			}
		}
	}
}

// checkStored verifies that ClickHouse holds every event (at least once: a retried write may
// repeat rows until the table merges them) and that no score claims a version beyond the stream.
func checkStored(ctx context.Context, b *testing.B, conn driver.Conn, db string, want int, last uint64) {
	b.Helper()
	var rows, ids, maxSeq, maxVersion uint64
	q := "SELECT count(), uniqExact(id), max(stream_seq) FROM `" + db + "`.events"
	if err := conn.QueryRow(ctx, q).Scan(&rows, &ids, &maxSeq); err != nil {
		b.Fatalf("count events: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM `"+db+"`.method_scores").Scan(&maxVersion); err != nil {
		b.Fatalf("max score version: %v", err)
	}
	if ids != uint64(want) || rows < ids || maxSeq != last || maxVersion == 0 || maxVersion > last {
		b.Fatalf("ClickHouse holds %d event rows, %d ids, last sequence %d, score version %d; want %d ids, last sequence %d",
			rows, ids, maxSeq, maxVersion, want, last)
	}
}

// recorder is the aggregator's store: it writes through to ClickHouse and records, after each
// successful write, the highest stream sequence of its event rows and when the write returned; for
// a write of scores alone (the first of a flush's two), the highest version of its scores.
type recorder struct {
	store *chstore.Store

	mu        sync.Mutex
	marks     []mark        // writes of event rows (every flush's second), in write order; seq never falls
	scored    []mark        // writes of scores alone, in write order; seq never falls
	explained []mark        // writes of score_causes rows (seq: their highest version), in write order; seq never falls
	writing   time.Duration // total time of successful writes
}

// mark is one successful write: the highest stream sequence stored so far, when the write
// returned and how long it took.
type mark struct {
	seq  uint64
	at   time.Time
	took time.Duration
}

// WriteIsolated implements the aggregator's batch writer.
func (r *recorder) WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error) {
	start := time.Now()
	refused, err := r.store.WriteIsolated(ctx, b, schemaFaults)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(b.ScoreCauses) > 0 {
		var hi uint64
		for i := range b.ScoreCauses {
			hi = max(hi, b.ScoreCauses[i].Version)
		}
		if n := len(r.explained); n > 0 {
			hi = max(hi, r.explained[n-1].seq)
		}
		r.explained = append(r.explained, mark{seq: hi, at: now, took: now.Sub(start)})
		if len(b.Events) == 0 && len(b.MethodScores) == 0 {
			// Explanations written alone (held under load): not a flush of events.
			r.writing += now.Sub(start)
			return refused, nil
		}
	}
	marks := &r.marks
	var hi uint64
	for i := range b.Events {
		hi = max(hi, b.Events[i].StreamSeq)
	}
	if len(b.Events) == 0 && len(b.MethodScores) > 0 {
		marks = &r.scored
		for i := range b.MethodScores {
			hi = max(hi, b.MethodScores[i].Version)
		}
	}
	if n := len(*marks); n > 0 {
		hi = max(hi, (*marks)[n-1].seq)
	}
	*marks = append(*marks, mark{seq: hi, at: now, took: now.Sub(start)})
	r.writing += now.Sub(start)
	return refused, nil
}

// reached returns the first write of event rows that covered seq, if one has.
func (r *recorder) reached(seq uint64) (mark, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return covering(r.marks, seq)
}

// explainedAt returns the first write of score_causes rows whose versions reached that of the
// newest score stored, if one has; ok is true too when no score is stored.
func (r *recorder) explainedAt() (mark, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.scored)
	if n == 0 {
		return mark{}, true
	}
	return covering(r.explained, r.scored[n-1].seq)
}

// scoredAt returns the first write of scores alone whose versions reached seq, if one has.
func (r *recorder) scoredAt(seq uint64) (mark, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return covering(r.scored, seq)
}

// covering returns the first of marks whose seq is at least seq.
func covering(marks []mark, seq uint64) (mark, bool) {
	i, _ := slices.BinarySearchFunc(marks, seq, func(m mark, s uint64) int {
		switch {
		case m.seq < s:
			return -1
		case m.seq > s:
			return 1
		}
		return 0
	})
	if i == len(marks) {
		return mark{}, false
	}
	return marks[i], true
}

// writes returns the number of successful writes of event rows (one per flush) and the total time
// of all writes.
func (r *recorder) writes() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.marks), r.writing
}

// pipeline is one running pipeline on fresh servers: an in-process JetStream server (file
// storage), a fresh ClickHouse database with the migrations applied, the real aggregator (default
// settings) writing through a recorder, and the real ingest server on a loopback HTTP listener.
// Ingest and the aggregator have NATS connections of their own, as separate processes would.
type pipeline struct {
	srv      *server.Server
	ingestJS jetstream.JetStream
	conn     driver.Conn
	db       string
	rec      *recorder
	explain  bool         // the aggregator writes the explanation tables
	url      string       // base URL of ingest
	client   *http.Client // for the feeders
	stop     func()       // stops ingest and the aggregator
}

// startPipeline starts a pipeline (see [pipeline]) whose HTTP client allows feeders concurrent
// connections, with an aggregator of cfg. syncAlways makes JetStream sync every write (sync_interval: always).
func startPipeline(ctx context.Context, b *testing.B, syncAlways bool, feeders int, cfg aggregate.Config) *pipeline {
	b.Helper()
	srv := startNATS(b, syncAlways)
	ingestJS := connect(b, srv, "govpulse-bench-ingest", jetstream.WithPublishAsyncTimeout(ingest.DefaultPublishTimeout+time.Second))
	aggJS := connect(b, srv, "govpulse-bench-aggregate")
	if err := natsjs.EnsureStreams(ctx, ingestJS, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		b.Fatal(err)
	}

	conn, db := chtest.Open(b)
	store := chstore.New(conn, db, nil)
	if err := store.Migrate(ctx); err != nil {
		b.Fatalf("migrate: %v", err)
	}
	rec := &recorder{store: store}

	svc, err := aggregate.New(cfg, aggJS, rec, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	stopAggregator := testwait.Run(b, "aggregator", svc.Run)
	testwait.For(b, 30*time.Second, 2*time.Millisecond, svc.Ready)

	// Every feeder comes from the same loopback address: the per-client rate limit (a production
	// safeguard against a runaway producer) is off, so that the pipeline's own capacity is measured.
	isrv, err := ingest.New(ingest.Config{RateLimit: -1}, ingestJS, nil, nil)
	if err != nil {
		stopAggregator()
		b.Fatal(err)
	}
	hs := httptest.NewServer(isrv.Handler())
	client := &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: feeders, MaxConnsPerHost: feeders},
	}
	return &pipeline{
		srv: srv, ingestJS: ingestJS, conn: conn, db: db, rec: rec, explain: !cfg.NoExplain, url: hs.URL, client: client,
		stop: func() {
			client.CloseIdleConnections()
			hs.Close()
			stopAggregator()
		},
	}
}

// startNATS runs a JetStream server with file storage in a fresh temporary folder and shuts it
// down at the end of the benchmark. syncAlways makes it sync every write to disk
// (sync_interval: always).
func startNATS(b *testing.B, syncAlways bool) *server.Server {
	b.Helper()
	opts := natstest.Options(b)
	opts.SyncAlways = syncAlways
	return natstest.StartOptions(b, opts)
}

// connect opens a NATS connection named name to srv, closed at the end of the benchmark.
func connect(b *testing.B, srv *server.Server, name string, opts ...jetstream.JetStreamOpt) jetstream.JetStream {
	b.Helper()
	nc, _ := natstest.Connect(b, srv.ClientURL(), nats.Name(name))
	js, err := jetstream.New(nc, opts...)
	if err != nil {
		b.Fatalf("jetstream: %v", err)
	}
	return js
}
