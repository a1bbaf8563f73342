// Command bench-peer measures how fast govpulse's aggregator drains a backlog of events from
// JetStream into ClickHouse, against Telegraf draining the same backlog into one raw table.
//
// It expects a JetStream server and a ClickHouse server of its own (deploy/local/bench-peer.sh
// starts both, builds Telegraf and aggregate, and runs this command). It
//
//  1. publishes --events valid events of the synthetic stream (internal/scenario) into the EVENTS
//     stream, with the subjects, Nats-Msg-Id and event-time header ingest gives them;
//  2. creates the durable push consumer Telegraf binds to and the raw table it writes to, starts
//     Telegraf with --telegraf-config and waits until the table holds every event;
//  3. applies govpulse's migrations to a fresh database, starts aggregate on it and waits until its
//     events table holds every event (the scores they changed are written in the same flush);
//  4. prints, for each drain, the wall time from the process start to the last row stored, the
//     CPU seconds of the process (utime + stime from /proc/<pid>/stat) and of the ClickHouse and
//     NATS servers over the same interval, and the ratios aggregate / Telegraf.
//
// The two drains run one after the other, so that neither competes with the other for the cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scenario"
)

// Names of what the benchmark creates. The consumer's name is also Telegraf's queue_group
// (deploy/bench-peer/telegraf.conf): Telegraf's JetStream client uses the queue group as the
// durable name and binds to the consumer of that name when it exists.
const (
	telegrafConsumer = "telegraf"
	telegrafDeliver  = "bench-peer.telegraf.deliver"
	telegrafDatabase = "peer_telegraf"
	telegrafTable    = "events_raw"
	govpulseDatabase = "peer_govpulse"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

func main() {
	config.Main("bench-peer", func(ctx context.Context, args []string, _ config.LookupEnv, stdout, _ io.Writer) error {
		return run(ctx, args, stdout)
	})
}

// options are the command's flags.
type options struct {
	events         int
	natsURL        string
	clickhouse     string // host:port of the native protocol
	telegraf       string
	telegrafConfig string
	aggregate      string
	logDir         string
	maxAckPending  int
	clickhousePID  int
	natsPID        int
	timeout        time.Duration
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench-peer", flag.ContinueOnError)
	fs.IntVar(&o.events, "events", 1_000_000, "events of the backlog")
	fs.StringVar(&o.natsURL, "nats-url", "", "URL of the JetStream server (required)")
	fs.StringVar(&o.clickhouse, "clickhouse", "", "host:port of the ClickHouse server, native protocol (required)")
	fs.StringVar(&o.telegraf, "telegraf", "", "Telegraf binary (required)")
	fs.StringVar(&o.telegrafConfig, "telegraf-config", "deploy/bench-peer/telegraf.conf", "Telegraf configuration")
	fs.StringVar(&o.aggregate, "aggregate", "", "aggregate binary (required)")
	fs.StringVar(&o.logDir, "log-dir", ".", "folder of the logs of Telegraf and aggregate")
	fs.IntVar(&o.maxAckPending, "max-ack-pending", 20_000, "max_ack_pending of Telegraf's consumer (at least its max_undelivered_messages)")
	fs.IntVar(&o.clickhousePID, "clickhouse-pid", 0, "pid of the ClickHouse server, to report its CPU (0: not reported)")
	fs.IntVar(&o.natsPID, "nats-pid", 0, "pid of the NATS server, to report its CPU (0: not reported)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "longest time one drain may take")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.events < 1:
		return o, fmt.Errorf("--events %d: must be positive", o.events)
	case o.natsURL == "" || o.clickhouse == "" || o.telegraf == "" || o.aggregate == "":
		return o, errors.New("--nats-url, --clickhouse, --telegraf and --aggregate are required")
	case o.maxAckPending < 1:
		return o, fmt.Errorf("--max-ack-pending %d: must be positive", o.maxAckPending)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(o.natsURL, nats.Name("govpulse-bench-peer"))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer nc.Close()
	var pubErrs natsjs.AsyncErrors
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096),
		pubErrs.Handler())
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	conn, _, err := chstore.Dial(ctx, "clickhouse://"+o.clickhouse+"/default")
	if err != nil {
		return err
	}
	defer conn.Close()

	fmt.Fprintf(stdout, "publishing %d events into %s\n", o.events, natsjs.DefaultEventsStream)
	took, err := publish(ctx, js, o.events, &pubErrs, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published %d events in %s (%.0f events/s)\n", o.events, took.Round(time.Millisecond), rate(o.events, took))

	if err := prepareTelegraf(ctx, js, conn, o.maxAckPending); err != nil {
		return err
	}
	tg, err := drain(ctx, o, stdout, "telegraf", exec.Command(o.telegraf, "--config", o.telegrafConfig, "--strict-env-handling"),
		[]string{
			"GOVPULSE_PEER_NATS_URL=" + o.natsURL,
			"GOVPULSE_PEER_CLICKHOUSE_DSN=clickhouse://" + o.clickhouse + "/" + telegrafDatabase,
		},
		conn, "`"+telegrafDatabase+"`.`"+telegrafTable+"`", "value")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "telegraf:  %s\n", tg.describe(o.events))

	dsn := "clickhouse://" + o.clickhouse + "/" + govpulseDatabase
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+govpulseDatabase+"`"); err != nil {
		return fmt.Errorf("drop database %s: %w", govpulseDatabase, err)
	}
	if out, err := exec.CommandContext(ctx, o.aggregate, "migrate", "--clickhouse-dsn", dsn).CombinedOutput(); err != nil {
		return fmt.Errorf("aggregate migrate: %w: %s", err, out)
	}
	admin, err := freeAddr()
	if err != nil {
		return err
	}
	ag, err := drain(ctx, o, stdout, "aggregate", exec.Command(o.aggregate),
		[]string{
			"GOVPULSE_NATS_URL=" + o.natsURL,
			"GOVPULSE_CLICKHOUSE_DSN=" + dsn,
			"GOVPULSE_AGGREGATE_ADMIN_ADDR=" + admin,
		},
		conn, "`"+govpulseDatabase+"`.events", "region, id")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "aggregate: %s\n", ag.describe(o.events))

	fmt.Fprintf(stdout, "bench-peer %d events: telegraf %.0f events/s, %.2f CPU s; aggregate %.0f events/s, %.2f CPU s; "+
		"aggregate/telegraf: rate %.2f, CPU %.2f\n",
		o.events, rate(o.events, tg.wall), tg.cpu.Seconds(), rate(o.events, ag.wall), ag.cpu.Seconds(),
		ratio(rate(o.events, ag.wall), rate(o.events, tg.wall)), ratio(ag.cpu.Seconds(), tg.cpu.Seconds()))
	return nil
}

