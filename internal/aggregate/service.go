package aggregate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/retry"
)

// batchWriter stores one flush worth of rows, isolating the rows ClickHouse refuses (see
// flush.go); *chstore.Store implements it.
type batchWriter interface {
	WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error)
}

// Service consumes one partition of the EVENTS stream and maintains its outputs. Run splits the
// work between a reader (read.go), which owns the engine, and a flusher (flush.go), which owns
// everything written; they share no state: batches go from one to the other through a channel,
// and each reports its own conditions to readiness (readiness.go).
type Service struct {
	cfg     Config
	js      jetstream.JetStream
	store   batchWriter
	log     *slog.Logger
	metrics *metrics
	ready   readiness

	// progress is the stream sequence of the last message read, start the one it started after,
	// target, for a re-scoring, the last sequence of the stream when it started, and startedAt
	// when (Unix nanoseconds): Progress.
	progress, start, target atomic.Uint64
	startedAt               atomic.Int64
	// handOver counts the batches handed to the flusher and passed on by it.
	handOver handOver

	// Made by Run's setup before its loops start; each is then owned by its loop.
	reader  *reader
	flusher *flusher
	ranker  *ranker // nil unless the partition ranks all units (Config.ranks)
}

// New returns a Service that reads from js and writes to store. A nil logger discards logs; a nil
// registerer registers no metrics. It fails on an invalid cfg, nil dependencies or when the
// metrics cannot be registered (a prometheus.AlreadyRegisteredError, wrapped).
func New(cfg Config, js jetstream.JetStream, store batchWriter, logger *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil || store == nil {
		return nil, errors.New("aggregate: new: JetStream and store are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:     cfg,
		js:      js,
		store:   store,
		log:     logger.With("component", "aggregate", "partition", cfg.Partition),
		metrics: m,
	}
	s.ready.set(condConsuming, "starting")
	return s, nil
}

// Ready returns nil when the service is consuming, its last write succeeded and no dead letter
// waits for the DLQ stream, or an error that lists every reason why not (consuming, then
// ClickHouse, then dead letters). It is safe for concurrent use.
func (s *Service) Ready() error { return s.ready.Err() }

// Run consumes until ctx is done, then stops consuming, stores what it has read, writes a
// checkpoint and returns. It returns an error only when it cannot go on (for example when the
// checkpoint is older than the stream's first event) or when the final store or checkpoint did
// not finish within ShutdownTimeout.
//
// Run owns two loops: the consuming loop (this goroutine, the reader) reads, applies and cuts
// batches, and a flusher goroutine stores, publishes and checkpoints them in order, so that reading
// goes on while a batch is written. At most one batch waits while another is being written; while
// ClickHouse fails, the flusher retries and the consuming loop waits, so memory stays bounded.
func (s *Service) Run(ctx context.Context) error {
	r, f, err := s.setup(ctx)
	if err != nil {
		return err
	}
	if s.cfg.ranks() {
		s.ranker = newRanker(s, f.kv, f.published[natsjs.RankingKey])
	}
	s.reader, s.flusher = r, f
	s.log.Info("consuming", "from_sequence", r.lastSeq+1, "regions", len(s.cfg.Regions), "methods", s.cfg.Methods)

	f.stopping = ctx
	// The flusher outlives ctx: at shutdown it gets ShutdownTimeout to finish what was handed to it.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	jobs := make(chan *flushJob)
	flushed := make(chan error, 1)
	go func() { flushed <- f.run(flushCtx, jobs) }()
	if s.ranker != nil {
		ranked := make(chan error, 1)
		go func() { ranked <- s.ranker.run(ctx) }()
		defer func() { <-ranked }() // it returns once ctx is done
	}

	wait := retry.NewBackoff(s.cfg.retryPolicy())
	for ctx.Err() == nil && !r.caughtUp() {
		err := r.consume(ctx, jobs)
		if err == nil || ctx.Err() != nil || errors.Is(err, errCaughtUp) {
			break
		}
		s.ready.set(condConsuming, "consuming: "+err.Error())
		d, _ := wait.Next()
		s.log.Warn("consumer stopped; resuming", "error", err, "from_sequence", r.lastSeq+1, "retry_in", d)
		if !retry.Wait(ctx, d) {
			break
		}
	}
	return s.shutdown(r, jobs, flushed, cancelFlush)
}

// Progress returns how far Run got: the stream sequence it started after, the one of the last
// message read and, for a re-scoring (Config.Rescore), the last sequence of the stream when it
// started, which it reads up to (0 otherwise); all 0 before Run has set up. It is safe for
// concurrent use.
func (s *Service) Progress() RescoreProgress {
	p := RescoreProgress{Start: s.start.Load(), Done: s.progress.Load(), Target: s.target.Load()}
	if at := s.startedAt.Load(); at != 0 {
		p.Elapsed = time.Since(time.Unix(0, at))
	}
	return p
}

// errCaughtUp ends the consuming loop of a re-scoring that read every message it had to.
var errCaughtUp = errors.New("aggregate: rescore caught up")

// caughtUp reports whether a re-scoring has read every message it had to.
func (s *reader) caughtUp() bool { return s.cfg.Rescore && s.lastSeq >= s.stopAt }

// shutdown hands the last batch (with a final checkpoint) to the flusher and waits for it to
// finish, at most ShutdownTimeout.
func (s *Service) shutdown(r *reader, jobs chan<- *flushJob, flushed <-chan error, cancelFlush context.CancelFunc) error {
	s.ready.set(condConsuming, "shutting down")
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	final := []*flushJob{r.cutReady, r.cut(true)}
	r.cutReady = nil
	for _, j := range final {
		if j == nil {
			continue
		}
		select {
		case jobs <- j:
			r.handOver.handed.Store(j.id)
		case err := <-flushed:
			return fmt.Errorf("aggregate: flusher stopped: %w", err)
		case <-timer.C:
			cancelFlush()
			<-flushed
			return fmt.Errorf("aggregate: shutdown: batches not stored within %s; they will be replayed", s.cfg.ShutdownTimeout)
		}
	}
	close(jobs)
	select {
	case err := <-flushed:
		if err != nil {
			return err
		}
	case <-timer.C:
		cancelFlush()
		<-flushed
		return fmt.Errorf("aggregate: shutdown: the last batch was not stored within %s; it will be replayed", s.cfg.ShutdownTimeout)
	}
	s.log.Info("stopped", "last_sequence", r.lastSeq)
	return nil
}

// setup prepares the buckets and returns the reader, with the engine restored from the
// checkpoint or empty, and the flusher, with the versions already published.
func (s *Service) setup(ctx context.Context) (*reader, *flusher, error) {
	var (
		r *reader
		f *flusher
	)
	err := retry.Do(ctx, s.cfg.retryPolicy(), func() error {
		var err error
		r, f, err = s.trySetup(ctx)
		if errors.Is(err, errCheckpointGap) {
			return retry.Permanent(err)
		}
		if err != nil && ctx.Err() == nil {
			s.ready.set(condConsuming, "setup: "+err.Error())
		}
		return err
	}, func(err error, wait time.Duration) {
		s.log.Warn("setup failed; retrying", "error", err, "retry_in", wait)
	})
	switch {
	case errors.Is(err, errCheckpointGap):
		return nil, nil, err
	case err != nil:
		return nil, nil, fmt.Errorf("aggregate: setup: %w", err)
	}
	return r, f, nil
}

func (s *Service) trySetup(ctx context.Context) (*reader, *flusher, error) {
	// ingest owns the streams' settings; the aggregator creates them with the defaults only when
	// it starts first, so that it never overwrites what ingest configured.
	if _, err := s.js.Stream(ctx, s.cfg.Names.EventsStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		if err := natsjs.EnsureStreams(ctx, s.js, s.cfg.Names, natsjs.StreamOptions{Replicas: s.cfg.Replicas}); err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("aggregate: stream %s: %w", s.cfg.Names.EventsStream, err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, s.js, s.cfg.Names, s.cfg.Replicas)
	if err != nil {
		return nil, nil, err
	}
	obj, err := natsjs.EnsureCheckpointStore(ctx, s.js, s.cfg.Names, s.cfg.Replicas)
	if err != nil {
		return nil, nil, err
	}
	f := newFlusher(s, kv, obj)
	info, err := s.js.Stream(ctx, s.cfg.Names.EventsStream)
	if err != nil {
		return nil, nil, fmt.Errorf("aggregate: stream info: %w", err)
	}
	state := info.CachedInfo().State
	if err := f.loadPublished(ctx, state.LastSeq); err != nil {
		return nil, nil, err
	}
	r := newReader(s)
	if err := r.restore(ctx, obj, state); err != nil {
		return nil, nil, err
	}
	if s.cfg.Rescore {
		r.stopAt = state.LastSeq
		s.target.Store(state.LastSeq)
	}
	s.progress.Store(r.lastSeq)
	s.start.Store(r.lastSeq)
	s.startedAt.Store(time.Now().UnixNano())
	return r, f, nil
}

// consume reads messages from the sequence after the last one read until ctx is done or the
// consumer fails, and hands each batch to the flusher when cutReason says so: when it is full or,
// in a partition of some units, its last sequence is a multiple of MaxBatch, and, while the
// flusher waits for work, when its oldest message has waited FlushInterval or it ends at the end
// of the stream, unless the messages pending in the stream fill it (a backlog: it is then cut
// full). The end-of-stream rule keeps a lone event on a quiet pipeline from waiting for the timer,
// while under load batches grow as long as the flusher is busy with the previous one.
func (s *reader) consume(ctx context.Context, jobs chan<- *flushJob) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: s.filterSubjects(),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if s.lastSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = s.lastSeq + 1
	}
	cons, err := s.js.OrderedConsumer(ctx, s.cfg.Names.EventsStream, cfg)
	if err != nil {
		return fmt.Errorf("aggregate: create consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(s.cfg.Prefetch))
	if err != nil {
		return fmt.Errorf("aggregate: start consumer: %w", err)
	}
	defer it.Stop()
	s.ready.clear(condConsuming)

	var oldest time.Time   // when the oldest message of the batch was read
	lastSeen := time.Now() // when a message came, the flusher took a batch or the consumer was checked
	var waits nextWait
	defer waits.stop()
	for ctx.Err() == nil {
		// At most a second, so that a long flush interval does not delay shutdown.
		wait := time.Second
		now := time.Now()
		if s.batch.messages > 0 {
			waited := now.Sub(oldest)
			wait = min(wait, max(time.Millisecond, s.cfg.FlushInterval-waited))
			switch {
			case waited >= s.cfg.FlushInterval:
				// Due, but the flusher is busy: look again soon whether it has finished.
				wait = idlePoll
			case s.atEnd:
				// Look again soon whether the flusher has finished the previous batch.
				wait = min(wait, idlePoll)
			}
		}
		msg, err := it.Next(waits.until(ctx, now, now.Add(wait)))
		switch {
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			if time.Since(lastSeen) >= consumerCheckInterval {
				lastSeen = time.Now()
				if err := consumerStalled(ctx, cons); err != nil {
					return err
				}
			}
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("aggregate: next message: %w", err)
		default:
			lastSeen = time.Now()
			if s.batch.messages == 0 {
				oldest = lastSeen
			}
			s.read(msg)
		}
		if why := s.cutReason(oldest); why != "" {
			s.metrics.cuts.WithLabelValues(why).Inc()
			s.cutReady = s.cut(false)
			s.cutReady.idle = why == cutIdle
			s.cutReady.oldest = oldest
			select {
			case jobs <- s.cutReady:
				s.handOver.handed.Store(s.cutReady.id)
				s.cutReady = nil
				lastSeen = time.Now() // the wait for the flusher is not the consumer's
			case <-ctx.Done():
				return nil // shutdown hands it over
			}
		}
		s.progress.Store(s.lastSeq)
		if s.caughtUp() {
			return errCaughtUp // shutdown stores the last batch and checkpoints
		}
	}
	return nil
}

// nextWait bounds consume's waits for the next message by a deadline context shared by
// consecutive calls of Next. A wait of its own per call (jetstream.NextMaxWait) starts and stops a
// timer for every message, a twentieth of the reader's time on a backlog; a shared deadline is
// made again only once it has passed or when a wait must end sooner.
type nextWait struct {
	deadline time.Time
	opt      jetstream.NextOpt
	cancel   context.CancelFunc
}

// until returns the option that makes Next return at deadline at the latest: the current one when
// it ends no later than deadline and has not passed by now, else a new one. A wait may thus end
// sooner than asked, never later; consume then merely looks at its batch again.
func (w *nextWait) until(ctx context.Context, now, deadline time.Time) jetstream.NextOpt {
	if w.opt != nil && !w.deadline.After(deadline) && now.Before(w.deadline) {
		return w.opt
	}
	w.stop()
	wctx, cancel := context.WithDeadline(ctx, deadline)
	w.deadline, w.opt, w.cancel = deadline, jetstream.NextContext(wctx), cancel
	return w.opt
}

// stop releases the current deadline.
func (w *nextWait) stop() {
	if w.cancel != nil {
		w.cancel()
		w.cancel, w.opt = nil, nil
	}
}

// The reasons a batch is cut (label of govpulse_aggregate_batches_total).
const (
	cutFull     = "full"     // MaxBatch messages, or (a partition of some units) a sequence that is a multiple of MaxBatch
	cutInterval = "interval" // the oldest message waited FlushInterval
	cutIdle     = "idle"     // the end of the stream while the flusher waits
)

// idlePoll is how often a reader at the end of the stream with a batch in hand looks whether the
// flusher has become free.
const idlePoll = 5 * time.Millisecond

// cutReason returns why the batch whose oldest message was read at oldest must be cut now, and ""
// when it must not.
func (s *reader) cutReason(oldest time.Time) string {
	switch {
	case s.batch.messages == 0:
		return ""
	case s.batch.messages >= s.cfg.MaxBatch:
		return cutFull
	// A partition of some units also ends its batches at the multiples of MaxBatch in stream
	// sequence: partitions, which all read every message, then share these cuts, and the ranker
	// merges their parts (ranker.go). A partition of every unit has no parts to share: such a cut
	// would only add a flush, whose cost grows with the units it changed, not with its messages
	// (over every unit of the hierarchy a few hundred messages cost a whole flush).
	case !s.cfg.allRegions() && s.lastSeq%uint64(s.cfg.MaxBatch) == 0:
		return cutFull
	// A batch handed over while the flusher still writes the previous one's scores would only
	// wait for it, and the reader with it: while the flusher is busy the batch grows (up to
	// MaxBatch) instead, so that a slow ClickHouse gets fewer, larger INSERTs rather than the
	// reader stalling. The flusher is busy until it has taken every batch handed to it and passed
	// it on past its scores: a flag it set itself once it took a batch would still read "waiting"
	// for as long as its goroutine was not scheduled after the hand-over.
	case !s.handOver.free():
		return ""
	// On a backlog whose messages already in the stream fill the batch, it is cut full: every
	// flush costs ClickHouse the files of about ten parts whatever its rows, about as much server
	// CPU as 60,000 events' rows on 18.16 (docs/benchmarks.md), so a drain that cut on the interval
	// whenever the flusher was free wrote twice as many flushes for the same rows. A live stream
	// never has that many messages waiting, and its batches are cut as before.
	case s.pending >= uint64(s.cfg.MaxBatch-s.batch.messages):
		return ""
	case time.Since(oldest) >= s.cfg.FlushInterval:
		return cutInterval
	case s.atEnd:
		return cutIdle
	}
	return ""
}

// consumerCheckInterval is how long the consumer may deliver nothing before consume asks the
// server about it.
const consumerCheckInterval = 5 * time.Second

// consumerStalled returns an error when the server no longer knows the ordered consumer, or knows
// it with messages pending that it has not delivered for consumerCheckInterval. An ordered consumer
// is a single in-memory replica on one server of a cluster: when that server is killed the
// consumer is gone, and a pull request can be lost while servers restart, while the client,
// connected to another server, never hears of it (each Next of at most a second restarts the
// client's heartbeat check), so it would wait forever. The error makes consume create the consumer
// again from the sequence after the last one read. Other errors (no answer during a failover) are
// left to the next check.
func consumerStalled(ctx context.Context, cons jetstream.Consumer) error {
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := cons.Info(ictx)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return fmt.Errorf("aggregate: consumer lost (its server restarted): %w", err)
	case err == nil && info.NumPending > 0:
		return fmt.Errorf("aggregate: consumer stalled: %d messages pending, none delivered for %s (%d pull requests waiting)",
			info.NumPending, consumerCheckInterval, info.NumWaiting)
	}
	return nil
}

// filterSubjects are the subjects the partition consumes: all of the stream's, whatever its
// regions, since every partition follows the watermark of the whole stream (see read).
func (s *reader) filterSubjects() []string {
	return []string{s.cfg.Names.EventsSubjects()}
}

// retryPolicy is how the service waits between attempts: from 100ms up to RetryMaxInterval, until
// the context is done.
func (c Config) retryPolicy() retry.Policy {
	return retry.Policy{Initial: 100 * time.Millisecond, Max: c.RetryMaxInterval}
}
