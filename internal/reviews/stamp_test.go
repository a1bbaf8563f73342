package reviews

import (
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// stampRun applies the scenario, stamping each event with its index + 1 as version, taking rows
// every take events (0: only at the end), and restoring from a snapshot at cut (-1: never). It
// returns the latest row of every key and every alert row.
func stampRun(t *testing.T, take, cut int) (map[RowKey]chstore.ReviewStatRow, []chstore.AlertRow, *Tracker) {
	t.Helper()
	cfg := Config{AllowedLateness: time.Hour}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[RowKey]chstore.ReviewStatRow{}
	var alerts []chstore.AlertRow
	collect := func() {
		stats, as := tr.TakeRows()
		for _, r := range stats {
			k := RowKey{r.Region, r.Period, r.PeriodStart}
			if old, ok := latest[k]; ok && old.Version > r.Version {
				t.Fatalf("row %v went back from version %d to %d", k, old.Version, r.Version)
			}
			latest[k] = r
		}
		alerts = append(alerts, as...)
	}
	var wm time.Time
	for i, e := range scenario(nil) {
		if i == cut {
			if tr, err = Restore(cfg, tr.AppendSnapshot(nil)); err != nil {
				t.Fatal(err)
			}
		}
		if e.Time.After(wm) {
			wm = e.Time
		}
		tr.Apply(e, wm)
		tr.Stamp(uint64(i + 1))
		if take > 0 && i%take == 0 {
			collect()
		}
	}
	tr.Advance(wm.Add(30 * time.Hour))
	tr.Stamp(1 << 20)
	collect()
	return latest, alerts, tr
}

// TestStampedRowsDoNotDependOnTakes checks that the rows and alerts stored do not depend on when
// they are taken or on snapshots between, and that the latest row of every period still held is
// the period's summary at the end (nothing that changes a row goes unmarked).
func TestStampedRowsDoNotDependOnTakes(t *testing.T) {
	want, wantAlerts, tr := stampRun(t, 0, -1)
	if len(want) == 0 || len(wantAlerts) != 2 {
		t.Fatalf("%d rows, alerts %+v", len(want), wantAlerts)
	}
	for _, c := range []struct{ take, cut int }{{1, -1}, {7, -1}, {1, 260}, {13, 275}, {0, 280}} {
		got, gotAlerts, _ := stampRun(t, c.take, c.cut)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotAlerts, wantAlerts) {
			t.Errorf("taking every %d, restored at %d: rows or alerts differ", c.take, c.cut)
		}
	}
	horizon := tr.rolling.RetractHorizon()
	for k, r := range want {
		if k.Period == PeriodDay && k.Start.Before(horizon) {
			continue
		}
		if k.Period == PeriodRolling && !k.Start.Equal(tr.rollingStart(tr.Watermark())) {
			continue
		}
		now := tr.row(k, r.Version)
		now.AsOf = r.AsOf
		if !reflect.DeepEqual(now, r) {
			t.Errorf("%v: stored %+v, now %+v", k, r, now)
		}
	}
	d27 := want[RowKey{zj, PeriodDay, at("2024-09-27 00:00")}]
	if d27.Overdue != 1 || d27.ClosedOnTime != 1 || len(d27.OverdueCases) != 1 || d27.OverdueCases[0] != "d" {
		t.Errorf("27 September: %+v", d27)
	}
}
