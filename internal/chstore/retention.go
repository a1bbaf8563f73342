package chstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// monthlyTables are the tables partitioned by month (PARTITION BY toYYYYMM(...)).
var monthlyTables = []string{"events", "late_events", "windows", "dlq"}

// DropMonthsBefore drops the monthly partitions of table (events, late_events, windows or dlq)
// whose whole month lies before cutoff: partition YYYYMM goes once the first instant of the next
// month (UTC) is at or before cutoff. It returns the partitions it dropped (YYYYMM), oldest first,
// also when it fails half way. 18.16 has no TTL, so retention is ALTER TABLE ... DROP PARTITION,
// which removes the rows at once. Dropping a partition another process dropped first is harmless.
func (s *Store) DropMonthsBefore(ctx context.Context, table string, cutoff time.Time) ([]string, error) {
	if !slices.Contains(monthlyTables, table) {
		return nil, fmt.Errorf("chstore: drop months of %q: not a monthly partitioned table", table)
	}
	// On a cluster the parts are those of the local table; the drop runs on every shard.
	local, onCluster := s.localTable(table), ""
	if s.cluster != "" {
		onCluster = " ON CLUSTER " + s.cluster
	}
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active ORDER BY partition", s.db, local)
	if err != nil {
		return nil, fmt.Errorf("chstore: drop months of %s: list partitions: %w", table, err)
	}
	var old []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("chstore: drop months of %s: list partitions: %w", table, err)
		}
		yyyymm, err := strconv.Atoi(p)
		if err != nil || len(p) != 6 {
			rows.Close()
			return nil, fmt.Errorf("chstore: drop months of %s: partition %q is not a month (YYYYMM)", table, p)
		}
		end := time.Date(yyyymm/100, time.Month(yyyymm%100)+1, 1, 0, 0, 0, 0, time.UTC)
		if !end.After(cutoff) {
			old = append(old, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: drop months of %s: list partitions: %w", table, err)
	}
	var dropped []string
	for _, p := range old {
		// p is six digits (checked above): safe to put into the statement.
		if err := s.conn.Exec(ctx, "ALTER TABLE "+s.table(local)+onCluster+" DROP PARTITION "+p); err != nil {
			return dropped, fmt.Errorf("chstore: drop partition %s of %s: %w", p, table, err)
		}
		dropped = append(dropped, p)
		s.log.Info("dropped partition", "table", table, "partition", p, "cutoff", cutoff)
	}
	return dropped, nil
}
