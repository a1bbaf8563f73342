package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

var clusterFlag = flag.Bool("chaos.cluster", false, "run the cluster chaos test (make chaos-cluster); also GOVPULSE_CHAOS_CLUSTER=1")

// Faults of the cluster run.
const (
	faultNATSLeader = iota // SIGKILL the NATS server that leads the EVENTS stream
	faultNATSAny           // SIGKILL a NATS server chosen at random
	faultReplica           // SIGKILL a ClickHouse replica
	faultPartition         // SIGKILL an aggregator partition
	faultIngest            // SIGKILL an ingest server
	faultKinds
)

var faultNames = [faultKinds]string{"nats_leader_kills", "nats_kills", "clickhouse_kills", "aggregate_kills", "ingest_kills"}

// clusterRun is a cluster of deploy/cluster/cluster.sh in a folder of the test, with ports of its own.
type clusterRun struct {
	t    *testing.T
	root string
	dir  string
	bin  string
	base int
	env  map[string]string // the output of cluster.sh env
}

// TestChaosCluster runs the cluster of `make cluster` (deploy/cluster/cluster.sh: ZooKeeper, two
// ClickHouse replicas behind Distributed tables, three NATS servers with R3 streams, two ingest
// servers, two aggregator partitions) in a folder of its own, feeds a synthetic stream through
// both ingest servers, and meanwhile kills with SIGKILL and restarts the NATS server that leads the
// EVENTS stream, another NATS server, a ClickHouse replica, an aggregator partition (twice) and an
// ingest server. Then an uninterrupted aggregator of all units reads the same stream into a
// single-node database, and latest_scores, latest_ranking and the per-region counts of events FINAL
// read through each replica must be identical to it. It prints one line ending in "identical" or
// the first difference. Only with -chaos.cluster (make chaos-cluster): it needs ZooKeeper and takes
// minutes.
func TestChaosCluster(t *testing.T) {
	if !*clusterFlag && os.Getenv("GOVPULSE_CHAOS_CLUSTER") != "1" {
		t.Skip("the cluster chaos test runs with -chaos.cluster (make chaos-cluster)")
	}
	requireClickHouse(t)
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_000
	}
	const total, rate = 25_000, 500
	t.Logf("cluster run, seed %d (repeat with -chaos.seed=%d)", seed, seed)
	c := newClusterRun(t)
	start := time.Now()
	if err := c.script("start"); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster started in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()

	shape := streamShape{
		Events: total, Step: time.Minute, Seed: seed,
		Delayed: 0.03, MaxDelay: 10 * 24 * time.Hour,
		// Events sent again 20 s later, after ingest's duplicate window (10 s, clusterDuplicateWindow),
		// reach the stream as duplicates.
		ResendEvery: 1500, ResendMin: 20, ResendMax: 100, ResendDistance: 20 * rate,
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc1a05))
	faults := clusterSchedule(rng, total)
	var (
		sent atomic.Int64
		done [faultKinds]atomic.Int64
		sums [2]ctl.FeedSummary
		fed  = make(chan struct{})
	)
	feedStart := time.Now()
	// Each ingest server gets the events of half of the ids, in the order of the stream, so that
	// an event sent again always goes the way of its first copy, after it, never racing it
	// through the other server (see clusterDuplicateWindow).
	g, gctx := errgroup.WithContext(ctx)
	var feeders sync.WaitGroup
	urls := strings.Split(c.env["GOVPULSE_INGEST_URLS"], ",")
	for i, url := range urls {
		feeders.Add(1)
		g.Go(func() error {
			defer feeders.Done()
			half := func(yield func(*events.Event) bool) {
				var all, again atomic.Int64 // of the whole stream; sent counts this half's
				for ev := range feedStream(shape, &all, &again) {
					if idShare(ev.ID, len(urls)) != i {
						continue
					}
					sent.Add(1)
					if !yield(ev) {
						return
					}
				}
			}
			var err error
			sums[i], err = ctl.Feed(gctx, half, ctl.FeedOptions{URL: url, Batch: 100, Rate: rate / len(urls), MaxElapsed: 3 * time.Minute})
			return err
		})
	}
	go func() { feeders.Wait(); close(fed) }()
	g.Go(func() error { return c.inject(gctx, rng, faults, &sent, fed, &done) })
	if err := g.Wait(); err != nil {
		t.Fatalf("feeding with faults: %v (%s; %s)", err, sums[0], sums[1])
	}
	sum := ctl.FeedSummary{}
	for _, s := range sums {
		sum.Events += s.Events
		sum.Accepted += s.Accepted
		sum.Duplicates += s.Duplicates
		sum.Rejected += s.Rejected
		sum.Requests += s.Requests
		sum.Retries += s.Retries
		sum.Errors = append(sum.Errors, s.Errors...)
	}
	t.Logf("%s in %s; %d events resent; faults: %s", sum, time.Since(feedStart).Round(time.Millisecond), sum.Events-total, faultCounts(&done))
	if sum.Rejected != 0 || sum.Accepted+sum.Duplicates != sum.Events {
		t.Fatalf("ingest did not take every event: %s; %v", sum, sum.Errors)
	}
	lastSeq, msgs := c.streamState(ctx)

	replicas := strings.Split(c.env["CLUSTER_CLICKHOUSE"], ",")
	conns := make([]driver.Conn, len(replicas))
	for i, addr := range replicas {
		conn, _, err := chstore.Dial(ctx, "clickhouse://"+addr+"/default")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns[i] = conn
	}

	// The uninterrupted run: one aggregator of all units, single-node schema, database of its own
	// on the first replica.
	refStart := time.Now()
	ref, err := c.startReference()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitConsumed(ctx, conns[0], "govpulse_reference", lastSeq, ref); err != nil {
		t.Fatalf("uninterrupted aggregator: %v", err)
	}
	if err := ref.stop(time.Minute); err != nil {
		t.Fatalf("uninterrupted aggregator did not stop cleanly: %v", err)
	}
	want, err := readSnapshot(ctx, conns[0], "govpulse_reference")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uninterrupted aggregator consumed %d stream messages in %s", lastSeq, time.Since(refStart).Round(time.Millisecond))

	// The partitions catch up (their ranking of all units meets at the end of the stream); then
	// they stop gracefully and both replicas take every part.
	var diff string
	catchUp, cancelCatchUp := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelCatchUp()
	err = testwait.Until(catchUp, time.Second, func() error {
		got, err := readSnapshot(ctx, conns[0], "govpulse")
		if err != nil {
			return err
		}
		if diff = firstDifference(got, want); diff != "" {
			return fmt.Errorf("not yet identical: %s", diff)
		}
		return nil
	})
	if err != nil {
		t.Logf("the partitions did not reach the uninterrupted run: %v", err)
	}
	for _, name := range []string{"aggregate-a", "aggregate-b", "site", "ingest-1", "ingest-2"} {
		if err := c.script("stop-one", name); err != nil {
			t.Fatal(err)
		}
	}
	for _, conn := range conns {
		if err := syncReplicas(ctx, conn, "govpulse"); err != nil {
			t.Fatal(err)
		}
	}
	diff = ""
	for i, conn := range conns {
		got, err := readSnapshot(ctx, conn, "govpulse")
		if err != nil {
			t.Fatal(err)
		}
		if d := firstDifference(got, want); d != "" && diff == "" {
			diff = fmt.Sprintf("replica %d: %s", i+1, d)
		}
		if diff == "" && got.distinct() != uint64(total) {
			diff = fmt.Sprintf("replica %d: events: %d distinct ids stored, %d fed", i+1, got.distinct(), total)
		}
		if i == 0 {
			t.Logf("stream: %d messages, %d distinct events", msgs, got.distinct())
		}
	}
	verdict := "identical"
	if diff != "" {
		verdict = "first difference: " + diff
	}
	fmt.Printf("chaos-cluster: seed=%d %s events=%d stream_messages=%d took=%s %s\n",
		seed, faultCounts(&done), total, msgs, time.Since(start).Round(time.Second), verdict)
	if diff != "" {
		t.Fatalf("the cluster run with faults differs from the uninterrupted run (seed %d): %s", seed, diff)
	}
	for k := range faultKinds {
		if done[k].Load() == 0 {
			t.Errorf("fault %s never happened", faultNames[k])
		}
	}
	if msgs <= uint64(total) {
		t.Error("no duplicate id reached the stream: the stream does not exercise deduplication")
	}
}

