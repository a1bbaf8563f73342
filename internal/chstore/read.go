package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/scoring"
)

// The readers below never count a row twice that a merge has not collapsed yet: they read the views
// (which use FINAL) or pick the highest version per key with LIMIT 1 BY. Results are ordered by key.

// LatestScores returns the latest_scores view: the score of the highest version of each region
// that has one, ordered by region.
func (s *Store) LatestScores(ctx context.Context) ([]ScoreRow, error) {
	q := "SELECT " + scores.list + " FROM " + s.table("latest_scores") + " ORDER BY region"
	out, err := scores.query(ctx, s.conn, q)
	if err != nil {
		return nil, fmt.Errorf("chstore: read latest_scores: %w", err)
	}
	return out, nil
}

// ScoreHistory returns the score_history view of one region (every region when region is ""): one
// row per (region, version), ordered by region and version.
func (s *Store) ScoreHistory(ctx context.Context, region string) ([]ScoreRow, error) {
	q := "SELECT " + scores.list + " FROM " + s.table("score_history")
	var args []any
	if region != "" {
		q += " WHERE region = ?"
		args = append(args, region)
	}
	q += " ORDER BY region, version"
	out, err := scores.query(ctx, s.conn, q, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read score_history: %w", err)
	}
	return out, nil
}

// LatestRanking returns the ranking of the highest version of the default method (scoring.Method,
// the rankings view), ordered by rank; none when no ranking is stored.
func (s *Store) LatestRanking(ctx context.Context) ([]RankingRow, error) {
	return s.LatestMethodRanking(ctx, scoring.Method)
}

// LatestMethodScores returns the latest score of every region under the given method, from the
// method_scores table (terms in Terms), ordered by region.
func (s *Store) LatestMethodScores(ctx context.Context, method string) ([]ScoreRow, error) {
	t := s.table("method_scores")
	q := "SELECT " + methodScores.list + " FROM " + t + " FINAL WHERE method = ? AND (region, version) IN " +
		"(SELECT region, max(version) FROM " + t + " WHERE method = ? GROUP BY region) ORDER BY region"
	out, err := methodScores.query(ctx, s.conn, q, method, method)
	if err != nil {
		return nil, fmt.Errorf("chstore: read latest scores of method %s: %w", method, err)
	}
	return out, nil
}

// MethodScoreHistory returns every stored score under the given method, ordered by region and
// version.
func (s *Store) MethodScoreHistory(ctx context.Context, method string) ([]ScoreRow, error) {
	q := "SELECT " + methodScores.list + " FROM " + s.table("method_scores") + " FINAL WHERE method = ? ORDER BY region, version"
	out, err := methodScores.query(ctx, s.conn, q, method)
	if err != nil {
		return nil, fmt.Errorf("chstore: read scores of method %s: %w", method, err)
	}
	return out, nil
}

// LatestMethodRanking returns the ranking with the highest version under the given method, from
// the method_rankings table, ordered by rank; empty when the method has none.
func (s *Store) LatestMethodRanking(ctx context.Context, method string) ([]RankingRow, error) {
	t := s.table("method_rankings")
	q := "SELECT " + rankingColumns + " FROM " + t + " FINAL WHERE method = ? AND version = (SELECT max(version) FROM " + t +
		" WHERE method = ?) ORDER BY rank"
	out, err := query(ctx, s.conn, q, scanRanking, method, method)
	if err != nil {
		return nil, fmt.Errorf("chstore: read latest ranking of method %s: %w", method, err)
	}
	return out, nil
}

// MethodRankings returns every stored ranking row under the given method, ordered by version and
// rank.
func (s *Store) MethodRankings(ctx context.Context, method string) ([]RankingRow, error) {
	q := "SELECT " + rankingColumns + " FROM " + s.table("method_rankings") + " FINAL WHERE method = ? ORDER BY version, rank"
	out, err := query(ctx, s.conn, q, scanRanking, method)
	if err != nil {
		return nil, fmt.Errorf("chstore: read rankings of method %s: %w", method, err)
	}
	return out, nil
}

// EventCounts returns the number of distinct event ids stored per region.
func (s *Store) EventCounts(ctx context.Context) (map[string]uint64, error) {
	rows, err := s.conn.Query(ctx, "SELECT region, uniqExact(id) FROM "+s.table("events")+" GROUP BY region")
	if err != nil {
		return nil, fmt.Errorf("chstore: count events: %w", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			region string
			n      uint64
		)
		if err := rows.Scan(&region, &n); err != nil {
			return nil, fmt.Errorf("chstore: count events: %w", err)
		}
		out[region] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: count events: %w", err)
	}
	return out, nil
}

