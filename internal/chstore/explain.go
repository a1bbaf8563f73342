package chstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/scoring"
)

// Column lists of the tables that explain changes (schema/clickhouse/0004_explain.sql), as read.
// Of these, delta and as_of of score_changes, as_of and applied of score_causes and as_of of
// rank_changes are computed from the others when read (ALIAS, 0010_explain_aliases.sql): the
// insert lists leave them out.
const (
	scoreChangeColumns = "method, region, version, term, from_version, from_value, to_value, delta, as_of, as_of_ns"
	scoreCauseColumns  = "method, region, version, from_version, as_of, as_of_ns, first_seq, last_seq, applied, " +
		"event_types, event_counts, items, items_total, window_types, window_left"
	rankChangeColumns = "method, version, from_version, as_of, as_of_ns, region, old_rank, new_rank, passed, " +
		"passed_terms, passed_by, passed_by_terms"

	scoreChangeInsertColumns = "method, region, version, term, from_version, from_value, to_value, as_of_ns"
	scoreCauseInsertColumns  = "method, region, version, from_version, as_of_ns, first_seq, last_seq, " +
		"event_types, event_counts, items, items_total, window_types, window_left"
	rankChangeInsertColumns = "method, version, from_version, as_of_ns, region, old_rank, new_rank, passed, " +
		"passed_terms, passed_by, passed_by_terms"
)

// ScoreChangeRow is a row of score_changes: the change of one term (a term of the method, the
// composite or a count) of one unit from the score at FromVersion to the score at Version. From,
// To and Delta are nil when there is no value (no previous score, or a term without a value).
// Delta is To - From: it is not stored, ClickHouse computes it when the row is read.
type ScoreChangeRow struct {
	Method      string
	Region      string
	Version     uint64
	Term        string
	FromVersion uint64
	From, To    *float64
	Delta       *float64
	AsOf        time.Time // the new score's as_of: column as_of_ns (as_of is computed from it)
}

// ScoreCauseRow is a row of score_causes: what changed one unit's score from FromVersion to
// Version. EventTypes and EventCounts go together, as do WindowTypes and WindowLeft; Applied is
// the sum of EventCounts (computed by ClickHouse when read, not stored).
type ScoreCauseRow struct {
	Method            string
	Region            string
	Version           uint64
	FromVersion       uint64
	AsOf              time.Time // columns as_of and as_of_ns
	FirstSeq, LastSeq uint64
	Applied           uint64
	EventTypes        []string
	EventCounts       []uint64
	Items             []string
	ItemsTotal        uint64
	WindowTypes       []string
	WindowLeft        []int64
}

// RankChangeRow is a row of rank_changes: one unit whose rank differs between the rankings of
// FromVersion and Version, with the units it passed (and those that passed it), each with the term
// that moved the pair most (PassedTerms[i] goes with Passed[i]).
type RankChangeRow struct {
	Method           string
	Version          uint64
	FromVersion      uint64
	AsOf             time.Time // columns as_of and as_of_ns
	Region           string
	OldRank, NewRank uint8
	Passed           []string
	PassedTerms      []string
	PassedBy         []string
	PassedByTerms    []string
}

var (
	scoreChangesTable = table[ScoreChangeRow]{name: "score_changes", send: insertScoreChanges}
	scoreCausesTable  = table[ScoreCauseRow]{name: "score_causes", send: insertScoreCauses}
	rankChangesTable  = table[RankChangeRow]{name: "rank_changes", send: rowWise("rank_changes", rankChangeInsertColumns, rankChangeValues)}
)

// The values of a row in the order of its insert list. A row's Delta and Applied are not sent:
// ClickHouse computes them from the values that are.

// insertScoreChanges stores score_changes rows column by column, in chunks of one INSERT (see
// insertChunked): a flush over every unit holds hundreds of thousands of them (one per term and
// count of each new score).
func insertScoreChanges(ctx context.Context, s *Store, rows []ScoreChangeRow) error {
	n := min(len(rows), insertChunkRows)
	var (
		method, region, term = make([]string, n), make([]string, n), make([]string, n)
		version, fromVersion = make([]uint64, n), make([]uint64, n)
		from, to             = make([]*float64, n), make([]*float64, n)
		asOfNS               = make([]int64, n)
	)
	return insertChunked(ctx, s, "score_changes", scoreChangeInsertColumns, len(rows), func(lo, hi int) []any {
		k := hi - lo
		for i := range k {
			r := &rows[lo+i]
			method[i], region[i], version[i], term[i], fromVersion[i] = r.Method, r.Region, r.Version, r.Term, r.FromVersion
			from[i], to[i], asOfNS[i] = r.From, r.To, ns(r.AsOf)
		}
		// In the order of scoreChangeInsertColumns.
		return []any{method[:k], region[:k], version[:k], term[:k], fromVersion[:k], from[:k], to[:k], asOfNS[:k]}
	})
}

// insertScoreCauses stores score_causes rows column by column, in chunks of one INSERT (see
// insertChunked): a flush over every unit holds one per new score, thousands.
func insertScoreCauses(ctx context.Context, s *Store, rows []ScoreCauseRow) error {
	n := min(len(rows), insertChunkRows)
	var (
		method, region                    = make([]string, n), make([]string, n)
		version, fromVersion, first, last = make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
		itemsTotal                        = make([]uint64, n)
		asOfNS                            = make([]int64, n)
		eventTypes, items, windowTypes    = make([][]string, n), make([][]string, n), make([][]string, n)
		eventCounts                       = make([][]uint64, n)
		windowLeft                        = make([][]int64, n)
	)
	return insertChunked(ctx, s, "score_causes", scoreCauseInsertColumns, len(rows), func(lo, hi int) []any {
		k := hi - lo
		for i := range k {
			r := &rows[lo+i]
			method[i], region[i], version[i], fromVersion[i] = r.Method, r.Region, r.Version, r.FromVersion
			asOfNS[i], first[i], last[i], itemsTotal[i] = ns(r.AsOf), r.FirstSeq, r.LastSeq, r.ItemsTotal
			eventTypes[i], eventCounts[i], items[i] = nonNil(r.EventTypes), nonNil(r.EventCounts), nonNil(r.Items)
			windowTypes[i], windowLeft[i] = nonNil(r.WindowTypes), nonNil(r.WindowLeft)
		}
		// In the order of scoreCauseInsertColumns.
		return []any{method[:k], region[:k], version[:k], fromVersion[:k], asOfNS[:k], first[:k], last[:k],
			eventTypes[:k], eventCounts[:k], items[:k], itemsTotal[:k], windowTypes[:k], windowLeft[:k]}
	})
}

func rankChangeValues(r *RankChangeRow) []any {
	return []any{r.Method, r.Version, r.FromVersion, ns(r.AsOf), r.Region, r.OldRank, r.NewRank,
		nonNil(r.Passed), nonNil(r.PassedTerms), nonNil(r.PassedBy), nonNil(r.PassedByTerms)}
}

// nonNil returns s, or an empty slice for nil (an empty array).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func scanScoreChange(rows driver.Rows, r *ScoreChangeRow) error {
	var (
		asOf   time.Time
		asOfNS int64
	)
	if err := rows.Scan(&r.Method, &r.Region, &r.Version, &r.Term, &r.FromVersion, &r.From, &r.To, &r.Delta,
		&asOf, &asOfNS); err != nil {
		return err
	}
	r.AsOf = fromNS(asOfNS)
	return nil
}

func scanScoreCause(rows driver.Rows, r *ScoreCauseRow) error {
	var (
		asOf   time.Time
		asOfNS int64
	)
	if err := rows.Scan(&r.Method, &r.Region, &r.Version, &r.FromVersion, &asOf, &asOfNS, &r.FirstSeq, &r.LastSeq,
		&r.Applied, &r.EventTypes, &r.EventCounts, &r.Items, &r.ItemsTotal, &r.WindowTypes, &r.WindowLeft); err != nil {
		return err
	}
	r.AsOf = fromNS(asOfNS)
	return nil
}

func scanRankChange(rows driver.Rows, r *RankChangeRow) error {
	var (
		asOf   time.Time
		asOfNS int64
	)
	if err := rows.Scan(&r.Method, &r.Version, &r.FromVersion, &asOf, &asOfNS, &r.Region, &r.OldRank, &r.NewRank,
		&r.Passed, &r.PassedTerms, &r.PassedBy, &r.PassedByTerms); err != nil {
		return err
	}
	r.AsOf = fromNS(asOfNS)
	return nil
}

// The readers of the explanations read those of the default method (scoring.DefaultMethod), whose
// scores are those of the scores view; the tables hold every method's.