// idShare returns which of n feeders sends the event with id.
func idShare(id string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// faultCounts formats the numbers of faults that happened.
func faultCounts(done *[faultKinds]atomic.Int64) string {
	parts := make([]string, faultKinds)
	for k := range faultKinds {
		parts[k] = fmt.Sprintf("%s=%d", faultNames[k], done[k].Load())
	}
	return strings.Join(parts, " ")
}

// clusterSchedule places one fault of each kind and a second partition kill at random points of
// the feed (one slot each between 5% and 90% of the events, kinds shuffled over the slots).
func clusterSchedule(r *rand.Rand, events int) []fault {
	kinds := []int{faultNATSLeader, faultNATSAny, faultReplica, faultPartition, faultPartition, faultIngest}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	const lo, hi = 0.05, 0.90
	width := (hi - lo) / float64(len(kinds))
	out := make([]fault, len(kinds))
	for i, k := range kinds {
		at := lo + (float64(i)+0.1+0.8*r.Float64())*width
		out[i] = fault{kind: k, at: int64(at * float64(events))}
	}
	return out
}

// newClusterRun builds the binaries and chooses a free range of ports; it starts nothing. Cleanup
// stops the whole cluster and, when the test failed, prints the end of every log.
func newClusterRun(t *testing.T) *clusterRun {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &clusterRun{t: t, root: root, dir: filepath.Join(dir, "cluster"), bin: filepath.Join(dir, "bin")}
	if err := os.MkdirAll(c.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if c.base, err = freePortRange(100); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, root: root}
	start := time.Now()
	h.goBuild("-o", c.bin+string(filepath.Separator), "./cmd/aggregate", "./cmd/ingest", "./cmd/site")
	h.goBuild("-o", filepath.Join(c.bin, "nats-server"), "github.com/nats-io/nats-server/v2")
	t.Logf("built aggregate, ingest, site and nats-server in %s; ports from %d", time.Since(start).Round(time.Millisecond), c.base)
	t.Cleanup(c.cleanup)
	out, err := c.output("env")
	if err != nil {
		t.Fatal(err)
	}
	c.env = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			c.env[k] = v
		}
	}
	return c
}

