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
// partition (review_stats rows and alerts, Output.ReviewStats and Output.Alerts). Each review is
// held once, as a record in the slot of its id among the engine's remembered ids
// (windows.Dedup.Count: its event time and rating), which the tracker keeps and both read: a
// review voided on appeal leaves the satisfaction windows (the rolling window of the scores and
// the hourly windows) as if it had never come, its record giving its time and rating, as long as
// the review is within the appeal horizon (Config.AppealHorizon) of the watermark; past it the
// review stays counted and the event is PastAppealHorizon. A record is held for the longer of
// the appeal horizon and the allowed lateness (by default both 7 days: the record lives in the
// slot its id holds for the allowed lateness anyway), a pending void per decision whose review
// has not come for as long, and a case of the tracker per review a lifecycle event named.

// newReviews returns the tracker of the engine's configuration, keeping its records in ids.
func newReviews(cfg Config, ids *windows.Dedup) (*reviews.Tracker, error) {
	t, err := reviews.New(reviewsConfig(cfg, ids))
	if err != nil {
		return nil, fmt.Errorf("engine: reviews: %w", err)
	}
	return t, nil
}

// reviewsConfig returns the configuration of the engine's tracker.
func reviewsConfig(cfg Config, ids *windows.Dedup) reviews.Config {
	rc := cfg.Reviews
	rc.Window = rollLength
	rc.AllowedLateness = cfg.AllowedLateness
	rc.AppealHorizon = cfg.AppealHorizon
	rc.IDs = ids
	return rc
}

// Subtract takes a feedback or application input back out of a rolling window aggregate (never
// below zero: the counts are unsigned).
func (rolling) Subtract(a rollAcc, in ux) rollAcc { return a.count(in, sub32) }

// Subtract takes an input back out of an hourly aggregate (never below
// zero: the counts are unsigned).
func (hourly) Subtract(a hourAcc, in ux) hourAcc { return a.count1(in, sub32) }

// applyLifecycle applies an appeal or rectification event of region idx (judged in time and not a
// duplicate) at watermark w: the tracker follows it and an upheld appeal takes the review out of
// the satisfaction windows, rescoring its unit at version seq.
func (e *Engine) applyLifecycle(seq uint64, idx int, ev *events.Event, w time.Time) Result {
	e.dedup.Add(ev.Key().String(), ev.Time)
	// An upheld decision voids the review's record (the tracker does): read it before.
	d, upheld := ev.Data.(*events.FeedbackAppealDecidedData)
	upheld = upheld && d.Decision == events.Upheld
	var rec windows.Record
	counted := false
	if upheld {
		rec, counted = e.dedup.Lookup(events.Key{Region: ev.Region, ID: d.ReviewID}.String())
		counted = counted && !rec.Void
	}
	// The first decision of an appeal counts (the tracker ignores the next ones).
	out := e.rev.Apply(ev, w)
	first := out == reviews.Applied || out == reviews.Expired
	if first && ev.Type != events.FeedbackAppealed {
		e.touch(idx) // its rectification counts may have changed
	}
	if out == reviews.Expired {
		c, _ := e.rev.Case(ev.Region, d.ReviewID)
		return Result{Outcome: PastAppealHorizon, Reason: e.pastHorizon(d.ReviewID, c.Time, w,
			"the upheld appeal does not void it")}
	}
	if !upheld || !first {
		return Result{Outcome: Applied}
	}
	if !counted {
		return Result{Outcome: Applied, Reason: "review " + d.ReviewID + " not counted: voided before it comes"}
	}
	// The review is of the decision's unit (idx): its key is region and id. A window already
	// final keeps the review (ErrTooLate): final windows never change.
	in := ux{metric: metricFeedback, rating: rec.Value}
	if e.rolling.Remove(idx, rec.Time, in, nil) == nil {
		e.touch(idx)
	}
	wk := idx*metricCount + metricFeedback
	if e.hourly.Remove(wk, rec.Time, in, nil) == nil {
		e.winVersions[winKey{key: wk, start: hourStart(rec.Time)}] = seq
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

// appendReviews appends the tracker (the records of the reviews are in the remembered ids).
func (e *Engine) appendReviews(dst []byte) []byte {
	snap := e.rev.AppendSnapshot(nil)
	dst = snapcodec.AppendUvarint(dst, uint64(len(snap)))
	return append(dst, snap...)
}

// readReviews reads what appendReviews wrote.
func (e *Engine) readReviews(d *snapcodec.Reader) {
	n := d.Uvarint()
	if d.Err() != nil || n > uint64(d.Len()) {
		d.Fail("reviews")
		return
	}
	d.With(func(b []byte) ([]byte, error) {
		t, err := reviews.Restore(reviewsConfig(e.cfg, e.dedup), b[:n])
		if err != nil {
			return b, err
		}
		e.rev = t
		return b[n:], nil
	})
}
