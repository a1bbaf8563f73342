package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/retry"
	"github.com/govpulse/govpulse/internal/scoring"
)

// flusher is Run's writing side: it stores, publishes and checkpoints the batches the reader hands
// it, and writes their dead letters. It works in two stages, each a goroutine with a flusher of
// its own (run): the scores stage stores a batch's scores and publishes them (score), then passes
// the batch on to the rest stage, which stores its other rows, publishes them, writes its dead
// letters and the checkpoint (flushRest). Everything in a flusher is owned by its goroutine (made by
// setup before it starts), except fault, which the two stages share; the scores stage gets batches
// only through the jobs channel, the rest stage only through the restQueue. Of readiness it writes
// condStore and condDeadLetters only.
type flusher struct {
	cfg     Config
	js      jetstream.JetStream
	store   batchWriter
	log     *slog.Logger
	metrics *metrics
	ready   *readiness

	kv                 jetstream.KeyValue
	checkpoints        jetstream.ObjectStore
	published          map[string]uint64 // latest-value key -> version published
	puts               []latestPut       // puts to the latest-value bucket awaiting their ack, oldest first
	watermarkPublished time.Time         // the watermark last put in the latest-value bucket
	fault              *schemaFault      // since when ClickHouse has answered with a schema fault; shared by both stages
	backlog            []deadLetter      // dead letters of stored batches not yet in the DLQ stream
	backlogBytes       int               // bytes of data in backlog
	lettersWaiting     bool              // condDeadLetters is set
	held               *heldCheckpoint   // the newest checkpoint held back while dead letters wait
	explain            heldExplanations  // explanation rows of stored batches not yet written (explain.go)
	stopping           context.Context   // Run's context, done when the service stops; the flusher's own outlives it
	handOver           *handOver         // the service's: the scores stage counts the jobs it passed on
	lastStored         time.Duration     // how long storeBatch's last successful attempt took (its retries left out)
}

// heldCheckpoint is a checkpoint the flusher has not written yet because dead letters of the
// batches it covers are not in the DLQ stream; it is written once they are, unless a newer one
// replaces it first.
type heldCheckpoint struct {
	lastSeq uint64
	data    []byte
}

// newFlusher returns the flusher of s, writing to the latest-value bucket kv and the checkpoint
// store checkpoints.
func newFlusher(s *Service, kv jetstream.KeyValue, checkpoints jetstream.ObjectStore) *flusher {
	return &flusher{cfg: s.cfg, js: s.js, store: s.store, log: s.log, metrics: s.metrics, ready: &s.ready,
		kv: kv, checkpoints: checkpoints, published: make(map[string]uint64), fault: &schemaFault{}, handOver: &s.handOver}
}

// scorer returns the flusher of the scores stage: it shares s's connections, store and schema-fault
// state, and has puts in flight and versions published of its own (a copy of s's, of which it uses
// the scores' keys; the rest stage never publishes a score).
func (s *flusher) scorer() *flusher {
	return &flusher{cfg: s.cfg, js: s.js, store: s.store, log: s.log, metrics: s.metrics, ready: s.ready,
		kv: s.kv, published: maps.Clone(s.published), fault: s.fault, stopping: s.stopping, handOver: s.handOver}
}

// pending is everything read since the last successful flush: the rows of the stream messages
// and the engine outputs drained so far. A failed flush keeps it, so nothing drained is lost.
type pending struct {
	messages    int // stream messages read since the last flush
	events      []chstore.EventRow
	late        []chstore.LateEventRow
	deadLetters []deadLetter
	scores      map[string]scoring.Score    // by scoreKey
	rankings    map[string]*scoring.Ranking // by method
	groups      map[string]*scoring.Ranking // the latest ranking of each group of units, by name
	windows     map[windowKey]engine.WindowRow
	changes     []engine.ScoreChange // every change drained, in order
	rankChanges []engine.RankChange
	// The changes of the portal state: every inconsistency row drained, in order (a later row of
	// the same inconsistency has a higher version), and the latest measures per region.
	inconsistencies []portals.Inconsistency
	portalMeasures  map[string]portals.Measures
	// The outputs of the lifecycle of reviews: the latest review_stats row of each unit, period
	// and start, and every alert transition drained, in order (each happens once in a stream).
	reviewStats map[reviewKey]chstore.ReviewStatRow
	alerts      []chstore.AlertRow
}

// reviewKey is the key of a review_stats row: unit, period and start.
type reviewKey struct {
	region, period string
	start          int64
}

// scoreKey is the key of a score in pending.scores: its region and method.
func scoreKey(sc *scoring.Score) string { return sc.Region + "/" + sc.Method }

type windowKey struct {
	region, metric string
	start          int64
}

// merge adds a drained engine output; later versions replace earlier ones.
func (p *pending) merge(out engine.Output) {
	for _, sc := range out.Scores {
		if p.scores == nil {
			p.scores = make(map[string]scoring.Score)
		}
		p.scores[scoreKey(&sc)] = sc
	}
	for _, r := range out.Rankings {
		if p.rankings == nil {
			p.rankings = make(map[string]*scoring.Ranking)
		}
		p.rankings[r.Method] = r
	}
	for _, g := range out.GroupRankings {
		if p.groups == nil {
			p.groups = make(map[string]*scoring.Ranking)
		}
		p.groups[g.Group] = g.Ranking
	}
	for _, w := range out.Windows {
		if p.windows == nil {
			p.windows = make(map[windowKey]engine.WindowRow)
		}
		p.windows[windowKey{w.Region, w.Metric, w.Start.UnixNano()}] = w
	}
	p.changes = append(p.changes, out.Changes...)
	p.rankChanges = append(p.rankChanges, out.RankChanges...)
	p.inconsistencies = append(p.inconsistencies, out.Inconsistencies...)
	for _, m := range out.PortalMeasures {
		if p.portalMeasures == nil {
			p.portalMeasures = make(map[string]portals.Measures)
		}
		p.portalMeasures[m.Region] = m
	}
	for _, r := range out.ReviewStats {
		if p.reviewStats == nil {
			p.reviewStats = make(map[reviewKey]chstore.ReviewStatRow)
		}
		p.reviewStats[reviewKey{r.Region, r.Period, r.PeriodStart.UnixNano()}] = r
	}
	p.alerts = append(p.alerts, out.Alerts...)
}

// absorb adds what q, a later batch, publishes and dead-letters to p, for the rest stage writing
// several batches at once (mergeJobs): its stream messages, dead letters, changes of inconsistencies
// and alerts after p's, and its rankings, group rankings and portal measures in place of p's. The
// rest of q (its rows, scores and windows) is not added: the rest stage takes the batches' rows
// from the scores stage (flushJob.rows).
func (p *pending) absorb(q *pending) {
	p.messages += q.messages
	p.deadLetters = append(p.deadLetters, q.deadLetters...)
	p.inconsistencies = append(p.inconsistencies, q.inconsistencies...)
	p.alerts = append(p.alerts, q.alerts...)
	p.rankings = mergeLatest(p.rankings, q.rankings)
	p.groups = mergeLatest(p.groups, q.groups)
	p.portalMeasures = mergeLatest(p.portalMeasures, q.portalMeasures)
}