// publish puts n events of the synthetic stream into the EVENTS stream as ingest would, and returns
// how long it took. It fails unless the stream then holds exactly n messages.
func publish(ctx context.Context, js jetstream.JetStream, n int, errs *natsjs.AsyncErrors, progress io.Writer) (time.Duration, error) {
	names := natsjs.Names{}.WithDefaults()
	if err := natsjs.EnsureStreams(ctx, js, names, natsjs.StreamOptions{}); err != nil {
		return 0, err
	}
	base := names.EventSubjectBase()
	start := time.Now()
	i := 0
	for ev := range scenario.Stream(scenario.StreamOptions{Events: n}) {
		payload, err := ev.AppendJSON(nil)
		if err != nil {
			return 0, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		msg := &nats.Msg{Subject: ev.Subject(base), Data: payload, Header: nats.Header{}}
		msg.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(ev.Time))
		// A server busy writing may leave 4,096 publishes unacknowledged for a while: wait for room.
		_, err = js.PublishMsgAsync(msg, jetstream.WithMsgID(ev.Key().String()), jetstream.WithExpectStream(names.EventsStream),
			jetstream.WithStallWait(time.Minute))
		if err != nil {
			return 0, fmt.Errorf("publish event %d: %w", i, err)
		}
		i++
		if i%100_000 == 0 {
			fmt.Fprintf(progress, "  %d published\n", i)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	took := time.Since(start)
	if err := errs.Err(); err != nil {
		return 0, err
	}
	st, err := js.Stream(ctx, names.EventsStream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", names.EventsStream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s info: %w", names.EventsStream, err)
	}
	if info.State.Msgs != uint64(n) {
		return 0, fmt.Errorf("stream %s holds %d messages, want %d (not a fresh stream?)", names.EventsStream, info.State.Msgs, n)
	}
	return took, nil
}

// prepareTelegraf creates what a careful Telegraf user creates beforehand: the durable push
// consumer Telegraf's nats_consumer binds to (deliver group = its queue_group, max_ack_pending
// above its batch) and the raw table with an explicit engine.
func prepareTelegraf(ctx context.Context, js jetstream.JetStream, conn driver.Conn, maxAckPending int) error {
	names := natsjs.Names{}.WithDefaults()
	_, err := js.CreatePushConsumer(ctx, names.EventsStream, jetstream.ConsumerConfig{
		Durable:        telegrafConsumer,
		DeliverSubject: telegrafDeliver,
		DeliverGroup:   telegrafConsumer,
		FilterSubject:  names.EventsSubjects(),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        time.Minute,
		MaxAckPending:  maxAckPending,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", telegrafConsumer, err)
	}
	for _, q := range []string{
		"DROP DATABASE IF EXISTS `" + telegrafDatabase + "`",
		"CREATE DATABASE `" + telegrafDatabase + "`",
		// Telegraf's outputs.sql writes the metric's time, its tags (subject) and its fields (value,
		// the whole event as the value parser gives it). Telegraf's own CREATE TABLE has no
		// ENGINE clause, which ClickHouse 18.16 refuses.
		"CREATE TABLE `" + telegrafDatabase + "`.`" + telegrafTable + "` (" +
			"timestamp DateTime, subject String, value String" +
			") ENGINE = MergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY (subject, timestamp)",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("clickhouse: %s: %w", q, err)
		}
	}
	return nil
}

// drained holds the figures of one drain.
type drained struct {
	wall       time.Duration // process start to every row counted
	cpu        time.Duration // CPU of the process over that time
	clickhouse time.Duration // CPU of the ClickHouse server over that time (0 when unknown)
	nats       time.Duration // CPU of the NATS server over that time (0 when unknown)
	rows       uint64        // rows counted at the end (at least the events)
	distinct   uint64        // distinct events among them
	peakRSS    uint64        // the process's peak resident memory in bytes (VmHWM; 0 when unknown)
}

func (d drained) describe(n int) string {
	s := fmt.Sprintf("%.0f events/s (%s), %.2f CPU s (%.1f µs/event)",
		rate(n, d.wall), d.wall.Round(time.Millisecond), d.cpu.Seconds(), perEvent(d.cpu, n))
	if d.clickhouse > 0 {
		s += fmt.Sprintf(", ClickHouse %.2f CPU s (%.1f µs/event)", d.clickhouse.Seconds(), perEvent(d.clickhouse, n))
	}
	if d.nats > 0 {
		s += fmt.Sprintf(", NATS %.2f CPU s (%.1f µs/event)", d.nats.Seconds(), perEvent(d.nats, n))
	}
	if d.peakRSS > 0 {
		s += fmt.Sprintf(", peak RSS %d MB", d.peakRSS>>20)
	}
	return s + fmt.Sprintf(", %d rows, %d distinct", d.rows, d.distinct)
}

// drain starts cmd with env added to the environment, logging to <log-dir>/<name>.log, polls the
// row count of table every 100 ms until it reaches o.events and the rows hold o.events distinct
// values of key (a drain at least once may store an event twice), records the figures and stops
// the process. The wall time ends when the count that proved the drain complete returned; the
// distinct count, which reads the whole table, is not timed.
func drain(ctx context.Context, o options, progress io.Writer, name string, cmd *exec.Cmd, env []string,
	conn driver.Conn, table, key string) (drained, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logPath := filepath.Join(o.logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return drained{}, fmt.Errorf("%s log: %w", name, err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)

	chBefore, _ := procCPU(o.clickhousePID)
	natsBefore, _ := procCPU(o.natsPID)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return drained{}, fmt.Errorf("start %s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	fmt.Fprintf(progress, "%s draining (pid %d, log %s)\n", name, cmd.Process.Pid, logPath)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	countQuery := "SELECT count() FROM " + table
	distinctQuery := "SELECT uniqExact(" + key + ") FROM " + table
	var rows, distinct uint64
	var end time.Time
	var d drained
	lastReport := start
	for distinct < uint64(o.events) {
		select {
		case <-ctx.Done():
			return drained{}, fmt.Errorf("%s: %d of %d rows after %s: %w (see %s)", name, rows, o.events, time.Since(start).Round(time.Second), ctx.Err(), logPath)
		case err := <-exited:
			stopped = true
			return drained{}, fmt.Errorf("%s exited after %d of %d rows: %v (see %s)", name, rows, o.events, err, logPath)
		case <-tick.C:
		}
		if err := conn.QueryRow(ctx, countQuery).Scan(&rows); err != nil {
			// The table may be busy or briefly unreachable; the next tick asks again.
			continue
		}
		end = time.Now()
		if time.Since(lastReport) >= 5*time.Second {
			fmt.Fprintf(progress, "  %s: %d rows after %s\n", name, rows, time.Since(start).Round(time.Second))
			lastReport = time.Now()
		}
		if rows < uint64(o.events) {
			continue
		}
		// The CPU figures end here too, before the distinct count adds ClickHouse's work.
		if d.cpu, err = procCPU(cmd.Process.Pid); err != nil {
			return drained{}, fmt.Errorf("%s CPU: %w", name, err)
		}
		if after, err := procCPU(o.clickhousePID); err == nil {
			d.clickhouse = after - chBefore
		}
		if after, err := procCPU(o.natsPID); err == nil {
			d.nats = after - natsBefore
		}
		if err := conn.QueryRow(ctx, distinctQuery).Scan(&distinct); err != nil {
			continue
		}
	}
	d.wall, d.rows, d.distinct = end.Sub(start), rows, distinct
	d.peakRSS, _ = peakRSS(cmd.Process.Pid)

	// Stop the process as a service manager would, and wait for it.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	stopped = true
	return d, nil
}

// procCPU returns the CPU time (user + system) the process pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat: %w", err)
	}
	return parseStatCPU(string(b))
}

// peakRSS returns the peak resident memory of the process pid so far (VmHWM of /proc/<pid>/status).
func peakRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("status: VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("status: no VmHWM")
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat line. The command name (field 2) is in
// parentheses and may hold spaces and parentheses itself, so the fields are counted after the last
// ')': field 3 is the first after it, utime and stime are fields 14 and 15.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: utime or stime %q: %w", s, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func perEvent(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }
