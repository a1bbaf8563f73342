// Command aggregate consumes the govpulse EVENTS stream, keeps the per-region state and event-time
// windows of one partition, and maintains scores, composites and the ranking in ClickHouse, with
// each new score and ranking published on NATS after it is stored.
//
//	aggregate [flags]          run the aggregator until SIGINT or SIGTERM
//	aggregate migrate [flags]  apply the ClickHouse migrations and exit
//	aggregate rescore --method 2022 [--from TIME] [flags]
//	                           re-score the stream's history under one method, beside the running
//	                           aggregator, and exit once its rows are stored
//
// Every flag has a GOVPULSE_* environment variable that sets its default; a flag given on the
// command line wins. Run "aggregate --help" for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/dlqarchive"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/retry"
	"github.com/govpulse/govpulse/internal/reviews"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/workdays"
)

func main() {
	config.Main("aggregate", func(ctx context.Context, args []string, lookup config.LookupEnv, _, stderr io.Writer) error {
		return run(ctx, args, lookup, stderr)
	})
}

// run parses the flags, connects to NATS and ClickHouse, applies the migrations and runs the
// aggregator (or only migrates) until ctx is done.
func run(ctx context.Context, args []string, lookup config.LookupEnv, stderr io.Writer) error {
	migrateOnly := len(args) > 0 && args[0] == "migrate"
	rescore := len(args) > 0 && args[0] == "rescore"
	if migrateOnly || rescore {
		args = args[1:]
	}
	def, archiveDef := aggregate.Config{}.WithDefaults(), dlqarchive.Config{}.WithDefaults()
	fs := config.New("aggregate", lookup)
	fs.SetOutput(stderr)
	addr := fs.String("admin-addr", "GOVPULSE_AGGREGATE_ADMIN_ADDR", aggregate.DefaultAdminAddr, "listen address of /healthz, /readyz and /metrics")
	fs.Deprecate("admin-addr", "addr", "GOVPULSE_AGGREGATE_ADDR")
	natsURL := natsjs.URLFlag(fs)
	prefix := natsjs.SubjectPrefixFlag(fs)
	dsn := fs.String("clickhouse-dsn", "GOVPULSE_CLICKHOUSE_DSN", chstore.DefaultDSN, "ClickHouse address and database (native protocol)")
	partition := fs.String("partition", "GOVPULSE_PARTITION", def.Partition, "name of this aggregator's partition (names its checkpoint)")
	regions := fs.String("regions", "GOVPULSE_REGIONS", "", "comma-separated region codes of the partition (empty: all 32 units)")
	maxBatch := fs.Int("max-batch", "GOVPULSE_MAX_BATCH", def.MaxBatch, "most stream messages applied between two flushes; a partition of some units also ends batches at its multiples of stream sequence (partitions: give them the same value)")
	flushInterval := fs.Duration("flush-interval", "GOVPULSE_FLUSH_INTERVAL", def.FlushInterval, "longest time a read event waits before its batch is written while the previous batch is stored already (while it is being written, the batch grows instead)")
	checkpointInterval := fs.Duration("checkpoint-interval", "GOVPULSE_CHECKPOINT_INTERVAL", def.CheckpointInterval, "shortest time between two checkpoints; at least 20 times as long as the last checkpoint took to take, so that a large state (a long backlog's remembered ids) is not snapshotted ever more often relative to its cost")
	outOfOrder := fs.Duration("out-of-orderness", "GOVPULSE_OUT_OF_ORDERNESS", def.OutOfOrderness, "watermark bound: largest event time seen minus this")
	lateness := fs.Duration("allowed-lateness", "GOVPULSE_ALLOWED_LATENESS", def.AllowedLateness, "how far behind the watermark a user-experience event still counts")
	appealHorizon := fs.Duration("appeal-horizon", "GOVPULSE_APPEAL_HORIZON", def.AppealHorizon, "how long after a review's event time (as the watermark goes) an upheld appeal still takes it out of the scores; a later one is a late event and the review stays")
	schemaGrace := fs.Duration("schema-fault-grace", "GOVPULSE_SCHEMA_FAULT_GRACE", def.SchemaFaultGrace, "how long a ClickHouse schema fault (missing table or column) is retried before the refused events are dead-lettered")
	replicas := fs.Int("stream-replicas", "GOVPULSE_STREAM_REPLICAS", def.Replicas, "replicas of the latest-value bucket, the checkpoint store and a DLQ stream it recreates (3 in a cluster)")
	fs.Deprecate("stream-replicas", "replicas", "")
	maxItems := fs.Int("max-items-per-level", "GOVPULSE_MAX_ITEMS_PER_LEVEL", def.MaxItemsPerLevel, "most items one unit may hold at one level; a portal change adding one more is a dead letter (reason limit)")
	maxPortals := fs.Int("max-portals", "GOVPULSE_MAX_PORTALS", def.PortalLimits.MaxPortals, "most portals one unit may have; an event naming one more is a dead letter (reason limit)")
	maxPortalItems := fs.Int("max-items-per-portal", "GOVPULSE_MAX_ITEMS_PER_PORTAL", def.PortalLimits.MaxItemsPerPortal, "most items one portal of a unit may describe; an event adding one more is a dead letter (reason limit)")
	maxAhead := fs.Duration("max-ahead", "GOVPULSE_INGEST_MAX_AHEAD", def.MaxAhead, "how far an event time may be ahead of the time the stream stored it (ingest's rule; same variable as ingest's)")
	clockTolerance := fs.Duration("clock-tolerance", "GOVPULSE_CLOCK_TOLERANCE", def.ClockTolerance, "added to --max-ahead: how far ingest's clock and the stream's may differ")
	deadLetterBacklog := fs.Int("dead-letter-backlog", "GOVPULSE_DEAD_LETTER_BACKLOG", def.DeadLetterBacklog, "dead letters kept in memory while the DLQ stream cannot take them (and at most 64 MiB of them); when full, consuming pauses")
	methods := fs.String("methods", "GOVPULSE_METHODS", scoring.DefaultMethod, "comma-separated scoring methods computed side by side (known: "+strings.Join(scoring.Methods(), ", ")+"); a partition without every unit computes the default only")
	rescoreMethod := fs.String("method", "GOVPULSE_RESCORE_METHOD", "", "rescore only: the method to re-score the stream's history under")
	rescoreFrom := fs.String("from", "GOVPULSE_RESCORE_FROM", "", "rescore only: store the scores and rankings from this time on (RFC 3339; empty: all)")
	explain := fs.Bool("explain", "GOVPULSE_EXPLAIN", true, "write score_changes, score_causes and rank_changes, which explain every change of a score and of the ranking")
	explainDelay := fs.Duration("explain-delay", "GOVPULSE_EXPLAIN_DELAY", def.ExplainDelay, "under load, how long the explanation rows of a stored batch may wait to be written with those of later batches in one set of INSERTs (a score may be queryable that long before its explanation); written at once when the input goes idle on a quiet pipeline (100 ms without a batch) and before every checkpoint (0: with every batch)")
	explainMaxRows := fs.Int("explain-max-rows", "GOVPULSE_EXPLAIN_MAX_ROWS", def.ExplainMaxRows, "most explanation rows held for --explain-delay (about 250 bytes each); a batch that reaches it writes them")
	alertWindow := fs.Duration("alert-window", "GOVPULSE_ALERT_WINDOW", reviews.DefaultAlertWindow, "short window of event time over which a unit's bad-review rate is judged against its 30-day baseline (divides a day)")
	alertFactor := fs.String("alert-factor", "GOVPULSE_ALERT_FACTOR", strconv.FormatFloat(reviews.DefaultAlertFactor, 'g', -1, 64), "an alert is raised when the short window's bad-review rate exceeds the baseline times this")
	alertMinCount := fs.Int("alert-min-count", "GOVPULSE_ALERT_MIN_COUNT", reviews.DefaultAlertMinCount, "and the short window holds at least this many bad reviews")
	workdayRules := fs.String("workday-rules", "GOVPULSE_WORKDAY_RULES", "", "file of local working-day rules (lines \"2024-05-06 off\", \"2024-05-11 work\") over China's calendar, for rectification deadlines")
	newLogger := config.LogFlag(fs)
	archiveDLQ := fs.Bool("archive-dlq", "GOVPULSE_ARCHIVE_DLQ", true, "copy the DLQ stream into the ClickHouse dlq table (durable consumer dlq-archiver)")
	dlqRetention := fs.Duration("dlq-retention", "GOVPULSE_DLQ_RETENTION", archiveDef.Retention, "how long rows stay in the ClickHouse dlq table; whole months older are dropped (0: keep forever)")
	chSecurity := chstore.SecurityFlags(fs)
	chCluster := chstore.ClusterFlag(fs)
	security := natsjs.SecurityFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr)
	if err != nil {
		return err
	}

	if err := config.RefuseExampleSecrets("--nats-password (GOVPULSE_NATS_PASSWORD)", security().Password, "--clickhouse-dsn (GOVPULSE_CLICKHOUSE_DSN)", *dsn); err != nil {
		return err
	}
	cfg := aggregate.Config{
		Partition:          *partition,
		Names:              natsjs.Names{SubjectPrefix: *prefix},
		MaxBatch:           *maxBatch,
		FlushInterval:      *flushInterval,
		CheckpointInterval: *checkpointInterval,
		OutOfOrderness:     *outOfOrder,
		AllowedLateness:    *lateness,
		AppealHorizon:      *appealHorizon,
		Replicas:           *replicas,
		MaxItemsPerLevel:   *maxItems,
		PortalLimits:       portals.Limits{MaxPortals: *maxPortals, MaxItemsPerPortal: *maxPortalItems},
		MaxAhead:           *maxAhead,
		ClockTolerance:     *clockTolerance,
		DeadLetterBacklog:  *deadLetterBacklog,
		SchemaFaultGrace:   *schemaGrace,
		NoExplain:          !*explain,
		ExplainDelay:       *explainDelay,
		ExplainMaxRows:     *explainMaxRows,
	}
	if cfg.ExplainDelay == 0 {
		cfg.ExplainDelay = aggregate.ExplainNow
	}
	if *regions != "" {
		cfg.Regions = strings.Split(*regions, ",")
	}
	if cfg.Reviews, err = reviewsConfig(*alertWindow, *alertFactor, *alertMinCount, *workdayRules); err != nil {
		return err
	}
	if cfg.Methods, err = scoring.ParseMethods(*methods); err != nil {
		return fmt.Errorf("--methods: %w", err)
	}
	if rescore {
		if err := rescoreConfig(&cfg, *rescoreMethod, *rescoreFrom); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	archiveCfg := dlqarchive.Config{Names: cfg.Names, Retention: *dlqRetention}
	if archiveCfg.Retention == 0 {
		archiveCfg.Retention = dlqarchive.KeepForever
	}
	if err := archiveCfg.Validate(); err != nil {
		return err
	}

	chOpts, err := chSecurity()
	if err != nil {
		return err
	}
	storeOpts, err := chCluster()
	if err != nil {
		return err
	}
	natsOpts, err := security().Options()
	if err != nil {
		return err
	}
	conn, database, err := chstore.Dial(ctx, *dsn, chOpts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	store := chstore.New(conn, database, logger, storeOpts...)
	if err := migrate(ctx, store, logger); err != nil || migrateOnly {
		return err
	}

	logger.Info("nats security", "security", security().String())
	nc, err := natsjs.Connect(*natsURL, logger, append(natsOpts, nats.Name("govpulse-aggregate"), nats.RetryOnFailedConnect(true))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(aggregate.PutAckTimeout))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc, err := aggregate.New(cfg, js, store, logger, reg)
	if err != nil {
		return err
	}
	if rescore {
		return runRescore(ctx, svc, cfg, logger, stderr)
	}

	var archiver *dlqarchive.Archiver
	if *archiveDLQ && !rescore {
		archiver, err = dlqarchive.New(archiveCfg, js, store, logger, reg)
		if err != nil {
			return err
		}
	}

	srv := &http.Server{Addr: *addr, Handler: handler(svc, reg), ReadHeaderTimeout: 5 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		return svc.Run(gctx)
	})
	if archiver != nil {
		g.Go(func() error { return archiver.Run(gctx) })
	}
	return g.Wait()
}