// mergeLatest returns dst with every entry of src in place of dst's of the same key.
func mergeLatest[V any](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]V, len(src))
	}
	maps.Copy(dst, src)
	return dst
}

// flushJob is one batch handed from the consuming loop to the flusher: the rows and outputs of
// the stream messages up to lastSeq and, when a checkpoint is due, the checkpoint taken right
// after them. The scores stage fills in the fields after part; the rest stage reads them.
type flushJob struct {
	id         uint64 // the reader's number of the batch: 1, 2, ...
	batch      *pending
	lastSeq    uint64
	watermark  time.Time // the partition's watermark after lastSeq; zero before the first event
	checkpoint []byte    // nil: no checkpoint with this batch
	final      bool      // the last batch before shutdown: a failed checkpoint is an error
	idle       bool      // cut because the input went idle (cutIdle): its explanations are written at once
	part       *rankPart // a partition's share of the ranking of all units after lastSeq; nil for all units
	oldest     time.Time // when the reader read the batch's first message

	quiet         bool              // the scores stage waited at least quietWait for it (explain.go)
	start         time.Time         // when the scores stage took it
	rows          chstore.Batch     // every row of the batch, scores included (rescoreRows applied for a re-scoring)
	refusedScores []chstore.Refused // the rows of rows.MethodScores ClickHouse refused
}

// checkpointCostFactor bounds the share of the reader's time spent taking checkpoints: the next
// one is due CheckpointInterval after the last, or this many times as long as the last took to
// take, whichever is longer. A snapshot grows with the engine's state (the ids it remembers grow
// with a backlog until they leave the lateness horizon), so at a fixed interval a long drain would
// spend more and more of its time snapshotting; this way at most about 1/20 of it.
const checkpointCostFactor = 20

// cut drains the engine into the current batch and turns it into a job; it starts a new batch.
// The checkpoint, when due (or forced and not already taken at this sequence), is the engine state
// at exactly lastSeq, so it can only be written once this batch is stored. It returns nil when
// there is nothing to do.
func (s *reader) cut(final bool) *flushJob {
	if s.eng == nil {
		return nil
	}
	if s.batch.messages > 0 {
		s.batch.merge(s.eng.Drain())
	}
	j := &flushJob{batch: s.batch, lastSeq: s.lastSeq, final: final}
	if p, ok := s.eng.Part(); ok && s.batch.messages > 0 && !s.cfg.allRegions() {
		j.part = &rankPart{Partition: s.cfg.Partition, Through: s.lastSeq, Part: p}
	}
	if wm, ok := s.eng.Watermark(); ok {
		s.metrics.watermark.Set(float64(wm.UnixNano()) / 1e9)
		j.watermark = wm
	}
	interval := max(s.cfg.CheckpointInterval, checkpointCostFactor*s.snapshotCost)
	due := time.Since(s.lastSnapshot) >= interval || final
	// A snapshot the flusher holds back (dead letters pending) it writes itself once it may.
	if due && s.lastSeq != s.snapshotSeq {
		start := time.Now()
		j.checkpoint = encodeCheckpoint(checkpoint{
			partition: s.cfg.Partition,
			lastSeq:   s.lastSeq,
			engine:    s.eng.AppendSnapshot(nil),
		})
		s.snapshotCost = time.Since(start)
		s.snapshotSeq, s.lastSnapshot = s.lastSeq, time.Now()
	}
	if j.batch.messages == 0 && j.checkpoint == nil {
		return nil
	}
	// The next batch will likely be about as long as this one: room for its event rows up front
	// spares the reader copying a growing slice of them.
	s.batch = &pending{events: make([]chstore.EventRow, 0, len(j.batch.events))}
	s.jobs++
	j.id = s.jobs
	return j
}

// run stores, publishes and checkpoints the jobs in the order they come, until jobs is closed
// (nil, after one last attempt at the dead letters and the checkpoint held back) or ctx is done (an
// error: the jobs in hand are lost and will be replayed). It runs the two stages: the scores stage
// (runScores, a goroutine of its own with the flusher scorer returns) stores and publishes each
// job's scores and queues the job for the rest stage (runRest, on this goroutine), which writes
// the other rows of every job queued meanwhile in one write. So a batch's scores are published
// while the other rows of earlier batches are still being written, and a checkpoint, which follows
// the rows it covers, never delays a score.
func (s *flusher) run(ctx context.Context, jobs <-chan *flushJob) error {
	q := newRestQueue(s.cfg.MaxBatch)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	scorer := s.scorer()
	scored := make(chan error, 1)
	go func() { scored <- scorer.runScores(sctx, jobs, q) }()
	err := s.runRest(ctx, q)
	cancel()
	<-scored // its error, if any, is the one runRest returned, or follows from runRest's
	return err
}

// runScores is the scores stage: it takes each job, stores and publishes its scores (score) and
// queues it for the rest stage, until jobs is closed or ctx is done or a write fails (for good:
// only when ctx is done); it then closes q with the error.
func (s *flusher) runScores(ctx context.Context, jobs <-chan *flushJob, q *restQueue) (err error) {
	defer func() { q.close(err) }()
	for {
		free := time.Now()
		var (
			j  *flushJob
			ok bool
		)
		select {
		case j, ok = <-jobs:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("aggregate: flusher: %w", ctx.Err())
		}
		j.quiet = time.Since(free) >= quietWait
		if err := s.score(ctx, j); err != nil {
			return err
		}
		if err := q.put(ctx, j); err != nil {
			return fmt.Errorf("aggregate: flusher: %w", err)
		}
		s.handOver.done.Store(j.id)
	}
}

