package dlqarchive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/retry"
)

// Defaults of Config.
const (
	DefaultConsumer    = natsjs.DLQArchiveConsumer
	DefaultBatchSize   = 500
	DefaultFetchWait   = time.Second
	DefaultAckWait     = time.Minute
	DefaultMaxBackoff  = 30 * time.Second
	DefaultDrainBudget = 5 * time.Second
	// DefaultRetention is how long rows stay in the dlq table: 90 days.
	DefaultRetention = 90 * 24 * time.Hour
	// DefaultRetentionInterval is how often the archiver looks for months to drop.
	DefaultRetentionInterval = time.Hour
	// KeepForever as Config.Retention keeps every row of the dlq table.
	KeepForever time.Duration = -1
)

// Config configures an Archiver. The zero value means the defaults.
type Config struct {
	// Names are the stream names (natsjs defaults).
	Names natsjs.Names
	// Consumer is the durable consumer name (DefaultConsumer).
	Consumer string
	// BatchSize is the most messages written with one insert
	// (DefaultBatchSize).
	BatchSize int
	// FetchWait bounds one fetch when the stream has nothing new
	// (DefaultFetchWait); it is also how quickly Run notices shutdown.
	FetchWait time.Duration
	// AckWait is how long the server waits for an acknowledgement before it
	// redelivers (DefaultAckWait); the archiver extends it while it retries.
	AckWait time.Duration
	// MaxBackoff caps the delay between two write attempts
	// (DefaultMaxBackoff).
	MaxBackoff time.Duration
	// DrainBudget bounds the last write of the batch in hand at shutdown
	// (DefaultDrainBudget).
	DrainBudget time.Duration
	// Retention is how long rows stay in the dlq table (DefaultRetention;
	// KeepForever, or any negative value, keeps them). A monthly partition
	// is dropped once the whole month is older than Retention.
	Retention time.Duration
	// RetentionInterval is how often the archiver drops the months older
	// than Retention (DefaultRetentionInterval); it also does so at start.
	RetentionInterval time.Duration
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.Names = c.Names.WithDefaults()
	if c.Consumer == "" {
		c.Consumer = DefaultConsumer
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FetchWait == 0 {
		c.FetchWait = DefaultFetchWait
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.DrainBudget == 0 {
		c.DrainBudget = DefaultDrainBudget
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = DefaultRetentionInterval
	}
	return c
}

// Validate reports whether c, with its defaults, is usable.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.Names.Validate(); err != nil {
		return fmt.Errorf("dlqarchive: %w", err)
	}
	if c.BatchSize < 1 {
		return fmt.Errorf("dlqarchive: batch size %d: must be positive", c.BatchSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"fetch wait", c.FetchWait}, {"ack wait", c.AckWait}, {"max backoff", c.MaxBackoff},
		{"drain budget", c.DrainBudget}, {"retention interval", c.RetentionInterval},
	} {
		if d.v <= 0 {
			return fmt.Errorf("dlqarchive: %s %s: must be positive", d.name, d.v)
		}
	}
	return nil
}

// Store is what an Archiver needs of ClickHouse; *chstore.Store is one.
type Store interface {
	WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error)
	DropMonthsBefore(ctx context.Context, table string, cutoff time.Time) ([]string, error)
}

// Archiver copies the DLQ stream into the dlq table and drops the table's
// months older than the retention. Run it once.
type Archiver struct {
	cfg     Config
	js      jetstream.JetStream
	store   Store
	log     *slog.Logger
	metrics *metrics
}

