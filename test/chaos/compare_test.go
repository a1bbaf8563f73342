package chaos_test

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/portals"
)

// snapshot is what the comparison reads from one database.
type snapshot struct {
	scores  []chstore.ScoreRow
	ranking []chstore.RankingRow
	counts  []regionCount
	// latestChanges are the score_changes rows of each region's latest version without what
	// depends on where flushes were cut (from_version, from_value, delta): the values at that
	// version, which both runs must agree on.
	latestChanges []latestChange
	// unexplained says how the score_changes of the run disagree with its scores ("" when they
	// agree; explain.Verify): the chain of changes must hold whatever the run's flush boundaries.
	unexplained string
	// inconsistencies (through FINAL) and portalMeasures depend only on the stream: their keys
	// and versions are stream sequences and event times.
	inconsistencies []chstore.InconsistencyRow
	portalMeasures  []portals.Measures
	// reviewStats and alerts (through FINAL) depend only on the stream too: every row is the
	// state at the event of its version.
	reviewStats []chstore.ReviewStatRow
	alerts      []chstore.AlertRow
}

// latestChange is a score_changes row of a region's latest version, reduced to what does not
// depend on the run.
type latestChange struct {
	Region  string
	Version uint64
	Term    string
	To      *float64
}

// regionCount is the per-region count of the events table read through FINAL.
type regionCount struct {
	Region   string
	Rows     uint64 // count() of events FINAL
	Distinct uint64 // uniqExact(id)
}

// distinct returns the number of distinct event ids over all regions.
func (s snapshot) distinct() uint64 {
	var n uint64
	for _, c := range s.counts {
		n += c.Distinct
	}
	return n
}

// readSnapshot reads latest_scores (every column), the latest ranking and the per-region event
// counts of database.
func readSnapshot(ctx context.Context, conn driver.Conn, database string) (snapshot, error) {
	st := chstore.New(conn, database, nil)
	var s snapshot
	var err error
	if s.scores, err = st.LatestScores(ctx); err != nil {
		return s, err
	}
	if s.ranking, err = st.LatestRanking(ctx); err != nil {
		return s, err
	}
	rows, err := conn.Query(ctx, "SELECT region, count(), uniqExact(id) FROM `"+database+"`.events FINAL GROUP BY region ORDER BY region")
	if err != nil {
		return s, fmt.Errorf("chaos: count events of %s: %w", database, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c regionCount
		if err := rows.Scan(&c.Region, &c.Rows, &c.Distinct); err != nil {
			return s, fmt.Errorf("chaos: count events of %s: %w", database, err)
		}
		s.counts = append(s.counts, c)
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("chaos: count events of %s: %w", database, err)
	}
	history, err := st.ScoreHistory(ctx, "")
	if err != nil {
		return s, err
	}
	changes, err := st.ScoreChanges(ctx, "")
	if err != nil {
		return s, err
	}
	if err := explain.Verify(history, changes); err != nil {
		s.unexplained = err.Error()
	}
	if s.inconsistencies, err = st.Inconsistencies(ctx, ""); err != nil {
		return s, err
	}
	if s.portalMeasures, err = st.PortalMeasures(ctx); err != nil {
		return s, err
	}
	for _, period := range []string{"day", "rolling"} {
		rows, err := st.ReviewStats(ctx, "", period)
		if err != nil {
			return s, err
		}
		s.reviewStats = append(s.reviewStats, rows...)
	}
	if s.alerts, err = st.Alerts(ctx, ""); err != nil {
		return s, err
	}
	latest := make(map[string]uint64, len(s.scores))
	for _, sc := range s.scores {
		latest[sc.Region] = sc.Version
	}
	for _, c := range changes {
		if latest[c.Region] == c.Version {
			s.latestChanges = append(s.latestChanges, latestChange{Region: c.Region, Version: c.Version, Term: c.Term, To: c.To})
		}
	}
	return s, nil
}

// firstDifference compares the chaos run (got) with the uninterrupted run (want) and describes
// the first difference, or returns "" when they are identical.
func firstDifference(got, want snapshot) string {
	if d := diffRows("latest_scores", got.scores, want.scores, func(r chstore.ScoreRow) string { return "region " + r.Region }); d != "" {
		return d
	}
	if d := diffRows("latest_ranking", got.ranking, want.ranking, func(r chstore.RankingRow) string { return fmt.Sprintf("rank %d", r.Rank) }); d != "" {
		return d
	}
	if got.unexplained != "" {
		return "score_changes of the chaos run: " + got.unexplained
	}
	if want.unexplained != "" {
		return "score_changes of the uninterrupted run: " + want.unexplained
	}
	if d := diffRows("score_changes at the latest versions", got.latestChanges, want.latestChanges, func(c latestChange) string {
		return fmt.Sprintf("region %s version %d term %s", c.Region, c.Version, c.Term)
	}); d != "" {
		return d
	}
	if d := diffRows("inconsistencies FINAL", got.inconsistencies, want.inconsistencies, func(c chstore.InconsistencyRow) string {
		return fmt.Sprintf("region %s item %s/%s portals %q|%q opened %d", c.Region, c.Level, c.ItemCode, c.PortalA, c.PortalB, c.OpenedVersion)
	}); d != "" {
		return d
	}
	if d := diffRows("portal_measures", got.portalMeasures, want.portalMeasures, func(m portals.Measures) string {
		return "region " + m.Region
	}); d != "" {
		return d
	}
	if d := diffRows("review_stats FINAL", got.reviewStats, want.reviewStats, func(r chstore.ReviewStatRow) string {
		return fmt.Sprintf("region %s %s from %s", r.Region, r.Period, r.PeriodStart.Format(time.RFC3339))
	}); d != "" {
		return d
	}
	if d := diffRows("alerts FINAL", got.alerts, want.alerts, func(a chstore.AlertRow) string {
		return "alert " + a.ID + " " + a.State
	}); d != "" {
		return d
	}
	return diffRows("events FINAL per region", got.counts, want.counts, func(c regionCount) string { return "region " + c.Region })
}

// diffRows describes the first row of got that differs from want, naming the row by name and
// the first differing field.
func diffRows[R any](table string, got, want []R, name func(R) string) string {
	for i := range min(len(got), len(want)) {
		if reflect.DeepEqual(got[i], want[i]) {
			continue
		}
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		if n := name(got[i]); n != name(want[i]) {
			return fmt.Sprintf("%s row %d: %s, uninterrupted run: %s", table, i, n, name(want[i]))
		}
		for f := range g.NumField() {
			gf, wf := g.Field(f).Interface(), w.Field(f).Interface()
			if !reflect.DeepEqual(gf, wf) {
				return fmt.Sprintf("%s %s %s: %s, uninterrupted run: %s", table, name(got[i]), g.Type().Field(f).Name, show(gf), show(wf))
			}
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%s: %d rows, uninterrupted run: %d rows", table, len(got), len(want))
	}
	return ""
}

// show formats a value of a row field, following pointers.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "NULL"
		}
		return fmt.Sprint(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}