// runRest is the rest stage: it writes the jobs the scores stage queues (flushRest), and while dead
// letters wait in the backlog it retries them with exponential backoff between jobs too, until the
// scores stage closes the queue (after one last attempt at the dead letters and the checkpoint held
// back) or fails.
func (s *flusher) runRest(ctx context.Context, q *restQueue) error {
	backoff := retry.NewBackoff(s.cfg.retryPolicy())
	var paceUntil time.Time // no write of queued jobs before, unless the queue is full or closed
	for {
		var (
			timer, explainTimer, paceTimer *time.Timer
			due, explainDue, paced         <-chan time.Time
		)
		ready := q.ready
		if d := time.Until(paceUntil); d > 0 {
			ready = nil
			paceTimer = time.NewTimer(d)
			paced = paceTimer.C
		}
		if len(s.backlog) > 0 {
			d, _ := backoff.Next()
			timer = time.NewTimer(d)
			due = timer.C
		} else {
			backoff.Reset()
		}
		// Explanation rows held wait for a batch to carry them, but not past ExplainDelay.
		if d, ok := s.explainDue(); ok {
			explainTimer = time.NewTimer(d)
			explainDue = explainTimer.C
		}
		var (
			err  error
			take bool
		)
		select {
		case <-ready:
			take = true
		case <-q.full:
			take = true
		case <-paced:
		case <-due:
			if err = s.drainDeadLetters(ctx, false); err == nil {
				err = s.checkpointHeld(ctx, false)
			}
		case <-explainDue:
			err = s.writeExplanations(ctx, explainDelayed)
		case <-ctx.Done():
			err = fmt.Errorf("aggregate: flusher: %w", ctx.Err())
		}
		for _, t := range []*time.Timer{timer, explainTimer, paceTimer} {
			if t != nil {
				t.Stop()
			}
		}
		if take {
			jobs, closed, qerr := q.take()
			start := time.Now()
			switch {
			case qerr != nil:
				err = qerr
			case len(jobs) > 0:
				s.lastStored = 0
				err = s.flushRest(ctx, jobs)
				if !(len(jobs) == 1 && jobs[0].quiet) {
					paceUntil = time.Now().Add(restPaceFactor * min(s.lastStored, time.Since(start)))
				}
			}
			if err == nil && closed {
				// One last attempt, as the final batch would make: a replay derives what is left.
				if err := s.drainDeadLetters(ctx, false); err != nil {
					return err
				}
				if err := s.writeExplanations(ctx, explainFinal); err != nil {
					return err
				}
				return s.checkpointHeld(ctx, true)
			}
		}
		if err != nil {
			return err
		}
	}
}

// restPaceFactor paces the rest stage: after writing queued jobs it lets the next jobs queue for
// this many times as long as the write took (its successful attempt: waits and retries for a
// failing ClickHouse, a schema fault's grace among them, say nothing of its load) before it
// writes again, unless the queue is full (the scores stage waits) or closed, or the write was
// that of a lone batch on a quiet pipeline. So it occupies ClickHouse at most about half the
// time, and the scores stage, whose writes are what a new score waits for, finds the server less
// often busy with the parts of the other tables; the rows of the jobs queued meanwhile cost one
// write anyway.
const restPaceFactor = 1

// restQueue hands jobs whose scores are stored from the scores stage to the rest stage. The rest
// stage takes every job queued at once and writes their rows together: on ClickHouse an INSERT
// costs by its parts far more than by its rows, so while it writes, the jobs that follow queue up
// and cost one write, not one each. It bounds what waits: a job is queued only while the jobs
// queued hold fewer than limit stream messages together (or none is queued); otherwise the scores
// stage waits, and the reader with it, as the flusher did when it wrote a batch whole.
type restQueue struct {
	ready chan struct{} // has a value when jobs were queued or the queue closed since the last take
	full  chan struct{} // has a value when the scores stage waits for room, or the queue closed
	room  chan struct{} // has a value when the rest stage took the jobs since the scores stage waited
	limit int

	mu       sync.Mutex
	jobs     []*flushJob
	messages int   // stream messages of jobs
	closed   bool  // the scores stage ended
	err      error // why, if it failed
}

func newRestQueue(limit int) *restQueue {
	return &restQueue{ready: make(chan struct{}, 1), full: make(chan struct{}, 1), room: make(chan struct{}, 1), limit: limit}
}