// New returns an Archiver. A nil logger discards; a nil reg registers no
// metrics. It fails on an invalid cfg, nil dependencies or when the
// metrics cannot be registered.
func New(cfg Config, js jetstream.JetStream, store Store, logger *slog.Logger, reg prometheus.Registerer) (*Archiver, error) {
	if js == nil || store == nil {
		return nil, errors.New("dlqarchive: new: nil JetStream or store")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Archiver{cfg: cfg, js: js, store: store, log: logger.With("component", "dlqarchive"), metrics: m}, nil
}

// Run archives until ctx is done. It waits (with backoff) for the DLQ
// stream to exist, then fetches, writes and acknowledges batch after batch.
// At shutdown it makes one last attempt, bounded by Config.DrainBudget, to
// write and acknowledge the batch in hand; what it cannot write stays
// unacknowledged and is redelivered to the next run. Meanwhile, unless
// Config.Retention is negative, it drops the months of the dlq table older
// than the retention, at start and every Config.RetentionInterval. Run
// returns nil when ctx is done, or an error the archiver cannot get past.
func (a *Archiver) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.archiveLoop(gctx) })
	if a.cfg.Retention > 0 {
		g.Go(func() error { return a.retentionLoop(gctx) })
	}
	return g.Wait()
}

// retentionLoop drops old months of the dlq table until ctx is done. A
// failure is logged and counted, and tried again at the next interval.
func (a *Archiver) retentionLoop(ctx context.Context) error {
	for {
		cutoff := time.Now().Add(-a.cfg.Retention)
		dropped, err := a.store.DropMonthsBefore(ctx, "dlq", cutoff)
		a.metrics.partitionsDropped.Add(float64(len(dropped)))
		if len(dropped) > 0 {
			a.log.Info("dropped old months of the dlq table", "partitions", dropped, "retention", a.cfg.Retention)
		}
		if err != nil && ctx.Err() == nil {
			a.metrics.retentionErrors.Inc()
			a.log.Warn("dropping old months of the dlq table failed; retrying later", "error", err, "retry_in", a.cfg.RetentionInterval)
		}
		if !retry.Wait(ctx, a.cfg.RetentionInterval) {
			return nil
		}
	}
}

