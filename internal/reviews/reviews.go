// Package reviews follows the lifecycle of reviews (好差评) per unit: ratings, appeals that void a
// review, rectifications against working-day deadlines, and alerts when a unit's bad-review rate
// over a short window rises above its baseline. It is pure like pkg/windows: the caller passes
// the events in stream order with the event-time watermark, and reads the results; nothing reads
// the clock.
//
// A review voided on appeal (feedback.appeal_decided upheld) leaves every window it was counted
// in, and a review whose appeal was upheld before it arrived is never counted: the results equal
// those of a stream in which the review never came (the records of windows.Dedup and
// Operator.Remove). A review is held once: as a record in the id store (Config.IDs, the engine's
// remembered ids), of one byte beyond its id's fingerprint and time; a Case only exists for a
// review that a lifecycle event names.
package reviews

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/workdays"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// Defaults of Config.
const (
	DefaultWindow        = 30 * 24 * time.Hour
	DefaultAlertWindow   = time.Hour
	DefaultAlertFactor   = 2.0
	DefaultAlertMinCount = 5
	// DefaultTopItems is how many items an alert's evidence names.
	DefaultTopItems = 5
)

// cstOffset is the offset of China Standard Time, in which days start.
const cstOffset = 8 * time.Hour

// Config configures a Tracker. Zero values take the defaults.
type Config struct {
	Calendar        *workdays.Calendar // working days of deadlines; nil: workdays.China with no local rules
	Window          time.Duration      // the rolling window of the results and the alert baseline, whole days
	AllowedLateness time.Duration      // events before watermark - AllowedLateness are too late
	// AppealHorizon bounds how late an appeal may void a review: an upheld decision voids the
	// review only while the review's event time is at or after the watermark minus AppealHorizon
	// when the second of the two is applied; later, the review stays counted and the decision is
	// Expired. The records of the reviews are kept for the longer of AppealHorizon and
	// AllowedLateness (ExpireRecords), so that a decision up to the allowed lateness past the
	// horizon is still recognised. Zero means AllowedLateness.
	AppealHorizon time.Duration
	AlertWindow   time.Duration // the short window of alerts (tumbling), a divisor of a day
	AlertFactor   float64       // an alert needs a short-window bad rate above baseline * factor
	AlertMinCount int           // and at least this many bad reviews in the short window
	// IDs is the id store that holds the record of every review (windows.Dedup.Count): the
	// engine's remembered ids, so that a review is held once. Nil: the tracker keeps a store of
	// its own (in its snapshot). The tracker forgets the records its windows can no longer take
	// back (PurgeRecords); the owner of a shared store purges its plain ids.
	IDs *windows.Dedup
}