// migrate applies the ClickHouse migrations, retrying while the server is not reachable yet.
func migrate(ctx context.Context, store *chstore.Store, logger *slog.Logger) error {
	err := retry.Do(ctx, retry.Policy{Initial: 200 * time.Millisecond, Max: 5 * time.Second},
		func() error { return store.Migrate(ctx) },
		func(err error, wait time.Duration) {
			logger.Warn("clickhouse migration failed; retrying", "error", err, "retry_in", wait)
		})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// handler serves /healthz (alive), /readyz (consuming and storing) and /metrics.
func handler(svc *aggregate.Service, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := svc.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// rescoreConfig turns the aggregator's configuration into the one of a re-scoring under method
// from the time from (RFC 3339, empty for all): its own partition (and checkpoint), that method
// alone.
func rescoreConfig(cfg *aggregate.Config, method, from string) error {
	if method == "" {
		return errors.New("rescore: --method is required")
	}
	ids, err := scoring.ParseMethods(method)
	if err != nil || len(ids) != 1 {
		return fmt.Errorf("rescore: --method %q: one of %s", method, strings.Join(scoring.Methods(), ", "))
	}
	if from != "" {
		t, err := time.Parse(time.RFC3339Nano, from)
		if err != nil {
			return fmt.Errorf("rescore: --from %q: %w", from, err)
		}
		cfg.From = t
	}
	cfg.Partition, cfg.Methods, cfg.Rescore = aggregate.RescorePartition(ids[0]), ids, true
	if len(cfg.Regions) != 0 && len(cfg.Regions) != len(aggregate.Config{}.WithDefaults().Regions) {
		return errors.New("rescore: --regions: a re-scoring holds every unit")
	}
	return nil
}

// runRescore runs the re-scoring svc until it has stored the method's rows for every message the
// stream held when it started (or ctx is done), showing its progress: a bar redrawn in place on a
// terminal, a log line every 10 seconds otherwise.
func runRescore(ctx context.Context, svc *aggregate.Service, cfg aggregate.Config, logger *slog.Logger, stderr io.Writer) error {
	from := "the first event"
	if !cfg.From.IsZero() {
		from = cfg.From.UTC().Format(time.RFC3339Nano)
	}
	logger.Info("re-scoring the stream", "method", cfg.Methods[0], "rows_from", from,
		"checkpoint", natsjs.CheckpointObject(cfg.Partition))
	terminal := isTerminal(stderr)
	every := 10 * time.Second
	if terminal {
		every = 200 * time.Millisecond
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			p := svc.Progress()
			if terminal {
				fmt.Fprintf(stderr, "\r%s\n", p.Bar(30))
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				logger.Warn("re-scoring interrupted; the next run resumes from its checkpoint", "progress", p.String())
				return nil
			}
			logger.Info("re-scoring done", "method", cfg.Methods[0], "progress", p.String())
			return nil
		case <-tick.C:
			p := svc.Progress()
			if p.Target == 0 && p.Done == 0 {
				continue // not set up yet
			}
			if terminal {
				fmt.Fprintf(stderr, "\r%s", p.Bar(30))
			} else {
				logger.Info("re-scoring", "method", cfg.Methods[0], "events", p.Done, "of", p.Target, "progress", p.String())
			}
		}
	}
}

// isTerminal reports whether w is a terminal (a character device), where a progress bar can be
// redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// reviewsConfig builds the configuration of the lifecycle of reviews from the flags.
func reviewsConfig(window time.Duration, factor string, minCount int, rulesFile string) (reviews.Config, error) {
	f, err := strconv.ParseFloat(factor, 64)
	if err != nil || f <= 0 {
		return reviews.Config{}, fmt.Errorf("--alert-factor %q: must be a number above 0", factor)
	}
	if window <= 0 || minCount <= 0 {
		return reviews.Config{}, fmt.Errorf("--alert-window %v and --alert-min-count %d: must be above 0", window, minCount)
	}
	cfg := reviews.Config{AlertWindow: window, AlertFactor: f, AlertMinCount: minCount}
	if rulesFile != "" {
		file, err := os.Open(rulesFile)
		if err != nil {
			return cfg, fmt.Errorf("--workday-rules: %w", err)
		}
		defer func() { _ = file.Close() }()
		rules, err := workdays.ParseRules(file)
		if err != nil {
			return cfg, fmt.Errorf("--workday-rules %s: %w", rulesFile, err)
		}
		cfg.Calendar = workdays.China(rules)
	}
	return cfg, nil
}
