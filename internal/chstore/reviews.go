package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Column lists of the tables of reviews (schema/clickhouse/0007_reviews.sql).
const (
	reviewStatColumns = "region, period, period_start, period_end, version, reviews, bad, bad_rate, appeals, " +
		"appeals_upheld, rectifications_opened, closed_on_time, closed_late, overdue, overdue_cases, on_time_rate, " +
		"follow_ups, follow_up_sum, follow_up_mean, as_of, as_of_ns"
	alertColumns = "region, id, state, window_start, window_end, bad, reviews, baseline_bad, baseline_reviews, " +
		"factor, min_count, top_items, top_bad, version, recorded_at"
)

// ReviewStatRow is a row of review_stats: the reviews of a unit over a period ("rolling" or "day").
// The rates are nil when their denominator is 0.
type ReviewStatRow struct {
	Region                                    string
	Period                                    string
	PeriodStart, PeriodEnd                    time.Time
	Version                                   uint64
	Reviews, Bad                              uint64
	BadRate                                   *float64
	Appeals, AppealsUpheld                    uint64
	Opened, ClosedOnTime, ClosedLate, Overdue uint64
	OverdueCases                              []string
	OnTimeRate                                *float64
	FollowUps, FollowUpSum                    uint64
	FollowUpMean                              *float64
	AsOf                                      time.Time // the watermark: columns as_of and as_of_ns
}

// AlertRow is a row of alerts: an alert of a unit raised or ended, with its evidence (TopItems[i]
// goes with TopBad[i]). Its JSON form, with the column names, is the message of the alert on NATS
// (natsjs.Names.AlertSubject).
type AlertRow struct {
	Region          string    `json:"region"`
	ID              string    `json:"id"`
	State           string    `json:"state"` // "raised" or "ended"
	WindowStart     time.Time `json:"window_start"`
	WindowEnd       time.Time `json:"window_end"`
	Bad             uint64    `json:"bad"`
	Reviews         uint64    `json:"reviews"`
	BaselineBad     uint64    `json:"baseline_bad"`
	BaselineReviews uint64    `json:"baseline_reviews"`
	Factor          float64   `json:"factor"`
	MinCount        uint64    `json:"min_count"`
	TopItems        []string  `json:"top_items"`
	TopBad          []uint64  `json:"top_bad"`
	Version         uint64    `json:"version"`
	RecordedAt      time.Time `json:"recorded_at"`
}

var (
	reviewStatsTable = table[ReviewStatRow]{name: "review_stats", send: rowWise("review_stats", reviewStatColumns, reviewStatValues)}
	alertsTable      = table[AlertRow]{name: "alerts", send: rowWise("alerts", alertColumns, alertValues)}
)

func reviewStatValues(r *ReviewStatRow) []any {
	return []any{r.Region, r.Period, dt(r.PeriodStart), dt(r.PeriodEnd), r.Version, r.Reviews, r.Bad, r.BadRate,
		r.Appeals, r.AppealsUpheld, r.Opened, r.ClosedOnTime, r.ClosedLate, r.Overdue, nonNil(r.OverdueCases),
		r.OnTimeRate, r.FollowUps, r.FollowUpSum, r.FollowUpMean, dt(r.AsOf), ns(r.AsOf)}
}

func alertValues(r *AlertRow) []any {
	return []any{r.Region, r.ID, r.State, dt(r.WindowStart), dt(r.WindowEnd), r.Bad, r.Reviews, r.BaselineBad,
		r.BaselineReviews, r.Factor, r.MinCount, nonNil(r.TopItems), nonNil(r.TopBad), r.Version, dt(r.RecordedAt)}
}

// WriteReviews stores review statistics and alerts alone, as Write stores them with the rest of a
// Batch (Batch.ReviewStats, Batch.Alerts): writing the same rows again is harmless (the keys
// replace them), so the caller retries the whole call.
func (s *Store) WriteReviews(ctx context.Context, stats []ReviewStatRow, alerts []AlertRow) error {
	return s.Write(ctx, Batch{ReviewStats: stats, Alerts: alerts})
}

func scanReviewStat(rows driver.Rows, r *ReviewStatRow) error {
	var asOfNS int64
	var start, end, asOf time.Time
	if err := rows.Scan(&r.Region, &r.Period, &start, &end, &r.Version, &r.Reviews, &r.Bad, &r.BadRate,
		&r.Appeals, &r.AppealsUpheld, &r.Opened, &r.ClosedOnTime, &r.ClosedLate, &r.Overdue, &r.OverdueCases,
		&r.OnTimeRate, &r.FollowUps, &r.FollowUpSum, &r.FollowUpMean, &asOf, &asOfNS); err != nil {
		return err
	}
	r.PeriodStart, r.PeriodEnd, r.AsOf = start.UTC(), end.UTC(), fromNS(asOfNS)
	return nil
}

func scanAlert(rows driver.Rows, r *AlertRow) error {
	var start, end, rec time.Time
	if err := rows.Scan(&r.Region, &r.ID, &r.State, &start, &end, &r.Bad, &r.Reviews, &r.BaselineBad,
		&r.BaselineReviews, &r.Factor, &r.MinCount, &r.TopItems, &r.TopBad, &r.Version, &rec); err != nil {
		return err
	}
	r.WindowStart, r.WindowEnd, r.RecordedAt = start.UTC(), end.UTC(), rec.UTC()
	return nil
}

// ReviewStats returns the latest review_stats rows of a region (every region when region is "")
// and period (through FINAL), ordered by region and period_start.
func (s *Store) ReviewStats(ctx context.Context, region, period string) ([]ReviewStatRow, error) {
	where, args := " WHERE period = ?", []any{period}
	if region != "" {
		where, args = where+" AND region = ?", append(args, region)
	}
	q := "SELECT " + reviewStatColumns + " FROM " + s.table("review_stats") + " FINAL" + where +
		" ORDER BY region, period_start"
	out, err := query(ctx, s.conn, q, scanReviewStat, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read review_stats: %w", err)
	}
	return out, nil
}

// Alerts returns the alerts of a region (every region when region is ""), through FINAL, ordered
// by window start, region and state (raised before ended).
func (s *Store) Alerts(ctx context.Context, region string) ([]AlertRow, error) {
	where, args := "", []any(nil)
	if region != "" {
		where, args = " WHERE region = ?", []any{region}
	}
	q := "SELECT " + alertColumns + " FROM " + s.table("alerts") + " FINAL" + where +
		" ORDER BY window_start, region, state"
	out, err := query(ctx, s.conn, q, scanAlert, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read alerts: %w", err)
	}
	return out, nil
}