func (c *clusterRun) cleanup() {
	if err := c.script("stop"); err != nil {
		c.t.Errorf("stop the cluster: %v", err)
	}
	if !c.t.Failed() {
		return
	}
	logs := filepath.Join(c.dir, "logs")
	entries, _ := os.ReadDir(logs)
	for _, e := range entries {
		c.t.Logf("--- last lines of %s:\n%s", e.Name(), tail(filepath.Join(logs, e.Name()), 30))
	}
	for _, n := range []string{"1", "2"} {
		if s := tail(filepath.Join(c.dir, "clickhouse-"+n, "log", "clickhouse-server.err.log"), 20); s != "" {
			c.t.Logf("--- last lines of clickhouse-%s clickhouse-server.err.log:\n%s", n, s)
		}
	}
}

// clusterDuplicateWindow is ingest's duplicate window in the cluster run. It must outlast a request
// and its retries: two copies of one message id in flight at once make a clustered stream answer
// "duplicate message id is in process" (10158) for the second, ingest answers 503, and when the
// client sends the request again after the window has passed, both copies are new again and
// conflict again, for as long as it retries (TestChaos's one server stores them one after the
// other and accepts a 1 s window).
const clusterDuplicateWindow = 10 * time.Second

// command returns deploy/cluster/cluster.sh with args for the test's cluster. The aggregators
// flush and checkpoint often (so that kills land between and inside flushes and checkpoints);
// ingest stores an event sent again after clusterDuplicateWindow, and too-late events.
func (c *clusterRun) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.root, "deploy", "cluster", "cluster.sh"), args...)
	cmd.Dir = c.root
	cmd.Env = append(cleanEnv(),
		"CLUSTER_DIR="+c.dir,
		"CLUSTER_BIN="+c.bin,
		"CLUSTER_PORT_BASE="+strconv.Itoa(c.base),
		"CLUSTER_FLAGS_aggregate=--max-batch 500 --flush-interval 100ms --checkpoint-interval 300ms",
		"CLUSTER_FLAGS_ingest=--duplicate-window "+clusterDuplicateWindow.String()+" --reject-late=false",
	)
	return cmd
}