func (c Config) withDefaults() Config {
	if c.Calendar == nil {
		c.Calendar = workdays.China(workdays.Rules{})
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.AlertWindow <= 0 {
		c.AlertWindow = DefaultAlertWindow
	}
	if c.AlertFactor <= 0 {
		c.AlertFactor = DefaultAlertFactor
	}
	if c.AlertMinCount <= 0 {
		c.AlertMinCount = DefaultAlertMinCount
	}
	if c.AppealHorizon <= 0 {
		c.AppealHorizon = c.AllowedLateness
	}
	return c
}

// recordsKept is how long the records of the reviews are kept behind the watermark: the longer
// of the appeal horizon and the allowed lateness (a record is the slot of a remembered id, kept
// that long anyway).
func (c Config) recordsKept() time.Duration { return max(c.AppealHorizon, c.AllowedLateness) }

// rating is what the windows count of a review.
type rating struct {
	bad bool
}

// badItem is a counted bad review naming an item, kept while the short window of its time can
// still be judged: the evidence of an alert (top).
type badItem struct {
	fp   windows.Fingerprint // the review's, in the id store
	t    int64               // its event time, Unix nanoseconds
	item string
	void bool
}

// tally is the accumulator of the windows: bad reviews of all reviews.
type tally struct{ Bad, Total int64 }

type tallyAgg struct{}

func (tallyAgg) Add(a tally, r rating) tally {
	a.Total++
	if r.bad {
		a.Bad++
	}
	return a
}

func (tallyAgg) Merge(a, b tally) tally { return tally{Bad: a.Bad + b.Bad, Total: a.Total + b.Total} }

func (tallyAgg) Result(a tally) tally { return a }

func (tallyAgg) Subtract(a tally, r rating) tally {
	a.Total--
	if r.bad {
		a.Bad--
	}
	return a
}

// shortTally is the accumulator of the short window of alerts, in 32 bits: a pane is at most a
// day (AlertWindow divides one), and 2³² reviews of one unit in a day are 50,000 a second. The
// short window holds a pane per unit for every AlertWindow of the allowed lateness (169 a unit
// at the defaults), so its accumulator is a large part of the tracker's memory.
type shortTally struct{ Bad, Total uint32 }

type shortAgg struct{}

func (shortAgg) Add(a shortTally, r rating) shortTally {
	a.Total++
	if r.bad {
		a.Bad++
	}
	return a
}

func (shortAgg) Merge(a, b shortTally) shortTally {
	return shortTally{Bad: a.Bad + b.Bad, Total: a.Total + b.Total}
}

func (shortAgg) Result(a shortTally) tally { return tally{Bad: int64(a.Bad), Total: int64(a.Total)} }

func (shortAgg) Subtract(a shortTally, r rating) shortTally {
	a.Total--
	if r.bad {
		a.Bad--
	}
	return a
}

// Case is the lifecycle of one review that a lifecycle event named; what it holds of the review
// itself (Seen, Time, Rating) is read from the review's record.
type Case struct {
	Region, ReviewID string
	Seen             bool      // the review arrived
	Time             time.Time // the review's event time
	Rating           int
	Appealed         bool
	Decision         events.Decision // "" until decided
	Opened           time.Time       // zero unless a rectification was opened
	DeadlineDays     int
	Deadline         time.Time // the end of the last working day
	Closed           time.Time // zero unless closed
	Resolved         bool
	FollowUp         int // the follow-up rating, 0 when none
	// Expired: the decision was upheld past the appeal horizon (Config.AppealHorizon), so the
	// review was not voided and stays counted.
	Expired bool

	last time.Time // the latest event time of the events of the case, for forgetting it
}

// Void reports whether the review was voided on appeal: upheld within the appeal horizon.
func (c *Case) Void() bool { return c.Decision == events.Upheld && !c.Expired }

// Outcome is what Apply did with an event.
type Outcome int

// The outcomes.
const (
	Applied Outcome = iota
	TooLate         // before the lateness horizon: nothing changed
	Ignored         // a duplicate review, a review voided before it came, or not a review event
	// Expired: applied, but the upheld decision and its review met past the appeal horizon (a
	// decision on a review older than the watermark minus Config.AppealHorizon, or such a review
	// coming after its decision): the review is not voided and stays counted. The appeal counts
	// as decided and upheld.
	Expired
)

// Tracker follows the reviews of every unit. It is not safe for concurrent use.
type Tracker struct {
	cfg     Config
	rolling *windows.Operator[string, rating, tally, tally]
	short   *windows.Operator[string, rating, shortTally, tally]
	ids     *windows.Dedup       // the records of the reviews (Config.IDs, or owned)
	ownIDs  bool                 // ids is the tracker's own, in its snapshot
	cases   map[string]*Case     // the reviews a lifecycle event named, by region/review id
	latest  map[string]int64     // by region, the latest event time of its reviews (Unix ns)
	bad     map[string][]badItem // by region, its counted bad reviews naming an item, in arrival order
	wm      time.Time
	active  map[string]Alert // the raised alerts by region
	alerts  []Alert          // raised and ended, not yet taken or stamped

	// units counts the cases of each region; a region with cases or with reviews since the purge
	// horizon (latest) has a rolling row that moves every day. life holds, by region and review id, the cases with
	// an appeal decided or a rectification opened: the only ones a Summary reads beyond the
	// windows.
	units map[string]int
	life  map[string]map[string]*Case
	// marked holds the rows changed since the last Stamp; rows and stamped the rows and alert
	// rows stamped since the last TakeRows (see stamp.go).
	marked  map[RowKey]bool
	rows    map[RowKey]chstore.ReviewStatRow
	stamped []chstore.AlertRow
	purged  time.Time // the horizon of the last purge
}

// New returns an empty Tracker.
func New(cfg Config) (*Tracker, error) {
	cfg = cfg.withDefaults()
	if cfg.Window%(24*time.Hour) != 0 {
		return nil, errors.New("reviews: the window must be whole days")
	}
	if (24*time.Hour)%cfg.AlertWindow != 0 {
		return nil, errors.New("reviews: the alert window must divide a day")
	}
	t := &Tracker{cfg: cfg, ids: cfg.IDs, cases: map[string]*Case{}, latest: map[string]int64{},
		bad: map[string][]badItem{}, active: map[string]Alert{}, units: map[string]int{},
		life: map[string]map[string]*Case{}, marked: map[RowKey]bool{}, rows: map[RowKey]chstore.ReviewStatRow{}}
	if t.ids == nil {
		t.ids, t.ownIDs = windows.NewDedup(), true
	}
	var err error
	if t.rolling, err = windows.New[string](windows.Config{Size: cfg.Window, Hop: 24 * time.Hour, Offset: cstOffset,
		AllowedLateness: cfg.AllowedLateness, DiscardChanged: true, DiscardFinal: true},
		windows.Aggregator[rating, tally, tally](tallyAgg{})); err != nil {
		return nil, fmt.Errorf("reviews: rolling window: %w", err)
	}
	if t.short, err = windows.New[string](windows.Config{Size: cfg.AlertWindow, AllowedLateness: cfg.AllowedLateness,
		DiscardChanged: true}, windows.Aggregator[rating, shortTally, tally](shortAgg{})); err != nil {
		return nil, fmt.Errorf("reviews: alert window: %w", err)
	}
	return t, nil
}

func caseKey(region, id string) string { return region + "/" + id }

// caseOf returns the case of a review, created if needed, touched by an event at tm.
func (t *Tracker) caseOf(region, id string, tm time.Time) *Case {
	return t.caseAt(caseKey(region, id), region, id, tm)
}

// caseAt is caseOf with the case's key k (caseKey) already built. A new case reads what it holds
// of the review from the review's record.
func (t *Tracker) caseAt(k, region, id string, tm time.Time) *Case {
	c := t.cases[k]
	if c == nil {
		c = &Case{Region: region, ReviewID: id}
		if r, ok := t.ids.Lookup(k); ok {
			c.Seen, c.Time, c.Rating, c.last = true, r.Time, int(r.Value), r.Time
		}
		t.cases[k] = c
		t.units[region]++
	}
	if tm.After(c.last) {
		c.last = tm
	}
	return c
}

// Apply applies ev at watermark wm (already raised by ev's time). Events before the lateness
// horizon change nothing. Lifecycle events are idempotent: the first decision of an appeal, the
// first opening and the first closing of a rectification count (a voided review stays void).
func (t *Tracker) Apply(ev *events.Event, wm time.Time) Outcome {
	if _, ok := ev.Data.(*events.FeedbackRatedData); ok {
		return t.Rate(caseKey(ev.Region, ev.ID), ev, wm)
	}
	t.advance(wm)
	if t.rolling.Check(ev.Time, wm) != nil {
		return TooLate
	}
	switch d := ev.Data.(type) {
	case *events.FeedbackAppealedData:
		t.caseOf(ev.Region, d.ReviewID, ev.Time).Appealed = true
	case *events.FeedbackAppealDecidedData:
		c := t.caseOf(ev.Region, d.ReviewID, ev.Time)
		if c.Decision != "" {
			return Ignored
		}
		c.Appealed = true
		c.Decision = d.Decision
		t.live(c)
		if c.Seen {
			t.markDay(c.Region, c.Time)
		}
		t.markDay(c.Region, c.Opened)
		t.markRolling(c.Region)
		if d.Decision == events.Upheld {
			k := caseKey(ev.Region, d.ReviewID)
			if c.Seen && c.Time.Before(t.appealFrom()) {
				// Past the appeal horizon: the review stays counted (its record, if still kept,
				// stays as it is).
				c.Expired = true
				return Expired
			}
			if r, ok := t.ids.Void(k, ev.Time); ok {
				in := rating{bad: r.Value <= 2}
				// A window already final keeps the review (ErrTooLate): final windows never change.
				_ = t.rolling.Remove(ev.Region, r.Time, in, nil)
				_ = t.short.Remove(ev.Region, r.Time, in, nil)
				if in.bad {
					t.voidBad(ev.Region, t.ids.Fingerprint(k))
				}
			}
		}
	case *events.RectificationOpenedData:
		c := t.caseOf(ev.Region, d.ReviewID, ev.Time)
		if !c.Opened.IsZero() {
			return Ignored
		}
		c.Opened, c.DeadlineDays = ev.Time, d.DeadlineDays
		c.Deadline = t.cfg.Calendar.Deadline(ev.Time, d.DeadlineDays)
		t.live(c)
		t.markDay(c.Region, c.Opened)
		t.markRolling(c.Region)
	case *events.RectificationClosedData:
		c := t.caseOf(ev.Region, d.ReviewID, ev.Time)
		if !c.Closed.IsZero() {
			return Ignored
		}
		c.Closed, c.Resolved, c.FollowUp = ev.Time, d.Resolved, d.Rating
		t.markDay(c.Region, c.Opened)
		t.markRolling(c.Region)
	default:
		return Ignored
	}
	return Applied
}

// Rate applies the review ev (a feedback.rated event) whose key (events.Key.String, region/id) is
// key, at watermark wm, as Apply does: Applied when it is counted, Ignored when its record shows
// it already (a duplicate) or it was voided before it came. The review is recorded in the id
// store (windows.Dedup.Count) with its rating; a case that a lifecycle event opened before it
// learns it came.
func (t *Tracker) Rate(key string, ev *events.Event, wm time.Time) Outcome {
	t.advance(wm)
	if t.rolling.Check(ev.Time, wm) != nil {
		return TooLate
	}
	d, ok := ev.Data.(*events.FeedbackRatedData)
	if !ok || d.Rating < 1 || d.Rating > 5 {
		return Ignored
	}
	tn := ev.Time.UnixNano()
	if l, ok := t.latest[ev.Region]; !ok || l < tn {
		t.latest[ev.Region] = tn
	}
	var c *Case
	if len(t.cases) > 0 {
		if c = t.cases[key]; c != nil && ev.Time.After(c.last) {
			c.last = ev.Time
		}
	}
	if _, dup := t.ids.Lookup(key); dup {
		return Ignored
	}
	// A decision that came before its review voids it only if the review is within the appeal
	// horizon now.
	expired := ev.Time.Before(t.appealFrom()) && t.ids.DropPending(key)
	if expired && c != nil {
		c.Expired = true
	}
	counted := t.ids.Count(key, ev.Time, uint8(d.Rating))
	if c != nil {
		c.Seen, c.Time, c.Rating = true, ev.Time, d.Rating
	}
	// Counted or not, its day's appeals may change (a decision that came before it).
	t.markDay(ev.Region, ev.Time)
	t.markRolling(ev.Region)
	if !counted {
		return Ignored
	}
	r := rating{bad: d.Bad()}
	// Both operators accept the event: their lateness is the same.
	_ = t.rolling.Add(ev.Region, ev.Time, r, wm)
	_ = t.short.Add(ev.Region, ev.Time, r, wm)
	if r.bad && d.ItemCode != "" {
		t.bad[ev.Region] = append(t.bad[ev.Region], badItem{fp: t.ids.Fingerprint(key), t: tn, item: d.ItemCode})
	}
	if expired {
		return Expired
	}
	return Applied
}

// appealFrom returns the oldest review time an upheld decision can still void: the watermark
// minus the appeal horizon.
func (t *Tracker) appealFrom() time.Time { return t.wm.Add(-t.cfg.AppealHorizon) }

// Case returns the case of a review a lifecycle event named, and false when there is none.
func (t *Tracker) Case(region, reviewID string) (*Case, bool) {
	c, ok := t.cases[caseKey(region, reviewID)]
	return c, ok
}

// AppealHorizon returns the appeal horizon in force (Config.AppealHorizon with its default).
func (t *Tracker) AppealHorizon() time.Duration { return t.cfg.AppealHorizon }

// voidBad marks the bad review fp of region void in the evidence of alerts.
func (t *Tracker) voidBad(region string, fp windows.Fingerprint) {
	bs := t.bad[region]
	for i := range bs {
		if bs[i].fp == fp && !bs[i].void {
			bs[i].void = true
			return
		}
	}
}

// Advance moves the tracker to watermark wm without an event: windows become final, alerts are
// judged and old state is forgotten.
func (t *Tracker) Advance(wm time.Time) { t.advance(wm) }

func (t *Tracker) advance(wm time.Time) {
	if !wm.After(t.wm) {
		return
	}
	prev := t.wm
	t.wm = wm
	// Records older than they are kept for are forgotten at once (the table frees their slots
	// when it would grow, and at the daily purge below).
	t.ids.ExpireRecords(wm.Add(-t.cfg.recordsKept()))
	// Short windows are judged before the rolling window moves on, so that the baseline of each is
	// still whole (see judge).
	t.short.Advance(wm)
	for _, r := range t.short.TakeFinal(nil) {
		t.judge(r.Key, r.Window, r.Value)
	}
	t.rolling.Advance(wm)
	// The oldest pane held moves by whole days: purge and forget then only (they are idempotent
	// for one horizon, so purged, which starts at zero after a restore, is no state).
	if horizon := t.rolling.RetractHorizon(); horizon.After(t.purged) {
		t.purged = horizon
		t.ids.PurgeRecords(wm.Add(-t.cfg.recordsKept()))
		// A case whose events are all older than the oldest pane held counts in no rolling result
		// any more (the rolling window starts after it), its day rows are final, and an event of
		// it would be too late. So for a region's reviews.
		for k, c := range t.cases {
			if c.last.Before(horizon) {
				t.forget(k, c)
			}
		}
		h := horizon.UnixNano()
		for region, l := range t.latest {
			if l < h {
				delete(t.latest, region)
			}
		}
		t.purgeBad(t.short.RetractHorizon().UnixNano())
	}
	if !dayStart(prev).Equal(dayStart(wm)) {
		t.newDay(prev)
	}
}

// Watermark returns the watermark of the last Apply or Advance.
func (t *Tracker) Watermark() time.Time { return t.wm }

// dayStart returns midnight, China Standard Time, of the day of x, in UTC.
func dayStart(x time.Time) time.Time {
	l := x.UTC().Add(cstOffset)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Add(-cstOffset)
}

// Summary is the result of a unit over a range of event time.
type Summary struct {
	Region     string
	Start, End time.Time
	Reviews    int64 // counted reviews (voided ones excluded)
	Bad        int64 // bad reviews (rating 1 or 2) among them
	// Appeals is the number of appeals decided in the range; AppealsUpheld of them upheld.
	Appeals, AppealsUpheld int64
	// Opened counts the rectifications opened in the range (of reviews not void); ClosedOnTime and
	// ClosedLate those of them closed before and after their deadline, Overdue those open past it
	// at the watermark (OverdueCases lists their review ids, sorted).
	Opened, ClosedOnTime, ClosedLate, Overdue int64
	OverdueCases                              []string
	FollowUps                                 int64 // follow-up ratings of closed rectifications
	FollowUpSum                               int64
}

// BadRate returns Bad/Reviews (差评率), and false without reviews.
func (s Summary) BadRate() (float64, bool) { return ratio(s.Bad, s.Reviews) }

// OnTimeRate returns the share of rectifications closed on time among those whose outcome is
// known (closed, or overdue), and false when there are none.
func (s Summary) OnTimeRate() (float64, bool) {
	return ratio(s.ClosedOnTime, s.ClosedOnTime+s.ClosedLate+s.Overdue)
}

// FollowUpMean returns the mean follow-up rating (1..5), and false without one.
func (s Summary) FollowUpMean() (float64, bool) { return ratio(s.FollowUpSum, s.FollowUps) }

func ratio(a, b int64) (float64, bool) {
	if b == 0 {
		return 0, false
	}
	return float64(a) / float64(b), true
}

// Rolling returns the summary of region over the rolling window that ends at the end of the
// watermark's day (UTC+8).
func (t *Tracker) Rolling(region string) Summary {
	end := dayStart(t.wm).Add(24 * time.Hour)
	return t.summary(region, end.Add(-t.cfg.Window), end)
}

// Day returns the summary of region for the day (UTC+8) that holds day.
func (t *Tracker) Day(region string, day time.Time) Summary {
	start := dayStart(day)
	return t.summary(region, start, start.Add(24*time.Hour))
}

func (t *Tracker) summary(region string, start, end time.Time) Summary {
	tl := t.rolling.Query(region, start, end)
	s := Summary{Region: region, Start: start, End: end, Reviews: tl.Total, Bad: tl.Bad}
	in := func(x time.Time) bool { return !x.IsZero() && !x.Before(start) && x.Before(end) }
	for _, c := range t.life[region] {
		if c.Decision != "" && in(c.Time) && c.Seen {
			s.Appeals++
			if c.Decision == events.Upheld {
				s.AppealsUpheld++ // past the appeal horizon too (Case.Expired)
			}
		}
		if c.Void() || !in(c.Opened) {
			continue
		}
		s.Opened++
		switch t.cfg.Calendar.Judge(c.Opened, c.DeadlineDays, c.Closed, t.wm) {
		case workdays.ClosedOnTime:
			s.ClosedOnTime++
		case workdays.ClosedLate:
			s.ClosedLate++
		case workdays.Overdue:
			s.Overdue++
			s.OverdueCases = append(s.OverdueCases, c.ReviewID)
		}
		if !c.Closed.IsZero() && c.FollowUp > 0 {
			s.FollowUps++
			s.FollowUpSum += int64(c.FollowUp)
		}
	}
	slices.Sort(s.OverdueCases)
	return s
}

// Alert is a raised or ended alert of a unit's bad-review rate.
type Alert struct {
	Region string
	// ID identifies the alert: region and the start of the window that raised it. Its end carries
	// the same ID, so that a store keyed by ID and state keeps each transition once.
	ID    string
	Ended bool // false: raised by Window; true: ended by Window
	// Window is the short window judged.
	Window windows.Window
	// Bad and Reviews are the counts of the short window; BaselineBad and BaselineReviews those of
	// the unit's rolling window of the short window's day (the baseline).
	Bad, Reviews, BaselineBad, BaselineReviews int64
	// TopItems are the items with the most bad reviews in the short window, most first.
	TopItems []ItemCount
	// Factor and MinCount are the thresholds in force.
	Factor   float64
	MinCount int
}

// ItemCount is a number of bad reviews of an item.
type ItemCount struct {
	ItemCode string
	Bad      int64
}

// judge judges a final short window of region: an alert is raised when its bad reviews reach the
// minimum count and their rate exceeds the baseline rate times the factor, and ended by the first
// final window after it that does not. The baseline is the unit's rolling window of the short
// window's day (that day included), which the rolling operator still holds whole before it advances
// past the watermark at which the short window became final.
func (t *Tracker) judge(region string, w windows.Window, v tally) {
	end := dayStart(w.Start).Add(24 * time.Hour)
	base := t.rolling.Query(region, end.Add(-t.cfg.Window), end)
	baseRate, _ := ratio(base.Bad, base.Total)
	rate, _ := ratio(v.Bad, v.Total)
	high := v.Bad >= int64(t.cfg.AlertMinCount) && rate > baseRate*t.cfg.AlertFactor
	a, active := t.active[region]
	switch {
	case high && !active:
		a = Alert{Region: region, ID: region + "/" + w.Start.UTC().Format(time.RFC3339), Window: w,
			Bad: v.Bad, Reviews: v.Total, BaselineBad: base.Bad, BaselineReviews: base.Total, TopItems: t.top(region, w),
			Factor: t.cfg.AlertFactor, MinCount: t.cfg.AlertMinCount}
		t.active[region] = a
		t.alerts = append(t.alerts, a)
	case !high && active:
		delete(t.active, region)
		a.Ended, a.Window = true, w
		a.Bad, a.Reviews, a.BaselineBad, a.BaselineReviews, a.TopItems = v.Bad, v.Total, base.Bad, base.Total, nil
		t.alerts = append(t.alerts, a)
	}
}

// purgeBad forgets the bad reviews before h (no short window holding them can be judged any
// more) and the void ones.
func (t *Tracker) purgeBad(h int64) {
	for region, bs := range t.bad {
		kept := bs[:0]
		for _, b := range bs {
			if !b.void && b.t >= h {
				kept = append(kept, b)
			}
		}
		clear(bs[len(kept):])
		if len(kept) == 0 {
			delete(t.bad, region)
			continue
		}
		t.bad[region] = kept
	}
}

// top returns the items with the most bad reviews of region in w.
func (t *Tracker) top(region string, w windows.Window) []ItemCount {
	n := map[string]int64{}
	s, e := w.Start.UnixNano(), w.End.UnixNano()
	for _, b := range t.bad[region] {
		if !b.void && b.t >= s && b.t < e {
			n[b.item]++
		}
	}
	out := make([]ItemCount, 0, len(n))
	for k, v := range n {
		out = append(out, ItemCount{ItemCode: k, Bad: v})
	}
	slices.SortFunc(out, func(a, b ItemCount) int {
		if c := cmp.Compare(b.Bad, a.Bad); c != 0 {
			return c
		}
		return cmp.Compare(a.ItemCode, b.ItemCode)
	})
	return out[:min(len(out), DefaultTopItems)]
}

// TakeAlerts returns the alerts raised and ended since the last call or Stamp, in order, and
// forgets them. A caller that stamps (Stamp, TakeRows) gets the alerts as rows instead.
func (t *Tracker) TakeAlerts() []Alert {
	out := t.alerts
	t.alerts = nil
	return out
}
