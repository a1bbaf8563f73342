package engine

import (
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/reviews"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/snapcodec"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// The lifecycle of reviews (好差评) in the engine: a reviews.Tracker follows every unit of the
// partition (review_stats rows and alerts, Output.ReviewStats and Output.Alerts), and a
// windows.Ledger remembers the feedback.rated inputs of the satisfaction windows by identity, so
// that a review voided on appeal leaves them (the rolling window of the scores and the hourly
// windows), as if it had never come. Both hold one entry per review of the last RollingDays days
// plus the allowed lateness (the ledger is purged at the oldest pane the rolling window still
// holds, the tracker forgets a case once its events are older than that), and a pending void per
// decision whose review has not come, for as long.

// newReviews returns the tracker of the engine's configuration.
func newReviews(cfg Config) (*reviews.Tracker, error) {
	rc := cfg.Reviews
	rc.Window = rollLength
	rc.AllowedLateness = cfg.AllowedLateness
	t, err := reviews.New(rc)
	if err != nil {
		return nil, fmt.Errorf("engine: reviews: %w", err)
	}
	return t, nil
}

// Subtract takes a feedback or application input back out of a rolling window aggregate.
func (rolling) Subtract(a rollAcc, in ux) rollAcc {
	if in.metric == metricFeedback {
		a.ratings--
		a.ratingSum -= int64(in.rating)
		if in.rating <= 2 {
			a.ratingsBad--
		}
		return a
	}
	a.applications--
	if in.outcome != 0 {
		return a
	}
	if in.online {
		a.onlineCompleted--
	}
	if in.noVisit {
		a.noVisit--
	}
	if in.timed {
		a.timed--
		if in.onTime {
			a.onTime--
		}
	}
	return a
}

// Subtract takes an input back out of an hourly aggregate (never below
// zero: the counts are unsigned).
func (hourly) Subtract(a hourAcc, in ux) hourAcc { return a.count1(in, sub32) }

// uxCodec encodes a window input in the ledger's snapshot.
type uxCodec struct{}

func (uxCodec) Append(dst []byte, in ux) []byte {
	dst = append(dst, in.metric, in.rating, in.outcome)
	for _, b := range []bool{in.online, in.noVisit, in.timed, in.onTime} {
		dst = snapcodec.AppendBool(dst, b)
	}
	return dst
}

func (uxCodec) Read(src []byte) (ux, []byte, error) {
	if len(src) < 7 {
		return ux{}, src, fmt.Errorf("%w: %w", windows.ErrCorrupt, errCodec)
	}
	for _, b := range src[3:7] {
		if b > 1 {
			return ux{}, src, fmt.Errorf("%w: %w", windows.ErrCorrupt, errCodec)
		}
	}
	in := ux{metric: src[0], rating: src[1], outcome: src[2],
		online: src[3] == 1, noVisit: src[4] == 1, timed: src[5] == 1, onTime: src[6] == 1}
	if in.metric >= metricCount || in.metric == metricFeedback && (in.rating < 1 || in.rating > 5) {
		return ux{}, src, fmt.Errorf("%w: %w", windows.ErrCorrupt, errCodec)
	}
	return in, src[7:], nil
}

// applyLifecycle applies an appeal or rectification event of region idx (judged in time and not a
// duplicate) at watermark w: the tracker follows it and an upheld appeal takes the review out of
// the satisfaction windows, rescoring its unit at version seq.
func (e *Engine) applyLifecycle(seq uint64, idx int, ev *events.Event, w time.Time) Result {
	e.dedup.Add(ev.Key().String(), ev.Time)
	// The first decision of an appeal counts (the tracker ignores the next ones).
	first := e.rev.Apply(ev, w) == reviews.Applied
	if first && ev.Type != events.FeedbackAppealed {
		e.touch(idx) // its rectification counts may have changed
	}
	d, ok := ev.Data.(*events.FeedbackAppealDecidedData)
	if !ok || !first || d.Decision != events.Upheld {
		return Result{Outcome: Applied}
	}
	ent, counted := e.ledger.Void(events.Key{Region: ev.Region, ID: d.ReviewID}.String(), ev.Time)
	if !counted {
		return Result{Outcome: Applied, Reason: "review " + d.ReviewID + " not counted: voided before it comes"}
	}
	// A window already final keeps the review (ErrTooLate): final windows never change.
	if e.rolling.Remove(ent.Key, ent.Time, ent.In, nil) == nil {
		e.touch(idx)
	}
	wk := ent.Key*metricCount + metricFeedback
	if e.hourly.Remove(wk, ent.Time, ent.In, nil) == nil {
		e.winVersions[winKey{key: wk, start: hourStart(ent.Time)}] = seq
	}
	return Result{Outcome: Applied}
}

// rectifications sets the rectification counts of w, the rolling window of region idx, from the
// tracker (its rolling summary covers the same days). Method 2022 reads them; every unit is
// rescored by the lifecycle events that change them whatever the methods, so that a method's
// scores and versions do not depend on the others.
func (e *Engine) rectifications(idx int, w *scoring.Window) {
	s := e.rev.Rolling(e.regions[idx].state.Code())
	w.RectificationsJudged, w.RectificationsOnTime = s.ClosedOnTime+s.ClosedLate+s.Overdue, s.ClosedOnTime
}

// purgeLedger forgets the ledger's inputs that no window can take back any more.
func (e *Engine) purgeLedger() {
	h := e.rolling.RetractHorizon()
	if hh := e.hourly.RetractHorizon(); hh.Before(h) {
		h = hh
	}
	e.ledger.Purge(h)
}

// appendReviews appends the ledger and the tracker.
func (e *Engine) appendReviews(dst []byte) []byte {
	dst = e.ledger.AppendSnapshot(dst, windows.IntCodec[int]{}, uxCodec{})
	snap := e.rev.AppendSnapshot(nil)
	dst = snapcodec.AppendUvarint(dst, uint64(len(snap)))
	return append(dst, snap...)
}

// readReviews reads what appendReviews wrote.
func (e *Engine) readReviews(d *snapcodec.Reader) {
	d.With(func(b []byte) ([]byte, error) {
		var err error
		e.ledger, b, err = windows.ReadLedger(b, windows.IntCodec[int]{}, uxCodec{})
		return b, err
	})
	n := d.Uvarint()
	if d.Err() != nil || n > uint64(d.Len()) {
		d.Fail("reviews")
		return
	}
	d.With(func(b []byte) ([]byte, error) {
		rc := e.cfg.Reviews
		rc.Window, rc.AllowedLateness = rollLength, e.cfg.AllowedLateness
		t, err := reviews.Restore(rc, b[:n])
		if err != nil {
			return b, err
		}
		e.rev = t
		return b[n:], nil
	})
}
