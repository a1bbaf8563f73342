package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// TestAppealHorizon is the rule of the appeal horizon, case by case: an upheld appeal voids a
// review only when the review's event time is at or after the watermark minus the horizon as the
// second of the two is applied; past it the event is PastAppealHorizon, with a reason that names
// the review and the horizon, the review stays in the score and the appeal counts as decided and
// upheld.
func TestAppealHorizon(t *testing.T) {
	const day = 24 * time.Hour
	t0 := base.UTC().Add(10 * time.Hour)
	upheld := func(id string, tm time.Time, review string) *events.Event {
		return ev(id, zj, tm, &events.FeedbackAppealDecidedData{ReviewID: review, Decision: events.Upheld})
	}
	appealed := func(id string, tm time.Time, review string) *events.Event {
		return ev(id, zj, tm, &events.FeedbackAppealedData{ReviewID: review, Reason: "不属实"})
	}
	probe := func(id string, tm time.Time) *events.Event { return app(id, bj, tm, events.Completed, true) }
	for _, tc := range []struct {
		name     string
		horizon  time.Duration // 0: the default, the allowed lateness (7 days)
		stream   []*events.Event
		last     engineOutcome // of the last event
		counted  bool          // the review is in the score at the end
		upheldIn bool          // review_stats counts the appeal as upheld (on the review's day)
	}{
		{name: "decided the next day", stream: []*events.Event{
			rated("r", zj, t0, 1), upheld("d", t0.Add(day), "r")},
			last: engineOutcome{Applied, ""}, upheldIn: true},
		{name: "decided at the horizon", horizon: 2 * day, stream: []*events.Event{
			rated("r", zj, t0, 1), probe("p", t0.Add(2*day).Add(DefaultOutOfOrderness)), upheld("d", t0.Add(day), "r")},
			last: engineOutcome{Applied, ""}, upheldIn: true},
		{name: "decided just past the horizon", horizon: 2 * day, stream: []*events.Event{
			rated("r", zj, t0, 1), probe("p", t0.Add(2*day).Add(DefaultOutOfOrderness+time.Second)), upheld("d", t0.Add(day), "r")},
			last: engineOutcome{PastAppealHorizon, "review r: event time"}, counted: true, upheldIn: true},
		{name: "decided past the horizon, within the records kept", horizon: 2 * day, stream: []*events.Event{
			rated("r", zj, t0, 1), upheld("d", t0.Add(3*day), "r")},
			last: engineOutcome{PastAppealHorizon, "appeal horizon 48h0m0s"}, counted: true, upheldIn: true},
		{name: "appealed in time, decided past the default horizon", stream: []*events.Event{
			rated("r", zj, t0, 1), appealed("a", t0.Add(day), "r"), upheld("d", t0.Add(8*day), "r")},
			last: engineOutcome{PastAppealHorizon, "does not void it"}, counted: true, upheldIn: true},
		{name: "decided before the review, which comes in time", stream: []*events.Event{
			upheld("d", t0.Add(time.Hour), "r"), rated("r", zj, t0, 1)},
			last: engineOutcome{Applied, "voided on appeal before it came"}, upheldIn: true},
		{name: "decided before the review, which comes past the horizon", horizon: 2 * day, stream: []*events.Event{
			upheld("d", t0.Add(time.Hour), "r"), probe("p", t0.Add(4*day)), rated("r", zj, t0, 1)},
			last: engineOutcome{PastAppealHorizon, "decided before it came"}, counted: true, upheldIn: true},
		{name: "rejected past the horizon", horizon: 2 * day, stream: []*events.Event{
			rated("r", zj, t0, 1), ev("d", zj, t0.Add(3*day), &events.FeedbackAppealDecidedData{ReviewID: "r", Decision: events.RejectedAppeal})},
			last: engineOutcome{Applied, ""}, counted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Regions: []string{zj, bj}, AppealHorizon: tc.horizon}
			e := mustNew(t, cfg)
			var last Result
			for i, x := range tc.stream {
				last = e.Apply(uint64(i+1), x)
			}
			// Restored from a snapshot at any point, the engine ends the same.
			for cut := range tc.stream {
				r := mustNew(t, cfg)
				var rl Result
				for i, x := range tc.stream {
					if i == cut {
						var err error
						if r, err = Restore(cfg, r.AppendSnapshot(nil)); err != nil {
							t.Fatalf("cut %d: %v", cut, err)
						}
					}
					rl = r.Apply(uint64(i+1), x)
				}
				if rl != last || scoreOf(t, r, zj) != scoreOf(t, e, zj) {
					t.Errorf("restored at %d: %v %q, %v; uninterrupted %v %q, %v", cut, rl.Outcome, rl.Reason,
						scoreOf(t, r, zj), last.Outcome, last.Reason, scoreOf(t, e, zj))
				}
			}
			other := cfg
			other.AppealHorizon = cfg.WithDefaults().AppealHorizon + time.Hour
			if _, err := Restore(other, e.AppendSnapshot(nil)); !errors.Is(err, ErrIncompatible) {
				t.Errorf("restored under another appeal horizon: %v, want ErrIncompatible", err)
			}
			if last.Outcome != tc.last.outcome || !strings.Contains(last.Reason, tc.last.reason) {
				t.Errorf("last event: %v %q, want %v with %q", last.Outcome, last.Reason, tc.last.outcome, tc.last.reason)
			}
			if last.Outcome == PastAppealHorizon && !strings.Contains(last.Reason, "stays counted") {
				t.Errorf("reason %q does not say the review stays", last.Reason)
			}
			want := int64(0)
			if tc.counted {
				want = 1
			}
			if s := scoreOf(t, e, zj); s.Ratings != want {
				t.Errorf("ratings in the score %d, want %d", s.Ratings, want)
			}
			day := e.rev.Day(zj, t0)
			if got := day.AppealsUpheld == 1; got != tc.upheldIn {
				t.Errorf("review_stats of the review's day: %+v, want upheld counted %v", day, tc.upheldIn)
			}
			if day.Reviews != want {
				t.Errorf("review_stats reviews %d, want %d", day.Reviews, want)
			}
		})
	}
}

// engineOutcome is an expected outcome and a part of its reason.
type engineOutcome struct {
	outcome Outcome
	reason  string
}

// TestAppealHorizonConfig checks the default and that a negative horizon is refused.
func TestAppealHorizonConfig(t *testing.T) {
	if c := (Config{}).WithDefaults(); c.AppealHorizon != DefaultAppealHorizon || DefaultAppealHorizon != DefaultAllowedLateness {
		t.Errorf("default appeal horizon %v (constant %v), want the allowed lateness %v", c.AppealHorizon, DefaultAppealHorizon, DefaultAllowedLateness)
	}
	if err := (Config{AppealHorizon: -time.Hour}).Validate(); err == nil {
		t.Error("a negative appeal horizon is accepted")
	}
}
