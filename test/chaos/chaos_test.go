package chaos_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

var (
	longFlag = flag.Bool("chaos.long", false, "run the long chaos test (100,000 events, 5 kills); also GOVPULSE_CHAOS_LONG=1")
	seedFlag = flag.Int64("chaos.seed", 0, "seed of the random choices (0: from the clock); also GOVPULSE_CHAOS_SEED")
)

// plan is the size of a chaos run.
type plan struct {
	name    string
	events  int
	step    time.Duration // event time per event: the stream spans events*step
	kills   int
	rate    int           // events per second fed to ingest
	timeout time.Duration // bound of the whole run
}

// plans returns the plan of the short run (every go test) or of the long one (make chaos).
func plans(long bool) plan {
	if long {
		return plan{name: "long", events: 100_000, step: 15 * time.Second, kills: 5, rate: 2000, timeout: 40 * time.Minute}
	}
	return plan{name: "short", events: 20_000, step: time.Minute, kills: 2, rate: 1000, timeout: 6 * time.Minute}
}

// Kinds of fault the schedule injects.
const (
	faultKill = iota
	faultClickHouse
	faultNATS
)

// fault is one scheduled fault: it happens once at least `at` events were sent.
type fault struct {
	kind int
	at   int64
}

// tally counts the faults that happened.
type tally struct {
	kills, clickhouseOutages, natsRestarts atomic.Int64
}