// signal leaves a value in c, unless one is there.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// put queues j once there is room for it, or returns ctx's error.
func (q *restQueue) put(ctx context.Context, j *flushJob) error {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 || q.messages+j.batch.messages <= q.limit {
			q.jobs = append(q.jobs, j)
			q.messages += j.batch.messages
			q.mu.Unlock()
			signal(q.ready)
			return nil
		}
		q.mu.Unlock()
		signal(q.full)
		select {
		case <-q.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close ends the queue: after the jobs queued, the rest stage ends, with err if not nil.
func (q *restQueue) close(err error) {
	q.mu.Lock()
	q.closed, q.err = true, err
	q.mu.Unlock()
	signal(q.ready)
	signal(q.full)
}

// take returns the jobs queued, in order, and empties the queue; closed is true when no job will
// follow, and err is the scores stage's failure, if any (the jobs are then not to be written: a
// replay derives them again).
func (q *restQueue) take() (jobs []*flushJob, closed bool, err error) {
	q.mu.Lock()
	jobs, q.jobs, q.messages = q.jobs, nil, 0
	closed, err = q.closed, q.err
	q.mu.Unlock()
	select {
	case <-q.full: // taken: whatever waited has room now
	default:
	}
	signal(q.room)
	return jobs, closed, err
}

// score stores the scores of job j (table method_scores) and, once they are stored, publishes
// them, so that a score is on NATS as soon as its own rows are stored, without waiting for the
// parts of the other tables (the rest stage writes them, flushRest). It keeps j's rows and the
// score rows refused for the rest stage. It retries ClickHouse as storeBatch does, until ctx is
// done (the error).
func (s *flusher) score(ctx context.Context, j *flushJob) error {
	j.start = time.Now()
	if j.batch.messages == 0 {
		return nil
	}
	b := j.batch.rows(s.cfg.allRegions())
	if s.cfg.Rescore {
		b = rescoreRows(b, s.cfg.From)
	}
	j.rows = b
	scores, _ := b.SplitScores()
	refused, err := s.storeBatch(ctx, scores)
	if err != nil {
		return fmt.Errorf("aggregate: store the scores up to sequence %d: %w", j.lastSeq, err)
	}
	s.countRows(scores, refused)
	s.faultCleared(refused)
	j.refusedScores = refused
	if !s.cfg.Rescore {
		s.publishScores(ctx, j.batch, b, refused)
		s.awaitPuts(ctx)
		if !j.oldest.IsZero() {
			s.metrics.scoreSeconds.Observe(time.Since(j.oldest).Seconds())
		}
	}
	return nil
}

// mergeJobs returns the jobs the rest stage took at once as one job: their rows, the outputs they
// publish and their dead letters one after the other, in stream order, the newest checkpoint, and
// the sequence, watermark and final flag of the last. The scores' refused rows are numbered as in
// the merged rows. A single job is returned as it is.
func mergeJobs(jobs []*flushJob) *flushJob {
	if len(jobs) == 1 {
		return jobs[0]
	}
	last := jobs[len(jobs)-1]
	m := &flushJob{batch: &pending{}, id: last.id, lastSeq: last.lastSeq, final: last.final, idle: last.idle,
		oldest: jobs[0].oldest, start: jobs[0].start}
	scoreRows := 0
	for _, j := range jobs {
		if j.checkpoint != nil {
			m.checkpoint = j.checkpoint
		}
		if !j.watermark.IsZero() {
			m.watermark = j.watermark
		}
		m.batch.absorb(j.batch)
		for _, r := range j.refusedScores {
			r.Row += scoreRows
			m.refusedScores = append(m.refusedScores, r)
		}
		scoreRows += len(j.rows.MethodScores)
		m.rows = appendRows(m.rows, j.rows)
	}
	return m
}

// flushRest stores the rows of the jobs the scores stage queued, other than their scores, in one
// write, then publishes them (the rankings, group rankings, portal changes and alerts; each job's
// ranking part; the watermark), then writes their checkpoint: the newest of them, which covers
// only batches stored whole, the scores stage having stored every queued job's scores. So nothing
// is published before its rows are stored. Under load the explanation rows may instead be held and
// written with those of later jobs (holdExplanations), at the latest before the checkpoint that
// covers them. It retries ClickHouse with exponential backoff while the failure is transient, and
// while a schema fault is younger than SchemaFaultGrace (fault remembers since when, across
// batches); the scores stage, and the consuming loop after it, wait once the queue is full, which
// bounds memory. Rows ClickHouse refuses for good are isolated (see storeBatch) and the rest is
// stored. A failed checkpoint is logged and retried with the next one, except for the final job,
// where it is an error.
func (s *flusher) flushRest(ctx context.Context, jobs []*flushJob) error {
	j := mergeJobs(jobs)
	if j.batch.messages > 0 {
		// rest's explanation rows are those held, of earlier jobs and this one, or none; its other
		// tables are j.rows's, so the rows a write refuses are numbered as in j.rows (handleRefused
		// does not look up an explanation row).
		rest := j.rows
		rest.MethodScores = nil
		rest = s.holdExplanations(j, rest)
		refused, err := s.storeBatch(ctx, rest)
		if err != nil {
			return fmt.Errorf("aggregate: store batch up to sequence %d: %w", j.lastSeq, err)
		}
		s.countRows(rest, refused)
		// The raw input's refusals first, as one write of the whole batch reports them: an event
		// whose own row was refused is dead-lettered with that reason.
		refused = append(refused, j.refusedScores...)
		s.faultCleared(refused)
		s.ready.clear(condStore)
		stored := s.handleRefused(j.batch, j.rows, refused)
		if !s.cfg.Rescore {
			// A re-scoring stores the rows of its method only: the live aggregator publishes, and
			// dead-letters what it refuses.
			s.publish(ctx, j.batch)
			for _, queued := range jobs {
				s.publishPart(ctx, queued)
			}
			s.publishWatermark(ctx, j)
			s.queueDeadLetters(j.batch.deadLetters)
			s.queueDeadLetters(stored)
		}
		s.awaitPuts(ctx)
		s.metrics.flushes.Add(float64(len(jobs)))
		s.metrics.flushSeconds.Observe(time.Since(j.start).Seconds())
		s.log.Debug("flushed", "batches", len(jobs), "messages", j.batch.messages, "last_sequence", j.lastSeq,
			"rows", j.rows.Len(), "explanation_rows_held", s.explain.len(), "took", time.Since(j.start))
	}
	// A full backlog pauses consumption (this flusher does not take the next job) until the DLQ
	// stream takes dead letters again; at shutdown nothing waits: a replay derives them again.
	if err := s.drainDeadLetters(ctx, !j.final); err != nil {
		return fmt.Errorf("aggregate: dead letters up to sequence %d: %w", j.lastSeq, err)
	}
	for _, queued := range jobs {
		if queued.checkpoint != nil {
			s.held = &heldCheckpoint{lastSeq: queued.lastSeq, data: queued.checkpoint} // a newer one replaces it
		}
	}
	if j.checkpoint != nil {
		if len(s.backlog) > 0 {
			// Nothing acknowledged is lost: a checkpoint past an unwritten dead letter would skip it
			// after a restart. It is written once the backlog drained, unless a newer one comes first.
			s.log.Warn("checkpoint held back: dead letters not yet written to the DLQ stream",
				"pending", len(s.backlog), "oldest_sequence", s.backlog[0].seq, "last_sequence", s.held.lastSeq)
		}
	}
	return s.checkpointHeld(ctx, j.final)
}

// checkpointHeld writes the checkpoint held back, if any, once no dead letter waits, after the
// explanation rows held, which the checkpoint covers (or follow it in the stream: written too). A
// failed checkpoint is logged, and the next checkpoint covers it; when final, it is an error.
func (s *flusher) checkpointHeld(ctx context.Context, final bool) error {
	if s.held == nil || len(s.backlog) > 0 {
		return nil
	}
	if err := s.writeExplanations(ctx, explainCheckpoint); err != nil {
		return err
	}
	h := s.held
	s.held = nil
	if err := s.writeCheckpoint(ctx, h.lastSeq, h.data); err != nil {
		if final {
			return err
		}
		s.log.Warn("checkpoint failed; the next one will cover it", "error", err, "last_sequence", h.lastSeq)
	}
	return nil
}

// faultCleared ends the schema fault that s's writes met, if any, when none of the rows its writes
// of a flush refused was refused for a schema fault: the scores stage after its write, the rest
// stage after its own, with the scores' refusals of the same batches.
func (s *flusher) faultCleared(refused []chstore.Refused) {
	if slices.ContainsFunc(refused, func(r chstore.Refused) bool { return chstore.Classify(r.Err) == chstore.SchemaFault }) {
		return
	}
	if s.fault.end(s) {
		s.metrics.schemaFault.Set(0)
	}
}

// schemaFault remembers since when ClickHouse has answered with a schema fault (zero: it has not),
// and which stage's write met it first. Both stages of the flusher write through it; only that
// stage ends it, so that the other rows of earlier batches, stored while a scores write retries
// a fault, do not restart its grace (nor the scores' writes a fault of the other tables).
type schemaFault struct {
	mu    sync.Mutex
	since time.Time
	by    *flusher
}

// begin returns since when the fault lasts, now if it was not on: then it is by's.
func (f *schemaFault) begin(by *flusher) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.since.IsZero() {
		f.since, f.by = time.Now(), by
	}
	return f.since
}

// lasted reports whether the fault has lasted at least grace.
func (f *schemaFault) lasted(grace time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.since.IsZero() && time.Since(f.since) >= grace
}

// end ends the fault if by met it, and reports whether none is on.
func (f *schemaFault) end(by *flusher) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.by == by {
		f.since, f.by = time.Time{}, nil
	}
	return f.since.IsZero()
}

