package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/scoring"
)

const groupRankingColumns = "ranking_group, method, version, as_of, as_of_ns, rank, region, composite, grade, prev_rank, change"

// GroupRankingRow is a row of the group_rankings table: one rank of one ranking version of a group
// of units other than the provincial units (internal/groups), keyed by (Group, Method, Version,
// Rank).
type GroupRankingRow struct {
	Group     string // the group's name, such as "key-cities"
	Method    string
	Version   uint64
	AsOf      time.Time // columns as_of and as_of_ns
	Rank      uint16
	Region    string
	Composite float64
	Grade     string
	PrevRank  uint16 // rank in the previous ranking of the group, 0 when there was none
	Change    int16
}

var groupRankingsTable = table[GroupRankingRow]{name: "group_rankings",
	send: rowWise("group_rankings", groupRankingColumns, groupRankingValues)}

// GroupRankingRows returns the rows of the ranking rk of a group.
func GroupRankingRows(group string, rk *scoring.Ranking) []GroupRankingRow {
	return AppendGroupRankingRows(make([]GroupRankingRow, 0, len(rk.Entries)), group, rk)
}

// AppendGroupRankingRows appends the rows of GroupRankingRows to dst.
func AppendGroupRankingRows(dst []GroupRankingRow, group string, rk *scoring.Ranking) []GroupRankingRow {
	for _, e := range rk.Entries {
		dst = append(dst, GroupRankingRow{Group: group, Method: rk.Method, Version: rk.Version, AsOf: rk.AsOf,
			Rank: uint16(e.Rank), Region: e.Region, Composite: e.Composite, Grade: string(e.Grade),
			PrevRank: uint16(e.PrevRank), Change: int16(e.Change)})
	}
	return dst
}

func groupRankingValues(r *GroupRankingRow) []any {
	return []any{r.Group, r.Method, r.Version, dt(r.AsOf), ns(r.AsOf), r.Rank, r.Region, r.Composite, r.Grade,
		r.PrevRank, r.Change}
}

// WriteGroupRankings stores rows of group rankings in one INSERT, as Write does with
// Batch.GroupRankings. Writing the same rows again is harmless: they replace themselves.
func (s *Store) WriteGroupRankings(ctx context.Context, rows []GroupRankingRow) error {
	return writeTable(ctx, s, groupRankingsTable, rows, nil)
}

// LatestGroupRanking returns the ranking of the highest version of a group under a method, ordered
// by rank; none when no ranking of the group is stored.
func (s *Store) LatestGroupRanking(ctx context.Context, group, method string) ([]GroupRankingRow, error) {
	t := s.table("group_rankings")
	q := "SELECT " + groupRankingColumns + " FROM " + t + " FINAL WHERE ranking_group = ? AND method = ? AND version = " +
		"(SELECT max(version) FROM " + t + " WHERE ranking_group = ? AND method = ?) ORDER BY rank"
	out, err := query(ctx, s.conn, q, scanGroupRanking, group, method, group, method)
	if err != nil {
		return nil, fmt.Errorf("chstore: read latest ranking of group %s: %w", group, err)
	}
	return out, nil
}

func scanGroupRanking(rows driver.Rows, r *GroupRankingRow) error {
	var (
		asOf   time.Time
		asOfNS int64
	)
	if err := rows.Scan(&r.Group, &r.Method, &r.Version, &asOf, &asOfNS, &r.Rank, &r.Region, &r.Composite,
		&r.Grade, &r.PrevRank, &r.Change); err != nil {
		return err
	}
	r.AsOf = fromNS(asOfNS)
	return nil
}
