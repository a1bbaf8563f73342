package reviews

import (
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// The periods of review_stats rows.
const (
	PeriodRolling = "rolling"
	PeriodDay     = "day"
)

// Row returns the review_stats row of s for period (PeriodRolling or PeriodDay) at version, as of
// the watermark asOf.
func (s Summary) Row(period string, version uint64, asOf time.Time) chstore.ReviewStatRow {
	rate := func(v float64, ok bool) *float64 {
		if !ok {
			return nil
		}
		return &v
	}
	return chstore.ReviewStatRow{
		Region: s.Region, Period: period, PeriodStart: s.Start, PeriodEnd: s.End, Version: version,
		Reviews: uint64(s.Reviews), Bad: uint64(s.Bad), BadRate: rate(s.BadRate()),
		Appeals: uint64(s.Appeals), AppealsUpheld: uint64(s.AppealsUpheld),
		Opened: uint64(s.Opened), ClosedOnTime: uint64(s.ClosedOnTime), ClosedLate: uint64(s.ClosedLate),
		Overdue: uint64(s.Overdue), OverdueCases: s.OverdueCases, OnTimeRate: rate(s.OnTimeRate()),
		FollowUps: uint64(s.FollowUps), FollowUpSum: uint64(s.FollowUpSum), FollowUpMean: rate(s.FollowUpMean()),
		AsOf: asOf,
	}
}

// Row returns the alerts row of a at version, recorded at recordedAt (the watermark).
func (a Alert) Row(version uint64, recordedAt time.Time) chstore.AlertRow {
	state := "raised"
	if a.Ended {
		state = "ended"
	}
	r := chstore.AlertRow{
		Region: a.Region, ID: a.ID, State: state, WindowStart: a.Window.Start, WindowEnd: a.Window.End,
		Bad: uint64(a.Bad), Reviews: uint64(a.Reviews), BaselineBad: uint64(a.BaselineBad),
		BaselineReviews: uint64(a.BaselineReviews), Factor: a.Factor, MinCount: uint64(a.MinCount),
		Version: version, RecordedAt: recordedAt,
	}
	for _, it := range a.TopItems {
		r.TopItems = append(r.TopItems, it.ItemCode)
		r.TopBad = append(r.TopBad, uint64(it.Bad))
	}
	return r
}