// ScoreChanges returns the score_changes rows of the default method of one region (every region when region is "") at
// the given versions (every version when none is given), through FINAL, ordered by region, version
// and term.
func (s *Store) ScoreChanges(ctx context.Context, region string, versions ...uint64) ([]ScoreChangeRow, error) {
	where, args := regionVersions(region, versions)
	q := "SELECT " + scoreChangeColumns + " FROM " + s.table("score_changes") + " FINAL" + where +
		" ORDER BY region, version, term"
	out, err := query(ctx, s.conn, q, scanScoreChange, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read score_changes: %w", err)
	}
	return out, nil
}

// ScoreCauses returns the score_causes rows of the default method of one region whose as_of is in (from, to], through
// FINAL, ordered by version. A zero from means from the start.
func (s *Store) ScoreCauses(ctx context.Context, region string, from, to time.Time) ([]ScoreCauseRow, error) {
	q := "SELECT " + scoreCauseColumns + " FROM " + s.table("score_causes") +
		" FINAL WHERE method = ? AND region = ? AND as_of_ns > ? AND as_of_ns <= ? ORDER BY version"
	out, err := query(ctx, s.conn, q, scanScoreCause, scoring.DefaultMethod, region, ns(from), ns(to))
	if err != nil {
		return nil, fmt.Errorf("chstore: read score_causes: %w", err)
	}
	return out, nil
}

// VersionAt returns the highest version of a region's stored score changes of the default method whose as_of is at or
// before t, and false when there is none.
func (s *Store) VersionAt(ctx context.Context, region string, t time.Time) (uint64, bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT max(version), count() FROM "+s.table("score_causes")+
		" WHERE method = ? AND region = ? AND as_of_ns <= ?", scoring.DefaultMethod, region, ns(t))
	if err != nil {
		return 0, false, fmt.Errorf("chstore: read score_causes: %w", err)
	}
	defer rows.Close()
	var (
		v uint64
		n uint64
	)
	if rows.Next() {
		if err := rows.Scan(&v, &n); err != nil {
			return 0, false, fmt.Errorf("chstore: read score_causes: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("chstore: read score_causes: %w", err)
	}
	return v, n > 0, nil
}

// RankChanges returns the rank_changes rows of the default method whose as_of is in (from, to], of the rankings' finest
// steps (the rows with the highest from_version of each version: after a crash a version may have
// been written from two previous rankings), ordered by version and new rank. A zero from means from
// the start.
func (s *Store) RankChanges(ctx context.Context, from, to time.Time) ([]RankChangeRow, error) {
	t := s.table("rank_changes")
	q := "SELECT " + rankChangeColumns + " FROM " + t + " FINAL WHERE method = ? AND as_of_ns > ? AND as_of_ns <= ? AND " +
		"(version, from_version) IN (SELECT version, max(from_version) FROM " + t +
		" WHERE method = ? AND as_of_ns > ? AND as_of_ns <= ? GROUP BY version) ORDER BY version, new_rank"
	out, err := query(ctx, s.conn, q, scanRankChange, scoring.DefaultMethod, ns(from), ns(to), scoring.DefaultMethod, ns(from), ns(to))
	if err != nil {
		return nil, fmt.Errorf("chstore: read rank_changes: %w", err)
	}
	return out, nil
}

// regionVersions returns the WHERE clause (with a leading space, or "") and its arguments that
// select the default method, one region (every one when "") and a set of versions (all when
// empty).
func regionVersions(region string, versions []uint64) (string, []any) {
	conds, args := []string{"method = ?"}, []any{any(scoring.DefaultMethod)}
	if region != "" {
		conds = append(conds, "region = ?")
		args = append(args, region)
	}
	if len(versions) > 0 {
		list := make([]string, len(versions))
		for i, v := range versions {
			list[i] = strconv.FormatUint(v, 10) // numbers: no quoting needed
		}
		conds = append(conds, "version IN ("+strings.Join(list, ", ")+")")
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// LatestRankChanges returns, per region, its rank_changes row of the default method of the highest version (the finest
// step of that version), ordered by region: the last time each unit's rank changed.
func (s *Store) LatestRankChanges(ctx context.Context) ([]RankChangeRow, error) {
	q := "SELECT " + rankChangeColumns + " FROM " + s.table("rank_changes") +
		" WHERE method = ? ORDER BY region, version DESC, from_version DESC LIMIT 1 BY region"
	out, err := query(ctx, s.conn, q, scanRankChange, scoring.DefaultMethod)
	if err != nil {
		return nil, fmt.Errorf("chstore: read rank_changes: %w", err)
	}
	return out, nil
}