// storeBatch writes b until it is stored except for the rows ClickHouse refuses for good, which
// it returns. Transient failures are retried with backoff until ctx is done; a schema fault is
// retried too, with /readyz not ready, until it has lasted SchemaFaultGrace, and then handled as a
// row error (the rows of the failing table are refused). The fault is over only once a whole
// flush is stored without a schema fault (faultCleared): a flush's second write must not restart
// the grace of a fault its first write isolated.
func (s *flusher) storeBatch(ctx context.Context, b chstore.Batch) ([]chstore.Refused, error) {
	fault := s.fault
	var refused []chstore.Refused
	attempt := func() error {
		isolateSchema := fault.lasted(s.cfg.SchemaFaultGrace)
		began := time.Now()
		r, err := s.store.WriteIsolated(ctx, b, isolateSchema)
		if err != nil {
			s.metrics.storeErrors.Inc()
			if chstore.Classify(err) == chstore.SchemaFault {
				since := fault.begin(s)
				s.metrics.schemaFault.Set(1)
				s.ready.set(condStore, fmt.Sprintf("clickhouse schema fault since %s (its rows are dead-lettered after %s): %v",
					since.UTC().Format(time.RFC3339), s.cfg.SchemaFaultGrace, err))
			} else {
				s.ready.set(condStore, "clickhouse: "+err.Error())
			}
			return err
		}
		refused, s.lastStored = r, time.Since(began)
		return nil
	}
	notify := func(err error, wait time.Duration) {
		s.log.Warn("clickhouse write failed; consumption paused", "error", err, "class", chstore.Classify(err).String(),
			"retry_in", wait, "rows", b.Len())
	}
	if err := retry.Do(ctx, s.cfg.retryPolicy(), attempt, notify); err != nil {
		return nil, err
	}
	return refused, nil
}

// handleRefused reports the rows ClickHouse refused and dead-letters the events behind them with
// reason code "store" and the ClickHouse error: it returns them, for the backlog. An events or late_events row is its event. A
// windows, scores or rankings row names the event behind it by its version (the stream sequence of
// the last event that changed it), which is dead-lettered when it is in this batch and, for a
// window, a score, an inconsistency or portal counts, of the row's unit; a refused score, ranking,
// inconsistency or portal counts is not published either, so that NATS never shows what ClickHouse
// does not hold.
func (s *flusher) handleRefused(p *pending, b chstore.Batch, refused []chstore.Refused) (letters []deadLetter) {
	if len(refused) == 0 {
		return nil
	}
	bySeq := make(map[uint64]int, len(b.Events))
	for i, ev := range b.Events {
		bySeq[ev.StreamSeq] = i
	}
	// One log line per table (how many, the first error); each row at debug level. The dead
	// letters are the record of every event.
	type summary struct {
		rows  int
		first error
	}
	byTable := make(map[string]*summary)
	defer func() {
		for _, table := range sortedKeys(byTable) {
			sum := byTable[table]
			s.log.Error("clickhouse refused rows; their events are dead-lettered where known", "table", table,
				"rows", sum.rows, "error", sum.first)
		}
	}()
	// A refused inconsistency or alert row is not published either.
	dropAlert := make(map[int]bool)
	defer func() {
		if len(dropAlert) > 0 {
			kept := make([]chstore.AlertRow, 0, len(p.alerts))
			for i, a := range p.alerts {
				if !dropAlert[i] {
					kept = append(kept, a)
				}
			}
			p.alerts = kept
		}
	}()
	dropInc := make(map[int]bool)
	defer func() {
		if len(dropInc) > 0 {
			kept := make([]portals.Inconsistency, 0, len(p.inconsistencies))
			for i, c := range p.inconsistencies {
				if !dropInc[i] {
					kept = append(kept, c)
				}
			}
			p.inconsistencies = kept
		}
	}()
	sent := make(map[uint64]bool)
	letter := func(ev chstore.EventRow, reason string) {
		if sent[ev.StreamSeq] {
			return
		}
		sent[ev.StreamSeq] = true
		letters = append(letters, deadLetter{reason: reason, code: "store", seq: ev.StreamSeq, data: []byte(ev.Payload),
			eventID: ev.ID, region: ev.Region, typ: ev.Type})
	}
	for _, r := range refused {
		s.metrics.rowsRefused.WithLabelValues(r.Table).Inc()
		if byTable[r.Table] == nil {
			byTable[r.Table] = &summary{first: r.Err}
		}
		byTable[r.Table].rows++
		reason := "clickhouse refused the " + r.Table + " row: " + r.Err.Error()
		var (
			version uint64
			region  string // the unit the row is about; "" for a ranking
		)
		switch r.Table {
		case "events":
			ev := b.Events[r.Row]
			s.log.Debug("clickhouse refused an event; dead-lettered", "sequence", ev.StreamSeq, "event", ev.Region+"/"+ev.ID, "error", r.Err)
			letter(ev, reason)
			continue
		case "late_events":
			late := b.LateEvents[r.Row]
			s.log.Debug("clickhouse refused a late event; dead-lettered", "sequence", late.StreamSeq, "event", late.Region+"/"+late.ID, "error", r.Err)
			letter(chstore.EventRow{Region: late.Region, ID: late.ID, Type: late.Type, StreamSeq: late.StreamSeq, Payload: late.Payload}, reason)
			continue
		case "windows":
			version, region = b.Windows[r.Row].Version, b.Windows[r.Row].Region
		case "method_scores":
			version, region = b.MethodScores[r.Row].Version, b.MethodScores[r.Row].Region
			delete(p.scores, scoreKey(&b.MethodScores[r.Row]))
		case "method_rankings":
			version = b.MethodRankings[r.Row].Version
			delete(p.rankings, b.MethodRankings[r.Row].Method)
		case "inconsistencies":
			version, region = b.Inconsistencies[r.Row].Version, b.Inconsistencies[r.Row].Region
			dropInc[r.Row] = true
		case "portal_counts":
			version, region = b.PortalCounts[r.Row].Version, b.PortalCounts[r.Row].Region
			delete(p.portalMeasures, region)
		case "group_rankings":
			version = b.GroupRankings[r.Row].Version
			delete(p.groups, b.GroupRankings[r.Row].Group)
		case "review_stats":
			version, region = b.ReviewStats[r.Row].Version, b.ReviewStats[r.Row].Region
		case "alerts":
			version, region = b.Alerts[r.Row].Version, b.Alerts[r.Row].Region
			dropAlert[r.Row] = true // b.Alerts is p.alerts, in order
		case "score_changes", "score_causes", "rank_changes":
			// An explanation refused leaves its score or ranking stored: nothing to dead-letter.
			s.log.Debug("clickhouse refused an explanation row", "table", r.Table, "error", r.Err)
			continue
		}
		i, ok := bySeq[version]
		if ok && region != "" && b.Events[i].Region != region {
			ok = false // the watermark, moved by another unit's event, re-emitted the row
		}
		s.log.Debug("clickhouse refused a derived row", "table", r.Table, "region", region, "version", version,
			"event_dead_lettered", ok, "error", r.Err)
		if ok {
			letter(b.Events[i], reason)
		}
	}
	return letters
}

