package chaos_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/testwait"
)

// harness runs the servers of one chaos test: its own ClickHouse, a NATS server built from the
// nats-server module, ingest and the aggregators, each a separate process.
type harness struct {
	t    *testing.T
	root string // module root
	dir  string // everything of this test: binaries, data, logs
	bin  string
	logs string

	chDir         string
	chTCP, chHTTP int
	natsPort      int
	ingestPort    int
	aggPort       int
	referencePort int
	ps            procs
	mu            sync.Mutex // guards nats, ingest, agg: the chaos schedule swaps them
	nats          *proc
	ingest        *proc
	agg           *proc
	aggStarts     int
}

// newHarness builds the binaries and chooses the ports; it starts nothing yet. Every process it
// starts later is stopped, and ClickHouse with it, in t.Cleanup.
func newHarness(t *testing.T) *harness {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h := &harness{
		t: t, root: root, dir: dir,
		bin:   filepath.Join(dir, "bin"),
		logs:  filepath.Join(dir, "logs"),
		chDir: filepath.Join(dir, "clickhouse"),
	}
	for _, d := range []string{h.bin, h.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := freePorts(7)
	if err != nil {
		t.Fatal(err)
	}
	h.chTCP, h.chHTTP, h.natsPort, h.ingestPort, h.aggPort, h.referencePort = ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	t.Cleanup(h.cleanup)

	start := time.Now()
	h.goBuild("-o", h.bin+string(filepath.Separator), "./cmd/aggregate", "./cmd/ingest")
	h.goBuild("-o", filepath.Join(h.bin, "nats-server"), "github.com/nats-io/nats-server/v2")
	t.Logf("built aggregate, ingest and nats-server in %s", time.Since(start).Round(time.Millisecond))
	return h
}

// goBuild runs go build in the module root (without -race: the servers are the subject, not the
// test).
func (h *harness) goBuild(args ...string) {
	h.t.Helper()
	cmd := exec.Command(goTool(), append([]string{"build"}, args...)...)
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -buildvcs=false"))
	if out, err := cmd.CombinedOutput(); err != nil {
		h.t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cleanup stops every process, then ClickHouse; when the test failed it prints the end of every log.
func (h *harness) cleanup() {
	h.ps.stopAll()
	if _, err := os.Stat(h.chDir); err == nil {
		if err := h.clickhouse("stop"); err != nil {
			h.t.Errorf("stop clickhouse: %v", err)
		}
	}
	if !h.t.Failed() {
		return
	}
	entries, _ := os.ReadDir(h.logs)
	for _, e := range entries {
		h.t.Logf("--- last lines of %s:\n%s", e.Name(), tail(filepath.Join(h.logs, e.Name()), 40))
	}
	for _, f := range []string{"clickhouse-server.err.log", "stdout.log"} {
		if s := tail(filepath.Join(h.chDir, "log", f), 20); s != "" {
			h.t.Logf("--- last lines of clickhouse %s:\n%s", f, s)
		}
	}
}

func (h *harness) logPath(name string) string { return filepath.Join(h.logs, name+".log") }

// clickhouse runs deploy/clickhouse/clickhouse.sh start or stop for the test's own server.
func (h *harness) clickhouse(op string) error {
	cmd := exec.Command(filepath.Join(h.root, "deploy", "clickhouse", "clickhouse.sh"), op)
	cmd.Dir = h.root
	cmd.Env = append(cleanEnv(),
		"CH_DIR="+h.chDir,
		"CH_TCP_PORT="+strconv.Itoa(h.chTCP),
		"CH_HTTP_PORT="+strconv.Itoa(h.chHTTP),
		"CH_WAIT=120",
	)
	out, err := cmd.CombinedOutput()
	f, ferr := os.OpenFile(h.logPath("clickhouse-sh"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if ferr == nil {
		_, _ = f.Write(out)
		_ = f.Close()
	}
	if err != nil {
		return fmt.Errorf("chaos: clickhouse.sh %s: %w\n%s", op, err, out)
	}
	return nil
}

// dsn returns the ClickHouse DSN of a database on the test's server.
func (h *harness) dsn(database string) string {
	return fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", h.chTCP, database)
}

func (h *harness) natsURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", h.natsPort) }

func (h *harness) ingestURL() string { return fmt.Sprintf("http://127.0.0.1:%d", h.ingestPort) }

// startNATS starts the NATS server (again) on its port and store folder and waits until it
// accepts connections.
func (h *harness) startNATS(ctx context.Context) error {
	conf := filepath.Join(h.dir, "nats.conf")
	if _, err := os.Stat(conf); err != nil {
		text := fmt.Sprintf("listen: 127.0.0.1:%d\nserver_name: chaos\njetstream {\n  store_dir: %q\n}\n",
			h.natsPort, filepath.Join(h.dir, "nats"))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return fmt.Errorf("chaos: nats config: %w", err)
		}
	}
	p, err := startProc("nats-server", h.logPath("nats-server"), nil, filepath.Join(h.bin, "nats-server"), "-c", conf)
	if err != nil {
		return err
	}
	h.ps.add(p)
	h.mu.Lock()
	h.nats = p
	h.mu.Unlock()
	return waitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", h.natsPort))
}

// restartNATS stops the NATS server with SIGTERM and starts it again on the same port and store.
func (h *harness) restartNATS(ctx context.Context) error {
	h.mu.Lock()
	p := h.nats
	h.mu.Unlock()
	if err := p.stop(30 * time.Second); err != nil {
		return err
	}
	return h.startNATS(ctx)
}

// startIngest starts ingest. Its duplicate window is short (1s), so that events the feeder sends
// again a few seconds later are stored again and reach the aggregator as duplicates. Too-late
// events are stored too (--reject-late=false), so that they reach the aggregator whatever ingest
// knows of its watermark; no admin listener.
func (h *harness) startIngest(ctx context.Context) error {
	p, err := startProc("ingest", h.logPath("ingest"), nil, filepath.Join(h.bin, "ingest"),
		"--addr", fmt.Sprintf("127.0.0.1:%d", h.ingestPort),
		"--admin-addr", "",
		"--nats-url", h.natsURL(),
		"--duplicate-window", "1s",
		"--reject-late=false",
	)
	if err != nil {
		return err
	}
	h.ps.add(p)
	h.mu.Lock()
	h.ingest = p
	h.mu.Unlock()
	return h.waitIngestReady(ctx)
}

// waitIngestReady waits until ingest answers GET /readyz with 200 (NATS connected, stream there).
func (h *harness) waitIngestReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := testwait.Until(ctx, 100*time.Millisecond, func() error {
		h.mu.Lock()
		p := h.ingest
		h.mu.Unlock()
		if p.exited() {
			return testwait.Abort(fmt.Errorf("chaos: ingest exited: %v", p.err))
		}
		resp, err := client.Get(h.ingestURL() + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz answers %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("chaos: ingest ready: %w", err)
	}
	return nil
}

// aggregateArgs returns the flags of an aggregator of partition on database, serving on port.
func (h *harness) aggregateArgs(partition, database string, port int, extra ...string) []string {
	args := []string{
		"--admin-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--nats-url", h.natsURL(),
		"--clickhouse-dsn", h.dsn(database),
		"--partition", partition,
	}
	return append(args, extra...)
}

// startChaosAggregate starts (or restarts) the aggregator under test. It flushes and checkpoints
// often, so that kills land between and inside flushes and checkpoints.
func (h *harness) startChaosAggregate() error {
	args := h.aggregateArgs("all", "govpulse", h.aggPort,
		"--max-batch", "500", "--flush-interval", "100ms", "--checkpoint-interval", "300ms")
	p, err := startProc("aggregate", h.logPath("aggregate"), nil, filepath.Join(h.bin, "aggregate"), args...)
	if err != nil {
		return err
	}
	h.ps.add(p)
	h.mu.Lock()
	h.agg = p
	h.aggStarts++
	h.mu.Unlock()
	return nil
}

// killAggregate kills the aggregator under test with SIGKILL and waits until it is gone.
func (h *harness) killAggregate() {
	h.mu.Lock()
	p := h.agg
	h.mu.Unlock()
	p.kill()
}

// chaosAggregate returns the current process of the aggregator under test.
func (h *harness) chaosAggregate() *proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.agg
}

// startReferenceAggregate starts the uninterrupted aggregator: its own partition name (hence its
// own checkpoint), its own database, the default batching.
func (h *harness) startReferenceAggregate() (*proc, error) {
	args := h.aggregateArgs("reference", "govpulse_reference", h.referencePort)
	p, err := startProc("aggregate-reference", h.logPath("aggregate-reference"), nil, filepath.Join(h.bin, "aggregate"), args...)
	if err != nil {
		return nil, err
	}
	h.ps.add(p)
	return p, nil
}