// Events returns the stored events of one region (every region when region is ""), one per
// (region, id), the one with the highest stream sequence, ordered by region and id.
func (s *Store) Events(ctx context.Context, region string) ([]EventRow, error) {
	q, args := latestBy(s.table("events"), eventColumns, region, "region, id", "stream_seq")
	out, err := query(ctx, s.conn, q, scanEvent, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read events: %w", err)
	}
	return out, nil
}

// Windows returns the window rows of one region (every region when region is ""), one per
// (region, metric, window_start), the highest version, ordered by that key.
func (s *Store) Windows(ctx context.Context, region string) ([]WindowRow, error) {
	q, args := latestBy(s.table("windows"), windowColumns, region, "region, metric, window_start", "version")
	out, err := query(ctx, s.conn, q, scanWindow, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read windows: %w", err)
	}
	return out, nil
}

// LateEvents returns the late events of one region (every region when region is ""), one per
// (region, id, stream_seq), ordered by that key.
func (s *Store) LateEvents(ctx context.Context, region string) ([]LateEventRow, error) {
	q, args := latestBy(s.table("late_events"), lateEventColumns, region, "region, id, stream_seq", "recorded_at")
	out, err := query(ctx, s.conn, q, scanLateEvent, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read late_events: %w", err)
	}
	return out, nil
}

// DLQ returns the archived DLQ messages, one per (stage, stream_seq), ordered by that key.
func (s *Store) DLQ(ctx context.Context) ([]DLQRow, error) {
	q, args := latestBy(s.table("dlq"), dlqColumns, "", "stage, stream_seq", "received_at")
	out, err := query(ctx, s.conn, q, scanDLQ, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read dlq: %w", err)
	}
	return out, nil
}

// latestBy builds a query that returns one row per key (the one with the largest version column,
// which is what a merge of the ReplacingMergeTree keeps), optionally of one region.
func latestBy(table, columns, region, key, version string) (string, []any) {
	q := "SELECT " + columns + " FROM " + table
	var args []any
	if region != "" {
		q += " WHERE region = ?"
		args = append(args, region)
	}
	q += " ORDER BY " + key + ", " + version + " DESC LIMIT 1 BY " + key
	return q, args
}

func query[R any](ctx context.Context, conn driver.Conn, q string, scan func(driver.Rows, *R) error, args ...any) ([]R, error) {
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []R
	for rows.Next() {
		var r R
		if err := scan(rows, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func scanEvent(rows driver.Rows, r *EventRow) error {
	var (
		t, ingest time.Time
		tns       int64
	)
	if err := rows.Scan(&r.Region, &r.ID, &r.Type, &t, &tns, &ingest, &r.StreamSeq, &r.Source, &r.ItemCode,
		&r.Level, &r.Rating, &r.Channel, &r.Outcome, &r.Payload); err != nil {
		return err
	}
	r.Time, r.IngestTime = fromNS(tns), fromDT(ingest)
	return nil
}

func scanRanking(rows driver.Rows, r *RankingRow) error {
	var (
		asOf   time.Time
		asOfNS int64
	)
	if err := rows.Scan(&r.Version, &asOf, &asOfNS, &r.Method, &r.Rank, &r.Region, &r.Composite, &r.Grade,
		&r.PrevRank, &r.Change); err != nil {
		return err
	}
	r.AsOf = fromNS(asOfNS)
	return nil
}

func scanWindow(rows driver.Rows, r *WindowRow) error {
	var ws, we time.Time
	if err := rows.Scan(&r.Region, &r.Metric, &ws, &we, &r.Version, &r.Count, &r.RatingSum,
		&r.RatingCounts[0], &r.RatingCounts[1], &r.RatingCounts[2], &r.RatingCounts[3], &r.RatingCounts[4],
		&r.Completed, &r.Abandoned, &r.Rejected, &r.OnlineCompleted); err != nil {
		return err
	}
	r.WindowStart, r.WindowEnd = fromDT(ws), fromDT(we)
	return nil
}

func scanLateEvent(rows driver.Rows, r *LateEventRow) error {
	var (
		t, wm, rec time.Time
		tns, wmNS  int64
	)
	if err := rows.Scan(&r.Region, &r.ID, &r.Type, &t, &tns, &r.StreamSeq, &wm, &wmNS, &r.Reason,
		&r.Payload, &rec); err != nil {
		return err
	}
	r.Time, r.Watermark, r.RecordedAt = fromNS(tns), fromNS(wmNS), fromDT(rec)
	return nil
}

func scanDLQ(rows driver.Rows, r *DLQRow) error {
	var rec time.Time
	if err := rows.Scan(&r.Stage, &r.Reason, &r.ReasonCode, &r.Source, &rec, &r.StreamSeq, &r.EventID,
		&r.Region, &r.Type, &r.Body); err != nil {
		return err
	}
	r.ReceivedAt = fromDT(rec)
	return nil
}
