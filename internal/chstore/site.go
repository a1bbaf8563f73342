package chstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
)

// The readers of the public site: a region's score history downsampled to a bounded number of
// points, and its most recent events. Like the other readers they never count a row twice that a
// merge has not collapsed yet.

// ScoreHistoryRange returns the scores of one region whose as-of time is in [from, to), ordered
// by version, at most points of them (points must be positive). When more scores than that fall in
// the range, the range is cut into at most points equal spans of as-of time and each span is
// represented by its score of the highest version, so the last point is always the latest score
// of the range. A zero from or to leaves that side open.
func (s *Store) ScoreHistoryRange(ctx context.Context, region string, from, to time.Time, points int) ([]ScoreRow, error) {
	if points <= 0 {
		return nil, fmt.Errorf("chstore: score history of %s: points %d must be positive", region, points)
	}
	// method_scores itself rather than the view scores, so that the unit's rows are found through
	// the table's key (method, region, version).
	where := " WHERE method = '" + scoring.Method + "' AND region = ?"
	args := []any{region}
	if !from.IsZero() {
		where += " AND as_of_ns >= ?"
		args = append(args, from.UnixNano())
	}
	if !to.IsZero() {
		where += " AND as_of_ns < ?"
		args = append(args, to.UnixNano())
	}
	t := s.table("method_scores")
	var (
		n          uint64
		minT, maxT int64
	)
	// count() may count a row that is not merged yet twice: the estimate only chooses between
	// every score and time spans, and the spans bound the result either way.
	if err := s.conn.QueryRow(ctx, "SELECT count(), min(as_of_ns), max(as_of_ns) FROM "+t+where, args...).Scan(&n, &minT, &maxT); err != nil {
		return nil, fmt.Errorf("chstore: score history of %s: range: %w", region, err)
	}
	if n == 0 {
		return nil, nil
	}
	key := "version"
	if n > uint64(points) {
		span := (maxT-minT)/int64(points) + 1 // ceil((max-min+1)/points) spans of as-of time
		key = "intDiv(as_of_ns - " + strconv.FormatInt(minT, 10) + ", " + strconv.FormatInt(span, 10) + ")"
	}
	// FINAL: of two rows of one version, one may be a row stored before migration 0012 that is
	// not merged yet with its copy, and reads 0 in every count.
	q := "SELECT " + scores.list + " FROM (SELECT " + scoresOfMethods + ", " + key + " AS bucket FROM " + t + " FINAL" + where +
		") ORDER BY bucket, version DESC LIMIT 1 BY bucket"
	out, err := scores.query(ctx, s.conn, q, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: score history of %s: %w", region, err)
	}
	// Buckets are in time order and versions grow with as-of time; sort by version all the same,
	// so that the order does not depend on that.
	slices.SortFunc(out, func(a, b ScoreRow) int { return cmp.Compare(a.Version, b.Version) })
	if len(out) > points {
		out = out[len(out)-points:]
	}
	return out, nil
}

// RecentEvents returns the limit most recent stored events of one region by event time (latest
// first, ties by id), one per id: the one with the highest stream sequence (read through FINAL).
func (s *Store) RecentEvents(ctx context.Context, region string, limit int) ([]EventRow, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := "SELECT " + eventColumns + " FROM " + s.table("events") + " FINAL WHERE region = ? ORDER BY time_ns DESC, id LIMIT " +
		strconv.Itoa(limit)
	out, err := query(ctx, s.conn, q, scanEvent, region)
	if err != nil {
		return nil, fmt.Errorf("chstore: recent events of %s: %w", region, err)
	}
	return out, nil
}