// TestChaos replays a synthetic stream through real processes (ingest, aggregate, a NATS server
// built from the nats-server module and a ClickHouse server of its own) while it kills the
// aggregator with SIGKILL at random moments, stops ClickHouse for a few seconds and restarts the
// NATS server. When everything is consumed it runs a second aggregator, uninterrupted, over the
// same stream into another database and requires latest_scores, latest_ranking and the per-region
// counts of events FINAL to be identical. It prints one line with what it did and the verdict.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs real servers for a minute or more")
	}
	requireClickHouse(t)
	p := plans(*longFlag || os.Getenv("GOVPULSE_CHAOS_LONG") == "1")
	seed := *seedFlag
	if s := os.Getenv("GOVPULSE_CHAOS_SEED"); seed == 0 && s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("GOVPULSE_CHAOS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_000
	}
	t.Logf("%s run, seed %d (repeat with -chaos.seed=%d)", p.name, seed, seed)

	h := newHarness(t) // builds the binaries first: a cold build does not count against the timeout
	ctx, cancel := context.WithTimeout(t.Context(), p.timeout)
	defer cancel()
	if err := h.clickhouse("start"); err != nil {
		t.Fatal(err)
	}
	if err := h.startNATS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.startIngest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.startChaosAggregate(); err != nil {
		t.Fatal(err)
	}

	shape := streamShape{
		Events: p.events, Step: p.step, Seed: seed,
		Delayed: 0.03, MaxDelay: 10 * 24 * time.Hour,
		ResendEvery: 1500, ResendMin: 20, ResendMax: 100, ResendDistance: 3 * p.rate,
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xfa017))
	faults := schedule(rng, p)
	var (
		sent, resent atomic.Int64
		done         tally
		sum          ctl.FeedSummary
		fed          = make(chan struct{})
	)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(fed)
		var err error
		sum, err = ctl.Feed(gctx, feedStream(shape, &sent, &resent), ctl.FeedOptions{
			URL: h.ingestURL(), Batch: 100, Rate: p.rate, MaxElapsed: 3 * time.Minute,
		})
		return err
	})
	g.Go(func() error { return h.inject(gctx, rng, faults, &sent, fed, &done) })
	if err := g.Wait(); err != nil {
		t.Fatalf("feeding with faults: %v (%s)", err, sum)
	}
	t.Logf("%s in %s; %d events resent; faults: %d kills, %d clickhouse outages, %d nats restarts",
		sum, time.Since(start).Round(time.Millisecond), resent.Load(),
		done.kills.Load(), done.clickhouseOutages.Load(), done.natsRestarts.Load())
	if sum.Rejected != 0 || sum.Accepted+sum.Duplicates != sum.Events {
		t.Fatalf("ingest did not take every event: %s; %v", sum, sum.Errors)
	}

	lastSeq, msgs := streamState(ctx, t, h.natsURL())
	conn, _, err := chstore.Dial(ctx, h.dsn("default"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// The chaos aggregator consumes the rest, then stops gracefully (final flush and checkpoint).
	if err := waitConsumed(ctx, conn, "govpulse", lastSeq, h.chaosAggregate()); err != nil {
		t.Fatalf("aggregator under test: %v", err)
	}
	if err := h.chaosAggregate().stop(time.Minute); err != nil {
		t.Fatalf("aggregator under test did not stop cleanly: %v", err)
	}
	aggLog := h.logPath("aggregate")
	t.Logf("aggregator under test consumed %d stream messages in %s: %d starts, %d from a checkpoint, "+
		"%d failed clickhouse writes, %d nats reconnects, %d consumer restarts",
		lastSeq, time.Since(start).Round(time.Millisecond), h.aggStarts, countLines(aggLog, `"restored checkpoint"`),
		countLines(aggLog, `"clickhouse write failed`), countLines(aggLog, `"msg":"reconnected"`),
		countLines(aggLog, `"consumer stopped`))

	// The uninterrupted run over the same stream.
	refStart := time.Now()
	ref, err := h.startReferenceAggregate()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitConsumed(ctx, conn, "govpulse_reference", lastSeq, ref); err != nil {
		t.Fatalf("uninterrupted aggregator: %v", err)
	}
	if err := ref.stop(time.Minute); err != nil {
		t.Fatalf("uninterrupted aggregator did not stop cleanly: %v", err)
	}
	t.Logf("uninterrupted aggregator consumed the stream in %s", time.Since(refStart).Round(time.Millisecond))

	got, err := readSnapshot(ctx, conn, "govpulse")
	if err != nil {
		t.Fatal(err)
	}
	want, err := readSnapshot(ctx, conn, "govpulse_reference")
	if err != nil {
		t.Fatal(err)
	}
	diff := firstDifference(got, want)
	if diff == "" && got.distinct() != uint64(p.events) {
		diff = fmt.Sprintf("events: %d distinct ids stored, %d fed", got.distinct(), p.events)
	}
	verdict := "identical"
	if diff != "" {
		verdict = "first difference: " + diff
	}
	fmt.Printf("chaos: seed=%d kills=%d clickhouse_outages=%d nats_restarts=%d events=%d stream_messages=%d %s\n",
		seed, done.kills.Load(), done.clickhouseOutages.Load(), done.natsRestarts.Load(), p.events, msgs, verdict)
	if diff != "" {
		t.Fatalf("the run with faults differs from the uninterrupted run (seed %d): %s", seed, diff)
	}
	if k := done.kills.Load(); k < int64(p.kills) || done.clickhouseOutages.Load() < 1 || done.natsRestarts.Load() < 1 {
		t.Fatalf("not every fault happened: %d kills, %d clickhouse outages, %d nats restarts",
			k, done.clickhouseOutages.Load(), done.natsRestarts.Load())
	}

	// The stream must have exercised what the faults are about: repeated ids that reached the
	// aggregator and user-experience events too late for their windows.
	late, err := countRows(ctx, conn, "SELECT count() FROM govpulse.late_events FINAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stream: %d messages, %d distinct events, %d too late", msgs, got.distinct(), late)
	if late == 0 {
		t.Error("no event was too late: the stream does not exercise the allowed lateness")
	}
	if msgs <= got.distinct() {
		t.Error("no duplicate id reached the stream: the stream does not exercise deduplication")
	}
}

// requireClickHouse skips the test when clickhouse-server is not installed, or fails it when
// servers are required (GOVPULSE_REQUIRE_SERVERS=1, as in make test).
func requireClickHouse(t *testing.T) {
	t.Helper()
	for _, name := range []string{"clickhouse-server", "clickhouse-client"} {
		if _, err := exec.LookPath(name); err == nil {
			continue
		}
		found := false
		for _, dir := range []string{"/usr/sbin/", "/usr/bin/"} {
			if st, err := os.Stat(dir + name); err == nil && st.Mode()&0o111 != 0 {
				found = true
			}
		}
		if !found {
			msg := name + " is not installed (deploy/clickhouse/clickhouse.sh install)"
			if os.Getenv("GOVPULSE_REQUIRE_SERVERS") == "1" {
				t.Fatal(msg + "; GOVPULSE_REQUIRE_SERVERS=1")
			}
			t.Skip(msg)
		}
	}
}

// schedule places the faults of plan p at random points of the feed: the span from 5% to 92% of
// the events is cut into one slot per fault, each fault lands at a random point of its own slot,
// and the kinds are shuffled over the slots.
func schedule(r *rand.Rand, p plan) []fault {
	kinds := []int{faultClickHouse, faultNATS}
	for range p.kills {
		kinds = append(kinds, faultKill)
	}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	const lo, hi = 0.05, 0.92
	width := (hi - lo) / float64(len(kinds))
	out := make([]fault, len(kinds))
	for i, k := range kinds {
		at := lo + (float64(i)+0.1+0.8*r.Float64())*width
		out[i] = fault{kind: k, at: int64(at * float64(p.events))}
	}
	return out
}

// inject runs the faults in order, each once the feeder has sent its number of events (or has
// finished): SIGKILL the aggregator and start it again, stop ClickHouse for 2 to 4 seconds, or
// restart the NATS server.
func (h *harness) inject(ctx context.Context, r *rand.Rand, faults []fault, sent *atomic.Int64, fed <-chan struct{}, done *tally) error {
	for _, f := range faults {
		err := testwait.Until(ctx, 10*time.Millisecond, func() error {
			select {
			case <-fed:
				return nil
			default:
			}
			if n := sent.Load(); n < f.at {
				return fmt.Errorf("%d events sent, the fault comes after %d", n, f.at)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("chaos: wait for the next fault: %w", err)
		}
		switch f.kind {
		case faultKill:
			// A random moment: the feed keeps running meanwhile.
			if err := pause(ctx, time.Duration(r.Int64N(int64(400*time.Millisecond)))); err != nil {
				return err
			}
			h.killAggregate()
			done.kills.Add(1)
			h.t.Logf("killed aggregate (SIGKILL) after %d events sent", sent.Load())
			if err := pause(ctx, time.Duration(r.Int64N(int64(300*time.Millisecond)))); err != nil {
				return err
			}
			if err := h.startChaosAggregate(); err != nil {
				return err
			}
		case faultClickHouse:
			if err := h.clickhouse("stop"); err != nil {
				return err
			}
			done.clickhouseOutages.Add(1)
			outage := 2*time.Second + time.Duration(r.Int64N(int64(2*time.Second)))
			h.t.Logf("stopped clickhouse after %d events sent, for %s", sent.Load(), outage)
			if err := pause(ctx, outage); err != nil {
				return err
			}
			if err := h.clickhouse("start"); err != nil {
				return err
			}
		case faultNATS:
			if err := h.restartNATS(ctx); err != nil {
				return err
			}
			done.natsRestarts.Add(1)
			h.t.Logf("restarted nats-server after %d events sent", sent.Load())
			if err := h.waitIngestReady(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// pause waits d (a random delay of the schedule, not a synchronisation) or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("chaos: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// streamState returns the last sequence and the number of messages of the EVENTS stream.
func streamState(ctx context.Context, t *testing.T, url string) (lastSeq, msgs uint64) {
	t.Helper()
	_, js := natstest.Connect(t, url)
	st, err := js.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		t.Fatalf("stream %s: %v", natsjs.DefaultEventsStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s info: %v", natsjs.DefaultEventsStream, err)
	}
	return info.State.LastSeq, info.State.Msgs
}

// waitConsumed waits until the events table of database holds the event of stream sequence
// lastSeq, failing early when the aggregator p exits on its own.
func waitConsumed(ctx context.Context, conn driver.Conn, database string, lastSeq uint64, p *proc) error {
	var last error
	var seen uint64
	err := testwait.Until(ctx, 200*time.Millisecond, func() error {
		if p.exited() {
			return testwait.Abort(fmt.Errorf("chaos: %s exited on its own: %v", p.name, p.err))
		}
		n, err := countRows(ctx, conn, "SELECT max(stream_seq) FROM `"+database+"`.events")
		if err != nil {
			last = err // the database may not exist yet
			return err
		}
		seen = n
		if n < lastSeq {
			return fmt.Errorf("%s.events at sequence %d of %d", database, n, lastSeq)
		}
		return nil
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("chaos: %s.events reached sequence %d of %d before the deadline (last error: %v)", database, seen, lastSeq, last)
	}
	return err
}

// countRows runs a query that returns one unsigned number.
func countRows(ctx context.Context, conn driver.Conn, q string) (uint64, error) {
	var n uint64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("chaos: %s: %w", q, err)
	}
	return n, nil
}