// countRows counts the rows stored, by table: those of a write of b except the refused ones.
func (s *flusher) countRows(b chstore.Batch, refused []chstore.Refused) {
	n := map[string]int{
		"events":  len(b.Events),
		"windows": len(b.Windows), "late_events": len(b.LateEvents),
		"method_scores": len(b.MethodScores), "method_rankings": len(b.MethodRankings),
		"score_changes": len(b.ScoreChanges), "score_causes": len(b.ScoreCauses), "rank_changes": len(b.RankChanges),
		"inconsistencies": len(b.Inconsistencies), "portal_counts": len(b.PortalCounts),
		"group_rankings": len(b.GroupRankings), "review_stats": len(b.ReviewStats), "alerts": len(b.Alerts),
	}
	for _, r := range refused {
		n[r.Table]--
	}
	for table, rows := range n {
		if rows > 0 {
			s.metrics.flushRows.WithLabelValues(table).Add(float64(rows))
		}
	}
}

// publishScores sends, once the score rows of the batch are stored, each new score to
// <prefix>.scores.<region> and to the latest-value bucket; a score whose row b's scores write
// refused (refused) is not sent, nor kept in the batch. A version that was already published (a
// replay after a restart) is not sent again. Failures are logged and counted: the rows are stored,
// and the next change publishes again.
func (s *flusher) publishScores(ctx context.Context, batch *pending, b chstore.Batch, refused []chstore.Refused) {
	for _, r := range refused {
		if r.Table == "method_scores" {
			delete(batch.scores, scoreKey(&b.MethodScores[r.Row]))
		}
	}
	nc := s.js.Conn()
	for _, k := range sortedKeys(batch.scores) {
		sc := batch.scores[k]
		key, subject := s.scoreKey(sc.Method, sc.Region), s.scoreSubject(sc.Method, sc.Region)
		if sc.Version <= s.published[key] {
			continue
		}
		data, err := json.Marshal(sc)
		if err != nil {
			s.publishFailed("encode score", err)
			continue
		}
		if err := nc.Publish(subject, data); err != nil {
			s.publishFailed("publish score", err)
		}
		s.putLatest(ctx, key, sc.Version, data)
	}
}

// publish sends, after the batch's other rows are stored (its scores are published before, by
// publishScores), the new ranking to <prefix>.rankings, each new ranking of a group of units to
// <prefix>.grouprankings.<group>, and both to the latest-value bucket, every change of an
// inconsistency to <prefix>.inconsistencies.<region>, each region's new portal measures to the
// latest-value bucket, and the alerts. A ranking or portal measures version that was already
// published (a replay after a restart) is not sent again; nor is a change of an inconsistency whose
// version the region's published portal measures cover (the measures change with every portal
// event, so their version is the newest of the region's inconsistency changes already published).
// Failures are logged and counted: the rows are stored, and the next change publishes again.
func (s *flusher) publish(ctx context.Context, batch *pending) {
	nc := s.js.Conn()
	s.publishPortals(ctx, batch)
	s.publishAlerts(batch.alerts)
	for _, method := range sortedKeys(batch.rankings) {
		r := batch.rankings[method]
		key := s.rankingKey(method)
		if r.Version <= s.published[key] {
			continue
		}
		data, err := json.Marshal(r)
		if err != nil {
			s.publishFailed("encode ranking", err)
			continue
		}
		if err := nc.Publish(s.rankingSubject(method), data); err != nil {
			s.publishFailed("publish ranking", err)
		}
		s.putLatest(ctx, key, r.Version, data)
	}
	for _, group := range sortedKeys(batch.groups) {
		r := batch.groups[group]
		key := natsjs.GroupRankingKey(group)
		if r.Version <= s.published[key] {
			continue
		}
		data, err := json.Marshal(r)
		if err != nil {
			s.publishFailed("encode group ranking", err)
			continue
		}
		if err := nc.Publish(s.cfg.Names.GroupRankingsSubject(group), data); err != nil {
			s.publishFailed("publish group ranking", err)
		}
		s.putLatest(ctx, key, r.Version, data)
	}
}

// publishPortals sends every change of an inconsistency of the batch that is newer than what its
// region's portal measures in the latest-value bucket cover, in the order drained, then puts each
// region's new measures there (natsjs.PortalsKey), which records that the changes up to their
// version are published: a replay after a restart sends none of them again.
func (s *flusher) publishPortals(ctx context.Context, batch *pending) {
	nc := s.js.Conn()
	sent := make(map[string]uint64) // by key: the newest version sent in this batch
	for i := range batch.inconsistencies {
		c := &batch.inconsistencies[i]
		key := natsjs.PortalsKey(c.Region)
		if c.Version <= s.published[key] {
			continue
		}
		data, err := json.Marshal(c)
		if err != nil {
			s.publishFailed("encode inconsistency", err)
			continue
		}
		if err := nc.Publish(s.cfg.Names.InconsistencySubject(c.Region), data); err != nil {
			s.publishFailed("publish inconsistency", err)
		}
		sent[key] = max(sent[key], c.Version)
	}
	for _, region := range sortedKeys(batch.portalMeasures) {
		m := batch.portalMeasures[region]
		key := natsjs.PortalsKey(region)
		if m.Version <= s.published[key] {
			continue
		}
		data, err := json.Marshal(m)
		if err != nil {
			s.publishFailed("encode portal measures", err)
			continue
		}
		s.putLatest(ctx, key, m.Version, data)
	}
	// A region whose measures were refused (or could not be put) still does not send the same
	// changes twice while the aggregator runs.
	for key, v := range sent {
		s.published[key] = max(s.published[key], v)
	}
}

// publishWatermark puts the partition's watermark, when the job advanced it, in the latest-value
// bucket under natsjs.WatermarkKey, for ingest to answer too-late events at once. A failure is
// logged and counted; the next flush tries again.
func (s *flusher) publishWatermark(ctx context.Context, j *flushJob) {
	if j.watermark.IsZero() || !j.watermark.After(s.watermarkPublished) {
		return
	}
	w := natsjs.Watermark{
		Partition:              s.cfg.Partition,
		Watermark:              j.watermark.UTC(),
		AllowedLatenessSeconds: int64(s.cfg.AllowedLateness / time.Second),
		Version:                j.lastSeq,
	}
	if !s.cfg.allRegions() {
		w.Regions = slices.Sorted(slices.Values(s.cfg.Regions))
	}
	data, err := json.Marshal(w)
	if err != nil {
		s.publishFailed("encode watermark", err)
		return
	}
	s.putAsync(ctx, natsjs.WatermarkKey(s.cfg.Partition), data, func() {
		if j.watermark.After(s.watermarkPublished) {
			s.watermarkPublished = j.watermark
		}
	})
}

// publishPart puts the job's ranking part, if any, in the latest-value bucket under
// natsjs.RankPartKey, for the ranker (ranker.go). A failure is logged and counted; the next flush puts a
// newer part.
func (s *flusher) publishPart(ctx context.Context, j *flushJob) {
	if j.part == nil {
		return
	}
	data, err := json.Marshal(j.part)
	if err != nil {
		s.publishFailed("encode ranking part", err)
		return
	}
	s.putAsync(ctx, natsjs.RankPartKey(s.cfg.Partition), data, nil)
}

