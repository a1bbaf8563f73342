package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/govpulse/govpulse/internal/portals"
)

// Column lists of the tables of the portals (schema/clickhouse/0006_inconsistencies.sql).
const (
	inconsistencyColumns = "region, level, item_code, portal_a, portal_b, opened_version, opened_at, opened_at_ns, " +
		"closed_version, closed_at, closed_at_ns, fields, values_a, values_b, version"
	portalCountColumns = "region, version, portals, published_items, multi_portal_items, open, inconsistent_items, " +
		"closed, open_nanos_total"
	portalMeasureColumns = "region, version, portals, published_items, multi_portal_items, open, inconsistent_items, " +
		"closed, share, mean_open_seconds"
)

// InconsistencyRow is a row of inconsistencies: one inconsistency between two portals of a unit as
// the engine returns it (internal/portals). Its Fields are the columns fields, values_a and
// values_b; OpenedAt and ClosedAt have nanosecond columns beside them.
type InconsistencyRow = portals.Inconsistency

// PortalCountsRow is a row of portal_counts: a unit's portal measures; Share and MeanOpenSeconds
// are not stored (the view portal_measures derives them).
type PortalCountsRow = portals.Measures

var (
	inconsistenciesTable = table[InconsistencyRow]{name: "inconsistencies",
		send: rowWise("inconsistencies", inconsistencyColumns, inconsistencyValues)}
	portalCountsTable = table[PortalCountsRow]{name: "portal_counts",
		send: rowWise("portal_counts", portalCountColumns, portalCountValues)}
)

func inconsistencyValues(r *InconsistencyRow) []any {
	names, a, b := make([]string, len(r.Fields)), make([]string, len(r.Fields)), make([]string, len(r.Fields))
	for i, f := range r.Fields {
		names[i], a[i], b[i] = f.Name, f.A, f.B
	}
	return []any{r.Region, r.Level, r.ItemCode, r.PortalA, r.PortalB, r.OpenedVersion, dt(r.OpenedAt), ns(r.OpenedAt),
		r.ClosedVersion, dt(r.ClosedAt), ns(r.ClosedAt), names, a, b, r.Version}
}

func portalCountValues(r *PortalCountsRow) []any {
	return []any{r.Region, r.Version, uint64(r.Portals), uint64(r.PublishedItems), uint64(r.MultiPortalItems),
		uint64(r.Open), uint64(r.InconsistentItems), uint64(r.Closed), r.OpenNanosTotal}
}

func scanInconsistency(rows driver.Rows, r *InconsistencyRow) error {
	var (
		openedAt, closedAt      time.Time
		openedNS, closedNS      int64
		names, valuesA, valuesB []string
	)
	if err := rows.Scan(&r.Region, &r.Level, &r.ItemCode, &r.PortalA, &r.PortalB, &r.OpenedVersion, &openedAt,
		&openedNS, &r.ClosedVersion, &closedAt, &closedNS, &names, &valuesA, &valuesB, &r.Version); err != nil {
		return err
	}
	if len(valuesA) != len(names) || len(valuesB) != len(names) {
		return fmt.Errorf("fields, values_a and values_b differ in length: %d, %d, %d", len(names), len(valuesA), len(valuesB))
	}
	r.OpenedAt, r.ClosedAt = fromNS(openedNS), fromNS(closedNS)
	r.Fields = nil
	for i := range names {
		r.Fields = append(r.Fields, portals.Field{Name: names[i], A: valuesA[i], B: valuesB[i]})
	}
	return nil
}

func scanPortalMeasures(rows driver.Rows, r *portals.Measures) error {
	var p, pub, multi, open, incons, closed uint64
	if err := rows.Scan(&r.Region, &r.Version, &p, &pub, &multi, &open, &incons, &closed, &r.Share,
		&r.MeanOpenSeconds); err != nil {
		return err
	}
	r.Portals, r.PublishedItems, r.MultiPortalItems = int64(p), int64(pub), int64(multi)
	r.Open, r.InconsistentItems, r.Closed = int64(open), int64(incons), int64(closed)
	return nil
}

// Inconsistencies returns the inconsistencies of one region ("" for every region), open or
// closed, through FINAL, ordered by region, item, portals and opening version.
func (s *Store) Inconsistencies(ctx context.Context, region string) ([]InconsistencyRow, error) {
	q := "SELECT " + inconsistencyColumns + " FROM " + s.table("inconsistencies") + " FINAL"
	var args []any
	if region != "" {
		q += " WHERE region = ?"
		args = append(args, region)
	}
	q += " ORDER BY region, level, item_code, portal_a, portal_b, opened_version"
	out, err := query(ctx, s.conn, q, scanInconsistency, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: read inconsistencies: %w", err)
	}
	return out, nil
}

// PortalMeasures returns the view portal_measures, one row per region with portal state, ordered
// by region. OpenNanosTotal is not read (MeanOpenSeconds is).
func (s *Store) PortalMeasures(ctx context.Context) ([]portals.Measures, error) {
	q := "SELECT " + portalMeasureColumns + " FROM " + s.table("portal_measures") + " ORDER BY region"
	out, err := query(ctx, s.conn, q, scanPortalMeasures)
	if err != nil {
		return nil, fmt.Errorf("chstore: read portal_measures: %w", err)
	}
	return out, nil
}

// UnitPortals returns the portal measures of one region (nil before its first portal change) and
// its open inconsistencies, the limit most recently opened first.
func (s *Store) UnitPortals(ctx context.Context, region string, limit int) (*portals.Measures, []InconsistencyRow, error) {
	q := "SELECT " + portalMeasureColumns + " FROM " + s.table("portal_measures") + " WHERE region = ?"
	ms, err := query(ctx, s.conn, q, scanPortalMeasures, region)
	if err != nil {
		return nil, nil, fmt.Errorf("chstore: read portal_measures of %s: %w", region, err)
	}
	q = "SELECT " + inconsistencyColumns + " FROM " + s.table("inconsistencies") + " FINAL" +
		" WHERE region = ? AND closed_version = 0 ORDER BY opened_version DESC, level, item_code, portal_a, portal_b" +
		" LIMIT " + fmt.Sprint(max(limit, 0))
	open, err := query(ctx, s.conn, q, scanInconsistency, region)
	if err != nil {
		return nil, nil, fmt.Errorf("chstore: read inconsistencies of %s: %w", region, err)
	}
	if len(ms) == 0 {
		return nil, open, nil
	}
	return &ms[0], open, nil
}