// archiveLoop is Run's archiving part.
func (a *Archiver) archiveLoop(ctx context.Context) error {
	cons, err := a.consumer(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.log.Info("archiving", "stream", a.cfg.Names.DLQStream, "consumer", a.cfg.Consumer)
	for ctx.Err() == nil {
		batch, err := cons.Fetch(a.cfg.BatchSize, jetstream.FetchMaxWait(a.cfg.FetchWait))
		if err != nil {
			a.metrics.fetchErrors.Inc()
			a.log.Warn("fetch failed", "error", err)
			if !retry.Wait(ctx, a.cfg.FetchWait) {
				return nil
			}
			continue
		}
		var msgs []jetstream.Msg
		for msg := range batch.Messages() {
			msgs = append(msgs, msg)
		}
		if err := batch.Error(); err != nil {
			a.log.Debug("fetch ended", "error", err)
		}
		if len(msgs) == 0 {
			continue
		}
		a.archive(ctx, msgs)
	}
	return nil
}

// consumer creates or updates the durable consumer, retrying while the
// stream does not exist or the server does not answer.
func (a *Archiver) consumer(ctx context.Context) (jetstream.Consumer, error) {
	var cons jetstream.Consumer
	op := func() error {
		var err error
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cons, err = a.js.CreateOrUpdateConsumer(cctx, a.cfg.Names.DLQStream, jetstream.ConsumerConfig{
			Durable:       a.cfg.Consumer,
			Description:   "archives dead letters into the ClickHouse dlq table",
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       a.cfg.AckWait,
			MaxAckPending: 4 * a.cfg.BatchSize,
		})
		return err
	}
	notify := func(err error, d time.Duration) {
		a.log.Warn("cannot create the DLQ consumer yet; retrying", "stream", a.cfg.Names.DLQStream, "error", err, "retry_in", d)
	}
	if err := retry.Do(ctx, a.retryPolicy(), op, notify); err != nil {
		return nil, fmt.Errorf("dlqarchive: consumer %s on %s: %w", a.cfg.Consumer, a.cfg.Names.DLQStream, err)
	}
	return cons, nil
}

// archive writes msgs, retrying until the write succeeds, then acknowledges
// them. When ctx ends first it makes one last bounded attempt. Rows that
// ClickHouse refuses for good (chstore.RowError) are isolated from the batch,
// logged with their stream sequence and counted, and acknowledged with the
// rest, so that one bad row cannot stall the archive; schema faults and
// transient failures are retried until they pass.
func (a *Archiver) archive(ctx context.Context, msgs []jetstream.Msg) {
	rows := make([]chstore.DLQRow, 0, len(msgs))
	for _, m := range msgs {
		row, err := Row(m)
		if err != nil {
			// Messages of a pull consumer always carry metadata; one
			// without cannot be keyed, so it is logged and skipped.
			a.log.Error("dead letter without stream metadata; skipped", "subject", m.Subject(), "error", err)
			continue
		}
		rows = append(rows, row)
	}
	var refused []chstore.Refused
	write := func(ctx context.Context) error {
		start := time.Now()
		r, err := a.store.WriteIsolated(ctx, chstore.Batch{DLQ: rows}, false)
		if err != nil {
			a.metrics.writeErrors.Inc()
			return err
		}
		refused = r
		a.metrics.writeSeconds.Observe(time.Since(start).Seconds())
		return nil
	}
	notify := func(err error, d time.Duration) {
		a.log.Warn("clickhouse write failed; retrying", "rows", len(rows), "error", err, "retry_in", d)
		for _, m := range msgs {
			_ = m.InProgress() // keep the server from redelivering meanwhile
		}
	}
	err := retry.Do(ctx, a.retryPolicy(), func() error { return write(ctx) }, notify)
	if err != nil && ctx.Err() != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.DrainBudget)
		defer cancel()
		err = write(dctx)
	}
	if err != nil {
		a.log.Warn("batch not archived; it will be redelivered", "rows", len(rows), "error", err)
		return
	}
	for _, r := range refused {
		// The row stays in the DLQ stream (until its retention); the log
		// names it so that it can be found there.
		row := rows[r.Row]
		a.metrics.refused.Inc()
		a.log.Error("clickhouse refused a dead letter; it stays only in the DLQ stream", "stage", row.Stage,
			"stream_seq", row.StreamSeq, "reason_code", row.ReasonCode, "event_id", row.EventID, "error", r.Err)
	}
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			a.log.Warn("ack failed; the message will be archived again", "error", err)
		}
	}
	a.metrics.archived.Add(float64(len(rows) - len(refused)))
}

// retryPolicy is how the archiver waits between attempts: from 100ms up to MaxBackoff, until the
// context is done.
func (a *Archiver) retryPolicy() retry.Policy {
	return retry.Policy{Initial: 100 * time.Millisecond, Max: a.cfg.MaxBackoff}
}

// Row converts a DLQ message to a row of the dlq table. It fails when the
// message carries no JetStream metadata (its stream sequence).
func Row(m jetstream.Msg) (chstore.DLQRow, error) {
	md, err := m.Metadata()
	if err != nil {
		return chstore.DLQRow{}, fmt.Errorf("dlqarchive: metadata: %w", err)
	}
	h := m.Headers()
	received, err := time.Parse(time.RFC3339Nano, h.Get(natsjs.HeaderReceivedAt))
	if err != nil {
		received = md.Timestamp // the time the stream stored it
	}
	stage := h.Get(natsjs.HeaderStage)
	if stage == "" {
		stage = "unknown"
	}
	return chstore.DLQRow{
		Stage:      stage,
		Reason:     h.Get(natsjs.HeaderReason),
		ReasonCode: h.Get(natsjs.HeaderReasonCode),
		Source:     h.Get(natsjs.HeaderSource),
		ReceivedAt: received.UTC(),
		StreamSeq:  md.Sequence.Stream,
		EventID:    h.Get(natsjs.HeaderEventID),
		Region:     h.Get(natsjs.HeaderRegion),
		Type:       h.Get(natsjs.HeaderType),
		Body:       string(m.Data()),
	}, nil
}