// putLatest stores data under key in the latest-value bucket and remembers its version once the
// put is acknowledged (awaitPuts).
func (s *flusher) putLatest(ctx context.Context, key string, version uint64, data []byte) {
	s.putAsync(ctx, key, data, func() { s.published[key] = max(s.published[key], version) })
}

// maxPutsInFlight bounds the puts to the latest-value bucket sent and not yet acknowledged: the
// putting waits for the oldest beyond it. It keeps the memory they hold bounded (a put holds its
// message, at most a ranking of a few hundred units, a few tens of KB; most are scores of under 2
// KB) and stays below the JetStream client's own bound (4,000 by default), past which an
// asynchronous publish would fail after stalling.
const maxPutsInFlight = 512

// PutAckTimeout bounds the wait for a put's acknowledgement, as the synchronous JetStream publish
// does by default; a put not acknowledged by then counts as failed. The JetStream context given
// to the aggregator should drop its record of such a put after the same time
// (jetstream.WithPublishAsyncTimeout(PutAckTimeout)), as cmd/aggregate's does.
const PutAckTimeout = 5 * time.Second

// latestPut is a put to the latest-value bucket sent and awaiting its acknowledgement.
type latestPut struct {
	key    string
	future jetstream.PubAckFuture
	acked  func() // run by the flusher once the put is acknowledged; nil: nothing to do
}

// putAsync sends data to the latest-value bucket under key without waiting for its
// acknowledgement: a put is a JetStream publish to the bucket's subject of the key ("$KV.<bucket>.
// <key>", the bucket being neither a mirror nor in another domain), as jetstream.KeyValue.Put sends
// it. It is sent on the connection after every message published before it, so a key that records
// messages as published is stored after them. awaitPuts waits for the acknowledgements and runs
// acked for each put acknowledged; a failure is logged and counted. At most maxPutsInFlight wait at
// a time.
func (s *flusher) putAsync(ctx context.Context, key string, data []byte, acked func()) {
	if len(s.puts) >= maxPutsInFlight {
		wait, cancel := context.WithTimeout(ctx, PutAckTimeout)
		s.awaitPut(wait, s.puts[0])
		cancel()
		s.puts[0] = latestPut{}
		s.puts = s.puts[1:]
	}
	msg := &nats.Msg{Subject: "$KV." + s.kv.Bucket() + "." + key, Data: data}
	future, err := s.js.PublishMsgAsync(msg)
	if err != nil {
		s.publishFailed("put "+key, err)
		return
	}
	s.puts = append(s.puts, latestPut{key: key, future: future, acked: acked})
}

// awaitPuts waits for the acknowledgement of every put sent, in the order sent, for PutAckTimeout
// at most in all (or until ctx is done); a flush calls it once, after its publications and before
// its checkpoint, so that the versions it records as published are those stored.
func (s *flusher) awaitPuts(ctx context.Context) {
	if len(s.puts) == 0 {
		return
	}
	wait, cancel := context.WithTimeout(ctx, PutAckTimeout)
	defer cancel()
	for i, p := range s.puts {
		s.awaitPut(wait, p)
		s.puts[i] = latestPut{}
	}
	s.puts = s.puts[:0]
}

// awaitPut waits for the acknowledgement of p until ctx is done, and then runs p.acked, or reports
// the failure. An outcome already in is taken even when ctx is done.
func (s *flusher) awaitPut(ctx context.Context, p latestPut) {
	var err error
	select {
	case <-p.future.Ok():
	case err = <-p.future.Err():
	default:
		select {
		case <-p.future.Ok():
		case err = <-p.future.Err():
		case <-ctx.Done():
			err = fmt.Errorf("waiting for the acknowledgement: %w", ctx.Err())
		}
	}
	if err != nil {
		s.publishFailed("put "+p.key, err)
		return
	}
	if p.acked != nil {
		p.acked()
	}
}

func (s *flusher) publishFailed(what string, err error) {
	s.metrics.publishErrors.Inc()
	s.log.Warn("publication failed", "what", what, "error", err)
}

// loadPublished reads the versions already in the latest-value bucket, so that a replay after a
// restart does not publish older values over newer ones. A version beyond the stream's last
// sequence comes from a stream that was deleted and created anew: it is ignored, so that the
// rebuilt values replace it.
func (s *flusher) loadPublished(ctx context.Context, streamLastSeq uint64) error {
	var keys []string
	if s.cfg.ranks() {
		keys = append(keys, natsjs.RankingKey) // the ranker's (ranker.go)
	}
	for _, m := range s.cfg.Methods {
		keys = append(keys, s.rankingKey(m))
		for _, r := range s.cfg.Regions {
			keys = append(keys, s.scoreKey(m, r))
		}
	}
	for _, filter := range []string{natsjs.GroupRankingKeys, natsjs.PortalsKeys} {
		listed, err := s.listKeys(ctx, filter)
		if err != nil {
			return err
		}
		keys = append(keys, listed...)
	}
	for _, key := range keys {
		entry, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("aggregate: read latest %s: %w", key, err)
		}
		var v struct {
			Version uint64 `json:"version"`
		}
		if json.Unmarshal(entry.Value(), &v) == nil && v.Version <= streamLastSeq {
			s.published[key] = v.Version
		}
	}
	return nil
}

// listKeys returns the keys of the latest-value bucket that match filter: the group rankings
// (natsjs.GroupRankingKeys) and the portal measures of every unit (natsjs.PortalsKeys), whose units
// are not all known at start.
func (s *flusher) listKeys(ctx context.Context, filter string) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lister, err := s.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("aggregate: list %s: %w", filter, err)
	}
	defer func() { _ = lister.Stop() }()
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("aggregate: list %s: %w", filter, err)
	}
	return keys, nil
}

// deadLetter is a stream message the aggregator could not use, for the DLQ stream.
type deadLetter struct {
	reason, code string
	seq          uint64
	data         []byte
	eventID      string
	region, typ  string
	truncated    bool // data was cut to maxDeadLetterData bytes
}

// Bounds of the dead letters. A dead letter keeps at most maxDeadLetterData bytes of its message
// (as ingest's do; the rest is cut and the letter marked Govpulse-Truncated), and the backlog is
// full at Config.DeadLetterBacklog letters or maxBacklogBytes bytes of data, whichever comes first.
const (
	maxDeadLetterData = 64 << 10
	maxBacklogBytes   = 64 << 20
)

// queueDeadLetters appends the dead letters of a stored batch to the backlog, in stream order.
func (s *flusher) queueDeadLetters(dls []deadLetter) {
	for _, dl := range dls {
		if len(dl.data) > maxDeadLetterData {
			dl.data, dl.truncated = slices.Clone(dl.data[:maxDeadLetterData]), true
		}
		s.backlog = append(s.backlog, dl)
		s.backlogBytes += len(dl.data)
	}
	s.metrics.deadLettersPending.Set(float64(len(s.backlog)))
}

