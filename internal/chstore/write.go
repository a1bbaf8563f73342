package chstore

import (
	"context"
	"fmt"
	"time"
)

// Column lists of the tables, in the order of the values that Write appends and the readers scan.
const (
	eventColumns = "region, id, type, time, time_ns, ingest_time, stream_seq, source, item_code, " +
		"level, rating, channel, outcome, payload"
	scoreColumns = "region, version, as_of, as_of_ns, method, service_modes, item_coverage, " +
		"guide_accuracy, online_maturity, composite, grade, satisfaction, platform_levels, integrated, " +
		"portals, published_items, modes_total, maturity_total, required_province, covered_province, " +
		"required_city, covered_city, required_county, covered_county, required_township, " +
		"covered_township, audited_items, audit_correct_consistent, audit_correct_inconsistent, " +
		"applications, applications_online_completed, ratings, rating_sum, window_start, window_end"
	rankingColumns = "version, as_of, as_of_ns, method, rank, region, composite, grade, prev_rank, change"
	windowColumns  = "region, metric, window_start, window_end, version, count, rating_sum, " +
		"rating_1, rating_2, rating_3, rating_4, rating_5, completed, abandoned, rejected, online_completed"
	lateEventColumns = "region, id, type, time, time_ns, stream_seq, watermark, watermark_ns, reason, " +
		"payload, recorded_at"
	dlqColumns = "stage, reason, reason_code, source, received_at, stream_seq, event_id, region, type, body"
)

// Write stores the rows of b: one batched INSERT with an explicit column list per non-empty table,
// in the fixed order events, late_events, dlq, windows, scores, rankings (raw input before derived
// results). It stops at the first failure and returns an error naming the table; tables before it
// are stored, later ones are not. Writing the same batch again is harmless (see the package
// documentation), so the caller retries the whole batch.
func (s *Store) Write(ctx context.Context, b Batch) error {
	if err := insertEvents(ctx, s, b.Events); err != nil {
		return err
	}
	if err := insert(ctx, s, "late_events", lateEventColumns, b.LateEvents, lateEventValues); err != nil {
		return err
	}
	if err := insert(ctx, s, "dlq", dlqColumns, b.DLQ, dlqValues); err != nil {
		return err
	}
	if err := insert(ctx, s, "windows", windowColumns, b.Windows, windowValues); err != nil {
		return err
	}
	if err := insert(ctx, s, "scores", scoreColumns, b.Scores, scoreValues); err != nil {
		return err
	}
	return insert(ctx, s, "rankings", rankingColumns, b.Rankings, rankingValues)
}

func insert[R any](ctx context.Context, s *Store, table, columns string, rows []R, values func(*R) []any) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table(table)+" ("+columns+")")
	if err != nil {
		return fmt.Errorf("chstore: insert %s: %w", table, err)
	}
	for i := range rows {
		if err := batch.Append(values(&rows[i])...); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("chstore: insert %s: row %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chstore: insert %s: %w", table, err)
	}
	return nil
}

// insertEvents stores event rows column by column: the events table takes one row per stream
// message, and appending whole columns avoids boxing every value of every row.
func insertEvents(ctx context.Context, s *Store, rows []EventRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	var (
		region, id, typ, source = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		item, level, channel    = make([]string, n), make([]string, n), make([]string, n)
		outcome, payload        = make([]string, n), make([]string, n)
		eventTime, ingestTime   = make([]time.Time, n), make([]time.Time, n)
		timeNS                  = make([]int64, n)
		seq                     = make([]uint64, n)
		rating                  = make([]uint8, n)
	)
	for i := range rows {
		r := &rows[i]
		region[i], id[i], typ[i], source[i] = r.Region, r.ID, r.Type, r.Source
		item[i], level[i], channel[i], outcome[i], payload[i] = r.ItemCode, r.Level, r.Channel, r.Outcome, r.Payload
		eventTime[i], timeNS[i], ingestTime[i] = dt(r.Time), ns(r.Time), dt(r.IngestTime)
		seq[i], rating[i] = r.StreamSeq, r.Rating
	}
	// In the order of eventColumns.
	columns := []any{region, id, typ, eventTime, timeNS, ingestTime, seq, source, item, level, rating,
		channel, outcome, payload}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table("events")+" ("+eventColumns+")")
	if err != nil {
		return fmt.Errorf("chstore: insert events: %w", err)
	}
	for i, col := range columns {
		if err := batch.Column(i).Append(col); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("chstore: insert events: column %d: %w", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chstore: insert events: %w", err)
	}
	return nil
}

func scoreValues(r *ScoreRow) []any {
	return []any{r.Region, r.Version, dt(r.AsOf), ns(r.AsOf), r.Method, r.ServiceModes, r.ItemCoverage,
		r.GuideAccuracy, r.OnlineMaturity, r.Composite, r.Grade, r.Satisfaction, r.PlatformLevels,
		u8(r.Integrated), r.Portals, r.PublishedItems, r.ModesTotal, r.MaturityTotal,
		r.RequiredProvince, r.CoveredProvince, r.RequiredCity, r.CoveredCity,
		r.RequiredCounty, r.CoveredCounty, r.RequiredTownship, r.CoveredTownship,
		r.AuditedItems, r.AuditCorrectConsistent, r.AuditCorrectInconsistent,
		r.Applications, r.ApplicationsOnlineCompleted, r.Ratings, r.RatingSum,
		dt(r.WindowStart), dt(r.WindowEnd)}
}

func rankingValues(r *RankingRow) []any {
	return []any{r.Version, dt(r.AsOf), ns(r.AsOf), r.Method, r.Rank, r.Region, r.Composite, r.Grade,
		r.PrevRank, r.Change}
}

func windowValues(r *WindowRow) []any {
	return []any{r.Region, r.Metric, dt(r.WindowStart), dt(r.WindowEnd), r.Version, r.Count, r.RatingSum,
		r.RatingCounts[0], r.RatingCounts[1], r.RatingCounts[2], r.RatingCounts[3], r.RatingCounts[4],
		r.Completed, r.Abandoned, r.Rejected, r.OnlineCompleted}
}

func lateEventValues(r *LateEventRow) []any {
	return []any{r.Region, r.ID, r.Type, dt(r.Time), ns(r.Time), r.StreamSeq, dt(r.Watermark),
		ns(r.Watermark), r.Reason, r.Payload, dt(r.RecordedAt)}
}

func dlqValues(r *DLQRow) []any {
	return []any{r.Stage, r.Reason, r.ReasonCode, r.Source, dt(r.ReceivedAt), r.StreamSeq, r.EventID,
		r.Region, r.Type, r.Body}
}