// script runs cluster.sh with args, appending its output to the cluster's log of the script.
func (c *clusterRun) script(args ...string) error {
	out, err := c.output(args...)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

func (c *clusterRun) output(args ...string) ([]byte, error) {
	cmd := c.command(args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	_ = os.MkdirAll(filepath.Join(c.dir, "logs"), 0o755)
	if f, ferr := os.OpenFile(filepath.Join(c.dir, "logs", "cluster-sh.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); ferr == nil {
		fmt.Fprintf(f, "=== %s cluster.sh %s\n%s", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "), stderr.Bytes())
		_ = f.Close()
	}
	if err != nil {
		return stderr.Bytes(), fmt.Errorf("chaos: cluster.sh %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// connectNATS connects as admin to the cluster's NATS servers.
func (c *clusterRun) connectNATS() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(c.env["GOVPULSE_NATS_URL"], nats.UserInfo("admin", c.env["GOVPULSE_NATS_ADMIN_PASSWORD"]),
		nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		return nil, nil, fmt.Errorf("chaos: connect to nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("chaos: jetstream: %w", err)
	}
	return nc, js, nil
}

// eventsInfo returns the state and cluster information of the EVENTS stream.
func (c *clusterRun) eventsInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	nc, js, err := c.connectNATS()
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := js.Stream(ictx, natsjs.DefaultEventsStream)
	if err != nil {
		return nil, fmt.Errorf("chaos: stream %s: %w", natsjs.DefaultEventsStream, err)
	}
	return st.Info(ictx)
}

// streamState returns the last sequence and the number of messages of the EVENTS stream.
func (c *clusterRun) streamState(ctx context.Context) (lastSeq, msgs uint64) {
	c.t.Helper()
	var info *jetstream.StreamInfo
	err := testwait.Until(ctx, 200*time.Millisecond, func() error {
		var err error
		info, err = c.eventsInfo(ctx)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return info.State.LastSeq, info.State.Msgs
}

// waitStreamCurrent waits until the EVENTS stream has a leader and every replica is current, so
// that the next NATS fault never takes the stream below its quorum.
func (c *clusterRun) waitStreamCurrent(ctx context.Context) error {
	return testwait.Until(ctx, 250*time.Millisecond, func() error {
		info, err := c.eventsInfo(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return fmt.Errorf("stream %s has no leader", natsjs.DefaultEventsStream)
		}
		if len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("stream leader %s sees %d other replicas", info.Cluster.Leader, len(info.Cluster.Replicas))
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current || r.Offline {
				return fmt.Errorf("replica %s of stream %s is not current", r.Name, natsjs.DefaultEventsStream)
			}
		}
		return nil
	})
}

// inject runs the faults in order, each once the feeders sent its number of events (or finished):
// SIGKILL the process, wait a moment, start it again and wait until it is back.
func (c *clusterRun) inject(ctx context.Context, r *rand.Rand, faults []fault, sent *atomic.Int64, fed <-chan struct{}, done *[faultKinds]atomic.Int64) error {
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
		var name string
		switch f.kind {
		case faultNATSLeader, faultNATSAny:
			if err := c.waitStreamCurrent(ctx); err != nil {
				return fmt.Errorf("chaos: before a nats fault: %w", err)
			}
			name = fmt.Sprintf("nats-%d", 1+r.IntN(3))
			if f.kind == faultNATSLeader {
				info, err := c.eventsInfo(ctx)
				if err != nil {
					return err
				}
				name = info.Cluster.Leader
			}
		case faultReplica:
			name = fmt.Sprintf("clickhouse-%d", 1+r.IntN(2))
		case faultPartition:
			name = "aggregate-" + string(rune('a'+r.IntN(2)))
		case faultIngest:
			name = fmt.Sprintf("ingest-%d", 1+r.IntN(2))
		}
		if err := pause(ctx, time.Duration(r.Int64N(int64(400*time.Millisecond)))); err != nil {
			return err
		}
		if err := c.script("kill", name); err != nil {
			return err
		}
		done[f.kind].Add(1)
		down := time.Duration(r.Int64N(int64(time.Second)))
		if f.kind == faultReplica || f.kind == faultNATSLeader || f.kind == faultNATSAny {
			down += 2 * time.Second
		}
		c.t.Logf("killed %s (SIGKILL) after %d events sent, for %s", name, sent.Load(), down.Round(time.Millisecond))
		if err := pause(ctx, down); err != nil {
			return err
		}
		if err := c.script("start-one", name); err != nil {
			return err
		}
		if f.kind == faultNATSLeader || f.kind == faultNATSAny {
			if err := c.waitStreamCurrent(ctx); err != nil {
				return fmt.Errorf("chaos: after restarting %s: %w", name, err)
			}
		}
	}
	return nil
}

// startReference starts the uninterrupted aggregator of all units: the single-node schema in the
// database govpulse_reference of the first replica, a partition name (and so a checkpoint) of its
// own, the default batching.
func (c *clusterRun) startReference() (*proc, error) {
	addr := strings.Split(c.env["CLUSTER_CLICKHOUSE"], ",")[0]
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env := []string{"GOVPULSE_NATS_USER=aggregate", "GOVPULSE_NATS_PASSWORD=" + c.env["GOVPULSE_NATS_AGGREGATE_PASSWORD"]}
	p, err := startProc("aggregate-reference", filepath.Join(c.dir, "logs", "aggregate-reference.log"), env, filepath.Join(c.bin, "aggregate"),
		"--admin-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--nats-url", c.env["GOVPULSE_NATS_URL"],
		"--clickhouse-dsn", "clickhouse://"+addr+"/govpulse_reference",
		"--partition", "reference",
		"--stream-replicas", "3",
	)
	if err != nil {
		return nil, err
	}
	c.t.Cleanup(func() {
		if !p.exited() {
			_ = p.stop(10 * time.Second)
		}
	})
	return p, nil
}

// syncReplicas waits until the replica on conn has every part of the replicated tables of database.
func syncReplicas(ctx context.Context, conn driver.Conn, database string) error {
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine LIKE 'Replicated%'", database)
	if err != nil {
		return fmt.Errorf("chaos: list replicated tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("chaos: list replicated tables: %w", err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) == 0 {
		return fmt.Errorf("chaos: no replicated table in %s", database)
	}
	for _, tb := range tables {
		if err := conn.Exec(ctx, "SYSTEM SYNC REPLICA `"+database+"`."+tb); err != nil {
			return fmt.Errorf("chaos: sync replica %s: %w", tb, err)
		}
	}
	return nil
}

// freePortRange returns the first port of n consecutive loopback ports that are all free.
func freePortRange(n int) (int, error) {
	for try := 0; try < 50; try++ {
		base := 30000 + rand.IntN(25000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			_ = l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("chaos: no %d consecutive free ports", n)
}