// backlogFull reports whether the backlog holds as many dead letters, or as many bytes, as it may.
func (s *flusher) backlogFull() bool {
	return len(s.backlog) >= s.cfg.DeadLetterBacklog || s.backlogBytes >= maxBacklogBytes
}

// drainDeadLetters writes the backlog to the DLQ stream, oldest first, and stops at the first
// dead letter the stream does not take. When wait is true and the backlog is full, it retries
// with exponential backoff until it is not, the service is stopping, or ctx is done (the error).
// While dead letters are pending, Ready says so.
func (s *flusher) drainDeadLetters(ctx context.Context, wait bool) error {
	var backoff *retry.Backoff
	for len(s.backlog) > 0 {
		err := s.sendDeadLetter(ctx, s.backlog[0])
		if err == nil {
			s.backlogBytes -= len(s.backlog[0].data)
			s.backlog[0] = deadLetter{}
			s.backlog = s.backlog[1:]
			s.metrics.deadLettersPending.Set(float64(len(s.backlog)))
			continue
		}
		s.publishFailed("dead letter", err)
		why := fmt.Sprintf("dead letters: %d not written to the DLQ stream (oldest: sequence %d): %v",
			len(s.backlog), s.backlog[0].seq, err)
		s.ready.set(condDeadLetters, why)
		s.lettersWaiting = true
		if !wait || !s.backlogFull() {
			return nil
		}
		if backoff == nil {
			backoff = retry.NewBackoff(s.cfg.retryPolicy())
			s.log.Warn("dead-letter backlog full; consumption paused until the DLQ stream takes them",
				"pending", len(s.backlog), "error", err)
		}
		// The wait ends when the service stops, which is before (or when) ctx is done.
		if !backoff.Wait(s.stopping) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil // shutdown: the final batch does not wait either
		}
	}
	if len(s.backlog) == 0 && s.lettersWaiting {
		s.ready.clear(condDeadLetters)
		s.lettersWaiting = false
		s.backlog = nil // let the drained array go
		s.log.Info("dead-letter backlog written to the DLQ stream")
	}
	return nil
}

// sendDeadLetter publishes dl to <prefix>.dlq.aggregate.<code>, deduplicated by its reason code and stream sequence
// (an event may be both too late and refused by ClickHouse: two letters).
// When no stream takes the subject because the DLQ stream is missing, it creates the stream and
// tries once more.
func (s *flusher) sendDeadLetter(ctx context.Context, dl deadLetter) error {
	msg := nats.NewMsg(s.cfg.Names.DLQSubject(natsjs.StageAggregate, dl.code))
	msg.Data = dl.data
	// Without the partition: a message whose subject names no unit is dead-lettered by every partition, once.
	msg.Header.Set(jetstream.MsgIDHeader, natsjs.AggregateDeadLetterID(dl.code, dl.seq))
	msg.Header.Set(natsjs.HeaderStage, natsjs.StageAggregate)
	msg.Header.Set(natsjs.HeaderReason, dl.reason)
	msg.Header.Set(natsjs.HeaderReasonCode, dl.code)
	msg.Header.Set(natsjs.HeaderStreamSeq, strconv.FormatUint(dl.seq, 10))
	msg.Header.Set(natsjs.HeaderReceivedAt, time.Now().UTC().Format(time.RFC3339Nano))
	if dl.truncated {
		msg.Header.Set(natsjs.HeaderTruncated, "true")
	}
	for k, v := range map[string]string{natsjs.HeaderEventID: dl.eventID, natsjs.HeaderRegion: dl.region, natsjs.HeaderType: dl.typ} {
		if v != "" {
			msg.Header.Set(k, v)
		}
	}
	_, err := s.js.PublishMsg(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		created, cerr := s.recreateDLQ(ctx)
		if cerr != nil {
			return fmt.Errorf("aggregate: dead letter of sequence %d: %w (and %w)", dl.seq, err, cerr)
		}
		if created {
			_, err = s.js.PublishMsg(ctx, msg)
		}
	}
	if err != nil {
		return fmt.Errorf("aggregate: dead letter of sequence %d: %w", dl.seq, err)
	}
	return nil
}

// recreateDLQ creates the DLQ stream when it does not exist, with the settings natsjs gives it by
// default, and reports whether it (or someone at the same time) did. It never changes an existing
// stream: ingest owns the streams' settings.
func (s *flusher) recreateDLQ(ctx context.Context) (bool, error) {
	exists, err := natsjs.StreamExists(ctx, s.js, s.cfg.Names.DLQStream)
	if err != nil || exists {
		return false, err
	}
	_, err = s.js.CreateStream(ctx, natsjs.DLQConfig(s.cfg.Names, natsjs.StreamOptions{Replicas: s.cfg.Replicas}))
	switch {
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
		return true, nil // created meanwhile, by ingest or another partition
	case err != nil:
		return false, fmt.Errorf("aggregate: recreate stream %s: %w", s.cfg.Names.DLQStream, err)
	}
	s.metrics.dlqRecreated.Inc()
	s.log.Warn("the DLQ stream was missing; created it with the default settings", "stream", s.cfg.Names.DLQStream)
	return true, nil
}

// rankingKey and rankingSubject name where the partition's ranking goes: the ranking of all 32
// units when the partition holds them all, else the partial ranking of its own units under
// "ranking.<partition>" and "<prefix>.rankings.<partition>", so that partitions never overwrite one
// another's rankings. (With several partitions, the ranking of all units is read from
// latest_scores; see the README.)
// A method other than the default has its own key and subject ("ranking.2022",
// "<prefix>.rankings.2022"); only a partition of every unit computes one.
func (s *flusher) rankingKey(method string) string {
	switch {
	case method != scoring.DefaultMethod:
		return natsjs.MethodRankingKey(method)
	case s.cfg.allRegions():
		return natsjs.RankingKey
	}
	return natsjs.PartitionRankingKey(s.cfg.Partition)
}

func (s *flusher) rankingSubject(method string) string {
	switch {
	case method != scoring.DefaultMethod:
		return s.cfg.Names.MethodRankingsSubject(method)
	case s.cfg.allRegions():
		return s.cfg.Names.RankingsSubject()
	}
	return s.cfg.Names.PartitionRankingsSubject(s.cfg.Partition)
}

// scoreKey and scoreSubject name where a region's score under a method goes: "scores.<region>"
// and "<prefix>.scores.<region>" for the default method, "scores.<method>.<region>" and
// "<prefix>.scores.<method>.<region>" for another.
func (s *flusher) scoreKey(method, region string) string {
	if method == scoring.DefaultMethod {
		return natsjs.ScoreKey(region)
	}
	return natsjs.MethodScoreKey(method, region)
}

func (s *flusher) scoreSubject(method, region string) string {
	if method == scoring.DefaultMethod {
		return s.cfg.Names.ScoreSubject(region)
	}
	return s.cfg.Names.MethodScoreSubject(method, region)
}
