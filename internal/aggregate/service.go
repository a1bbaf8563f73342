package aggregate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
)

// batchWriter stores one flush worth of rows, isolating the rows ClickHouse refuses (see
// flush.go); *chstore.Store implements it.
type batchWriter interface {
	WriteIsolated(ctx context.Context, b chstore.Batch, schemaFaults bool) ([]chstore.Refused, error)
}

// Service consumes one partition of the EVENTS stream and maintains its outputs.
type Service struct {
	cfg     Config
	js      jetstream.JetStream
	store   batchWriter
	log     *slog.Logger
	metrics *metrics

	notReady          atomic.Pointer[string] // nil when ready; otherwise why not
	deadLetterProblem atomic.Pointer[string] // nil while no dead letter waits; otherwise why they wait
	heldBack          atomic.Bool            // the flusher did not write the last checkpoint handed to it

	// Owned by Run's consuming side.
	eng          *engine.Engine
	lastSeq      uint64   // stream sequence of the last message read (applied or not)
	batch        *pending // read since the last cut
	cutReady     *flushJob
	snapshotSeq  uint64    // last sequence of the last snapshot handed to the flusher
	lastSnapshot time.Time // when it was taken

	// Owned by the flusher (set up before it starts).
	kv                 jetstream.KeyValue
	checkpoints        jetstream.ObjectStore
	published          map[string]uint64 // latest-value key -> version published
	watermarkPublished time.Time         // the watermark last put in the latest-value bucket
	backlog            []deadLetter      // dead letters of stored batches not yet in the DLQ stream
	backlogBytes       int               // bytes of data in backlog
	stopping           <-chan struct{}   // closed when Run's context is done
}

// New returns a Service that reads from js and writes to store. A nil logger discards logs; a nil
// registerer registers no metrics.
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
	s := &Service{
		cfg:       cfg,
		js:        js,
		store:     store,
		log:       logger.With("component", "aggregate", "partition", cfg.Partition),
		metrics:   newMetrics(reg),
		published: make(map[string]uint64),
		batch:     &pending{},
	}
	s.setNotReady("starting")
	return s, nil
}

// Ready returns nil when the service is consuming, its last write succeeded and no dead letter
// waits for the DLQ stream, or an error that says why not. It is safe for concurrent use.
func (s *Service) Ready() error {
	if why := s.notReady.Load(); why != nil {
		return errors.New(*why)
	}
	if why := s.deadLetterProblem.Load(); why != nil {
		return errors.New(*why)
	}
	return nil
}

func (s *Service) setNotReady(why string) { s.notReady.Store(&why) }
func (s *Service) setReady()              { s.notReady.Store(nil) }

// Run consumes until ctx is done, then stops consuming, stores what it has read, writes a
// checkpoint and returns. It returns an error only when it cannot go on (for example when the
// checkpoint is older than the stream's first event) or when the final store or checkpoint did
// not finish within ShutdownTimeout.
//
// Run owns two loops: the consuming loop (this goroutine) reads, applies and cuts batches, and a
// flusher goroutine stores, publishes and checkpoints them in order, so that reading goes on while
// a batch is written. At most one batch waits while another is being written; while ClickHouse
// fails, the flusher retries and the consuming loop waits, so memory stays bounded.
func (s *Service) Run(ctx context.Context) error {
	if err := s.setup(ctx); err != nil {
		return err
	}
	s.log.Info("consuming", "from_sequence", s.lastSeq+1, "regions", len(s.cfg.Regions))

	s.stopping = ctx.Done()
	// The flusher outlives ctx: at shutdown it gets ShutdownTimeout to finish what was handed to it.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	jobs := make(chan *flushJob)
	flushed := make(chan error, 1)
	go func() { flushed <- s.runFlusher(flushCtx, jobs) }()

	retry := s.newBackoff()
	for ctx.Err() == nil {
		err := s.consume(ctx, jobs)
		if err == nil || ctx.Err() != nil {
			break
		}
		s.setNotReady("consuming: " + err.Error())
		wait := retry.NextBackOff()
		s.log.Warn("consumer stopped; resuming", "error", err, "from_sequence", s.lastSeq+1, "retry_in", wait)
		if !sleepCtx(ctx, wait) {
			break
		}
	}
	return s.shutdown(jobs, flushed, cancelFlush)
}

