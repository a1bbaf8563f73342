package reviews

import (
	"cmp"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// RowKey identifies a row of review_stats: a unit, a period (PeriodRolling or PeriodDay) and the
// period's start.
type RowKey struct {
	Region, Period string
	Start          time.Time
}

func compareKeys(a, b RowKey) int {
	if c := cmp.Compare(a.Region, b.Region); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Period, b.Period); c != 0 {
		return c
	}
	return a.Start.Compare(b.Start)
}

// rollingStart returns the start of the rolling window that ends at the end of the day of wm.
func (t *Tracker) rollingStart(wm time.Time) time.Time {
	return dayStart(wm).Add(24 * time.Hour).Add(-t.cfg.Window)
}

// markRolling marks the rolling row of region as changed.
func (t *Tracker) markRolling(region string) {
	t.marked[RowKey{Region: region, Period: PeriodRolling, Start: t.rollingStart(t.wm)}] = true
}

// markDay marks the day row of region of the day of tm as changed, unless tm is zero or the day is
// final (its pane is no longer held: its row keeps its last version).
func (t *Tracker) markDay(region string, tm time.Time) {
	if tm.IsZero() {
		return
	}
	d := dayStart(tm)
	if d.Before(t.rolling.RetractHorizon()) {
		return
	}
	t.marked[RowKey{Region: region, Period: PeriodDay, Start: d}] = true
}

// live records c among the cases a Summary reads.
func (t *Tracker) live(c *Case) {
	m := t.life[c.Region]
	if m == nil {
		m = map[string]*Case{}
		t.life[c.Region] = m
	}
	m[c.ReviewID] = c
}

// forget drops the case c under key k.
func (t *Tracker) forget(k string, c *Case) {
	delete(t.cases, k)
	if t.units[c.Region]--; t.units[c.Region] <= 0 {
		delete(t.units, c.Region)
	}
	if m := t.life[c.Region]; m != nil {
		delete(m, c.ReviewID)
		if len(m) == 0 {
			delete(t.life, c.Region)
		}
	}
}

// newDay marks what the watermark's move from prev into a new day (UTC+8) changed: the rolling
// row of every unit with cases (its window moved), and the day row of every rectification whose
// deadline the watermark passed (it became overdue). Deadlines are at the end of a day, so this
// is the only time a rectification becomes overdue.
func (t *Tracker) newDay(prev time.Time) {
	for region := range t.units {
		t.markRolling(region)
	}
	for region := range t.latest {
		t.markRolling(region)
	}
	for region, m := range t.life {
		for _, c := range m {
			if c.Opened.IsZero() || !c.Closed.IsZero() || c.Void() {
				continue
			}
			if c.Deadline.After(prev) && !c.Deadline.After(t.wm) {
				t.markDay(region, c.Opened)
				t.markRolling(region)
			}
		}
	}
}

// Stamp gives the rows changed since the last Stamp, and the alerts raised or ended since, the
// version version (the stream sequence of the event just applied) and the watermark as of which
// they hold. Call it after every Apply or Advance: a row's content is its state at the event
// that last changed it, whatever is applied after, so the stored rows do not depend on when
// TakeRows is called.
func (t *Tracker) Stamp(version uint64) {
	for k := range t.marked {
		t.rows[k] = t.row(k, version)
	}
	clear(t.marked)
	for _, a := range t.alerts {
		t.stamped = append(t.stamped, a.Row(version, t.wm))
	}
	t.alerts = nil
}

// row returns the row of k at version, as of the watermark.
func (t *Tracker) row(k RowKey, version uint64) chstore.ReviewStatRow {
	size := 24 * time.Hour
	if k.Period == PeriodRolling {
		size = t.cfg.Window
	}
	return t.summary(k.Region, k.Start, k.Start.Add(size)).Row(k.Period, version, t.wm)
}

// TakeRows returns the review_stats rows stamped since the last call, the latest of each, sorted
// by region, period and start, and the alert rows stamped since, in order; and forgets them.
func (t *Tracker) TakeRows() ([]chstore.ReviewStatRow, []chstore.AlertRow) {
	keys := make([]RowKey, 0, len(t.rows))
	for k := range t.rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	stats := make([]chstore.ReviewStatRow, 0, len(keys))
	for _, k := range keys {
		stats = append(stats, t.rows[k])
	}
	clear(t.rows)
	alerts := t.stamped
	t.stamped = nil
	return stats, alerts
}

// Cases returns the number of cases the tracker holds (one per review a lifecycle event named,
// within the rolling window and the lateness horizon); the reviews themselves are records of the
// id store (windows.Dedup.Records).
func (t *Tracker) Cases() int { return len(t.cases) }
