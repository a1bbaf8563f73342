package aggregate

import (
	"context"
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// heldExplanations are the explanation rows (score_changes, score_causes and rank_changes) of
// stored batches that the flusher has not written yet. On ClickHouse the cost of an INSERT goes
// with the files of its part, not with its rows: under load the flusher writes the explanations of
// several batches in one set of INSERTs, three parts for all of them, instead of three parts per
// batch (Config.ExplainDelay, Config.ExplainMaxRows). They are written before any checkpoint that
// covers their events (checkpointHeld), so a crash replays the events whose explanations were not
// stored, and the rows, keyed by ReplacingMergeTree, replace themselves.
type heldExplanations struct {
	rows    chstore.Batch // ScoreChanges, ScoreCauses and RankChanges only
	since   time.Time     // when the oldest row was held; zero when none is
	lastSeq uint64        // the last stream sequence of the newest batch whose rows are held
}

// len is the number of rows held.
func (h *heldExplanations) len() int { return h.rows.Len() }

// add holds the explanation rows of the batch up to stream sequence lastSeq (rows holds no other).
func (h *heldExplanations) add(rows chstore.Batch, lastSeq uint64) {
	if rows.Len() == 0 {
		return
	}
	if h.len() == 0 {
		h.rows, h.since = rows, time.Now()
	} else {
		h.rows.ScoreChanges = append(h.rows.ScoreChanges, rows.ScoreChanges...)
		h.rows.ScoreCauses = append(h.rows.ScoreCauses, rows.ScoreCauses...)
		h.rows.RankChanges = append(h.rows.RankChanges, rows.RankChanges...)
	}
	h.lastSeq = lastSeq
}

// take returns the rows held and holds none.
func (h *heldExplanations) take() chstore.Batch {
	rows := h.rows
	*h = heldExplanations{}
	return rows
}

// splitExplanations returns the explanation rows of b, and b without them.
func splitExplanations(b chstore.Batch) (explanations, rest chstore.Batch) {
	explanations = chstore.Batch{ScoreChanges: b.ScoreChanges, ScoreCauses: b.ScoreCauses, RankChanges: b.RankChanges}
	rest = b
	rest.ScoreChanges, rest.ScoreCauses, rest.RankChanges = nil, nil, nil
	return explanations, rest
}

// withExplanations returns b with the explanation rows of e in place of its own (b has none).
func withExplanations(b, e chstore.Batch) chstore.Batch {
	b.ScoreChanges, b.ScoreCauses, b.RankChanges = e.ScoreChanges, e.ScoreCauses, e.RankChanges
	return b
}

// Why explanation rows are written (label of govpulse_aggregate_explain_writes_total).
const (
	explainNow        = "now"        // Config.ExplainDelay is ExplainNow: with every batch
	explainIdle       = "idle"       // the batch was cut because the input went idle, on a quiet pipeline
	explainCheckpoint = "checkpoint" // a checkpoint covers them
	explainFinal      = "final"      // shutdown
	explainRows       = "rows"       // Config.ExplainMaxRows rows are held
	explainDelayed    = "delay"      // the oldest has waited Config.ExplainDelay
)

// quietWait is how long the flusher must have waited for a batch cut because the input went
// idle for the pipeline to count as quiet, and the batch's explanations to be written with it (a
// lone event). Under load the reader is at the end of the stream whenever the flusher becomes free
// (it reads faster than ingest publishes) and hands the next batch over within an idlePoll or two:
// those batches hold their explanations.
const quietWait = 20 * idlePoll

// explainReason returns why the rows held, the job's own included, must be written with job j,
// and "" when they may wait for a later one.
func (s *flusher) explainReason(j *flushJob) string {
	h := &s.explain
	switch {
	case h.len() == 0:
		return ""
	case s.cfg.ExplainDelay < 0:
		return explainNow
	case j.final:
		return explainFinal
	case j.idle && j.quiet:
		return explainIdle
	case j.checkpoint != nil:
		return explainCheckpoint
	case h.len() >= s.cfg.ExplainMaxRows:
		return explainRows
	case time.Since(h.since) >= s.cfg.ExplainDelay:
		return explainDelayed
	}
	return ""
}

// explainDue returns when the rows held have waited Config.ExplainDelay, for run to write them
// alone when no batch comes to carry them; false when none are held.
func (s *flusher) explainDue() (time.Duration, bool) {
	if s.explain.len() == 0 {
		return 0, false
	}
	return max(0, s.cfg.ExplainDelay-time.Since(s.explain.since)), true
}

// holdExplanations holds the explanation rows of job j's batch b (the rows of its second write,
// rest) and returns what the second write stores: rest with every explanation row held, when they
// are due with j, or without any.
func (s *flusher) holdExplanations(j *flushJob, rest chstore.Batch) chstore.Batch {
	own, rest := splitExplanations(rest)
	s.explain.add(own, j.lastSeq)
	why := s.explainReason(j)
	if why == "" {
		if own.Len() > 0 {
			s.metrics.explainDeferred.Inc()
		}
		s.metrics.explainHeld.Set(float64(s.explain.len()))
		return rest
	}
	s.metrics.explainWrites.WithLabelValues(why).Inc()
	s.metrics.explainHeld.Set(0)
	return withExplanations(rest, s.explain.take())
}

// writeExplanations writes the explanation rows held, if any, in a write of their own, and
// handles the rows ClickHouse refuses as a flush does (an explanation refused dead-letters
// nothing: its score or ranking is stored). A failure is an error only when ctx is done (storeBatch
// retries until then): the checkpoint that was to follow is not written, and a replay derives
// them again. It leaves the schema-fault state as it is: a write of explanations alone does not end
// a fault of the other tables.
func (s *flusher) writeExplanations(ctx context.Context, why string) error {
	if s.explain.len() == 0 {
		return nil
	}
	lastSeq := s.explain.lastSeq
	rows := s.explain.take()
	s.metrics.explainHeld.Set(0)
	s.metrics.explainWrites.WithLabelValues(why).Inc()
	start := time.Now()
	refused, err := s.storeBatch(ctx, rows)
	if err != nil {
		return fmt.Errorf("aggregate: store the explanations up to sequence %d: %w", lastSeq, err)
	}
	s.ready.clear(condStore)
	s.countRows(rows, refused)
	s.handleRefused(&pending{}, rows, refused)
	s.log.Debug("explanations written", "why", why, "last_sequence", lastSeq, "rows", rows.Len(), "took", time.Since(start))
	return nil
}