// shutdown hands the last batch (with a final checkpoint) to the flusher and waits for it to
// finish, at most ShutdownTimeout.
func (s *Service) shutdown(jobs chan<- *flushJob, flushed <-chan error, cancelFlush context.CancelFunc) error {
	s.setNotReady("shutting down")
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	final := []*flushJob{s.cutReady, s.cut(true)}
	s.cutReady = nil
	for _, j := range final {
		if j == nil {
			continue
		}
		select {
		case jobs <- j:
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
	s.log.Info("stopped", "last_sequence", s.lastSeq)
	return nil
}

// setup prepares the buckets and restores the engine from the checkpoint, or starts empty.
func (s *Service) setup(ctx context.Context) error {
	retry := s.newBackoff()
	for {
		err := s.trySetup(ctx)
		if err == nil || errors.Is(err, errCheckpointGap) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("aggregate: setup: %w", err)
		}
		s.setNotReady("setup: " + err.Error())
		wait := retry.NextBackOff()
		s.log.Warn("setup failed; retrying", "error", err, "retry_in", wait)
		if !sleepCtx(ctx, wait) {
			return fmt.Errorf("aggregate: setup: %w", err)
		}
	}
}

func (s *Service) trySetup(ctx context.Context) error {
	// ingest owns the streams' settings; the aggregator creates them with the defaults only when
	// it starts first, so that it never overwrites what ingest configured.
	if _, err := s.js.Stream(ctx, s.cfg.Names.EventsStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		if err := natsjs.EnsureStreams(ctx, s.js, s.cfg.Names, natsjs.StreamOptions{Replicas: s.cfg.Replicas}); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("aggregate: stream %s: %w", s.cfg.Names.EventsStream, err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, s.js, s.cfg.Names, s.cfg.Replicas)
	if err != nil {
		return err
	}
	obj, err := natsjs.EnsureCheckpointStore(ctx, s.js, s.cfg.Names, s.cfg.Replicas)
	if err != nil {
		return err
	}
	s.kv, s.checkpoints = kv, obj
	info, err := s.js.Stream(ctx, s.cfg.Names.EventsStream)
	if err != nil {
		return fmt.Errorf("aggregate: stream info: %w", err)
	}
	state := info.CachedInfo().State
	if err := s.loadPublished(ctx, state.LastSeq); err != nil {
		return err
	}
	return s.restore(ctx, state)
}

// consume reads messages from the sequence after the last one read until ctx is done or the
// consumer fails. It cuts a batch whenever the batch is full or its oldest message has waited
// FlushInterval, and hands it to the flusher.
func (s *Service) consume(ctx context.Context, jobs chan<- *flushJob) error {
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
	s.setReady()

	var oldest time.Time // when the oldest message of the batch was read
	for ctx.Err() == nil {
		wait := time.Second
		if s.batch.messages > 0 {
			wait = max(time.Millisecond, s.cfg.FlushInterval-time.Since(oldest))
		}
		msg, err := it.Next(jetstream.NextMaxWait(wait))
		switch {
		case errors.Is(err, nats.ErrTimeout):
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("aggregate: next message: %w", err)
		default:
			if s.batch.messages == 0 {
				oldest = time.Now()
			}
			s.read(msg)
		}
		if s.batch.messages > 0 && (s.batch.messages >= s.cfg.MaxBatch || time.Since(oldest) >= s.cfg.FlushInterval) {
			s.cutReady = s.cut(false)
			select {
			case jobs <- s.cutReady:
				s.cutReady = nil
			case <-ctx.Done():
				return nil // shutdown hands it over
			}
		}
	}
	return nil
}

func (s *Service) filterSubjects() []string {
	if s.cfg.allRegions() {
		return []string{s.cfg.Names.EventsSubjects()}
	}
	subjects := make([]string, 0, len(s.cfg.Regions))
	for _, r := range s.cfg.Regions {
		subjects = append(subjects, s.cfg.Names.RegionEventsSubjects(r))
	}
	return subjects
}

func (s *Service) newBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = s.cfg.RetryMaxInterval
	b.MaxElapsedTime = 0 // retry until the context is done
	return b
}

// sleepCtx waits for d or until ctx is done; it reports whether the full wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
