package engine

import (
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/reviews"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// Outcome is what Apply did with an event.
type Outcome uint8

// The outcomes of Apply.
const (
	// Applied: the event was taken into account (a portal change that lost
	// to a newer writer of its key is also Applied, with a Reason).
	Applied Outcome = iota + 1
	// Duplicate: a user-experience event whose identity (region and id,
	// events.Key) was already applied, or a stream sequence at or below
	// LastSeq; nothing changed.
	Duplicate
	// TooLate: a user-experience event older than the watermark minus the
	// allowed lateness; only the watermark moved.
	TooLate
	// NotInPartition: the event's region is not in the partition; only the
	// watermark moved (every partition follows the watermark of the whole
	// stream, see Observe).
	NotInPartition
	// OverLimit: a portal change that would add an item to a (region,
	// level) that already holds Config.MaxItemsPerLevel items; nothing
	// changed but the watermark.
	OverLimit
	// PastAppealHorizon: applied, but an upheld appeal and its review met
	// past the appeal horizon (Config.AppealHorizon): a decision on a review
	// whose event time is before W minus the horizon, or such a review coming
	// after its decision. The review is not voided and stays in the scores;
	// the appeal counts as decided and upheld in the review statistics. The
	// Reason says which review and why.
	PastAppealHorizon
)

// String returns the outcome's name: "applied", "duplicate", "too_late",
// "not_in_partition", "limit" or "past_appeal_horizon".
func (o Outcome) String() string {
	switch o {
	case PastAppealHorizon:
		return "past_appeal_horizon"
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case TooLate:
		return "too_late"
	case NotInPartition:
		return "not_in_partition"
	case OverLimit:
		return "limit"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Result is the outcome of Apply and, unless the event counted normally,
// the reason in words.
type Result struct {
	Outcome Outcome
	Reason  string
}

// region is one unit of the partition.
type region struct {
	state  *scoring.Region
	scores []scoring.Score // latest score under each method (Config.Methods); valid when scored
	win    scoring.Window  // the rolling window counts of the latest scores
	scored bool
	dirty  bool // scores changed since the last Drain

	// The groups the unit is ranked in beside the provincial units
	// (groupsOf), once hasGroups.
	groups    []*groupState
	hasGroups bool

	// With Config.Explain, per method in the order of Config.Methods: the
	// scores the last Drain returned (valid when hasDrained) and the score
	// in force when Drain last returned the method's ranking (valid when
	// hasRanked[m]); and the causes accumulated since the last Drain that
	// returned the unit, which are those of every method's change.
	drained    []scoring.Score
	hasDrained bool
	ranked     []scoring.Score
	hasRanked  []bool
	causes     causeAcc

	// The unit's portals and the inconsistencies between them.
	portals *portals.Unit
}

// Engine is one partition's state machine. It is not safe for concurrent
// use.
type Engine struct {
	cfg     Config
	regions []region               // the provincial units by code, then the units under them in order of arrival
	index   map[string]int         // region code -> index in regions
	byCode  []int                  // the indices of regions in code order
	groups  map[string]*groupState // by group name; nil for a group with units of another partition

	wm      windows.Watermark
	hasDay  bool
	day     int64 // UTC+8 day number of the watermark
	lastSeq uint64

	dedup   *windows.Dedup   // the remembered ids, with the records of the reviews (reviews.go)
	rev     *reviews.Tracker // the lifecycle of reviews (reviews.go)
	rolling *windows.Operator[int, ux, rollAcc, rollAcc]
	hourly  *windows.Operator[int, ux, hourAcc, hourAcc] // key: region index * metricCount + metric

	// winVersions holds the version of every hourly window changed since
	// the last Drain.
	winVersions map[winKey]uint64
	// dirtyUnits counts the regions marked dirty since the last Drain: the
	// size of its output, known beforehand.
	dirtyUnits  int
	changedWins []windows.Result[int, hourAcc] // scratch of Drain

	specs []*scoring.Spec // the methods, in the order of Config.Methods
	rk    []ranking       // the ranking under each method

	touched     []int            // scratch: regions rescored by the current event
	old         []float64        // scratch: the composites of its provincial units before it, under one method
	wins        []scoring.Window // scratch: their rolling windows
	provTouched []int            // scratch: its provincial units
	changed     []int            // scratch: the units below the provincial level whose composite under the first method it changed
	changedOld  []float64        // scratch: their composites before it

	// With Config.Explain: the names of the counts, the ranking of each
	// method the last Drain returned, and what the current event did to the
	// windows.
	countNames   []string
	lastRankings []*scoring.Ranking
	slid         bool // the current event moved the rolling window to a new day
	added        ux   // the user-experience event the current event added...
	addedIdx     int  // ...to the window of this region, -1 when none
	addedTime    time.Time
}

// winKey identifies an hourly window: its operator key and start.
type winKey struct {
	key   int
	start int64 // Unix nanoseconds
}

// New returns an empty Engine for the partition cfg. It fails when cfg is
// not valid (see Config.Validate).
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	e := &Engine{
		cfg:         cfg,
		regions:     make([]region, len(cfg.Regions)),
		index:       make(map[string]int, len(cfg.Regions)),
		wm:          windows.NewWatermark(cfg.OutOfOrderness),
		dedup:       newDedup(cfg.IDKey),
		winVersions: make(map[winKey]uint64),
		addedIdx:    -1,
		countNames:  scoring.CountNames(),
		groups:      make(map[string]*groupState),
	}
	for _, id := range cfg.Methods {
		spec, _ := scoring.Lookup(id) // Validate checked it
		e.specs = append(e.specs, spec)
		e.rk = append(e.rk, newRanking(len(cfg.Regions)))
	}
	e.lastRankings = make([]*scoring.Ranking, len(e.specs))
	for i, code := range cfg.Regions {
		r, _ := events.LookupRegion(code)
		e.regions[i] = e.newRegion(r.Code, r.NameZH, r.NameEN)
		e.index[r.Code] = i
		e.byCode = append(e.byCode, i)
	}
	var err error
	if e.rolling, err = windows.New[int](rollingConfig(cfg.AllowedLateness), windows.Aggregator[ux, rollAcc, rollAcc](rolling{})); err != nil {
		return nil, fmt.Errorf("engine: rolling window: %w", err)
	}
	if e.hourly, err = windows.New[int](hourlyConfig(cfg.AllowedLateness), windows.Aggregator[ux, hourAcc, hourAcc](hourly{})); err != nil {
		return nil, fmt.Errorf("engine: hourly window: %w", err)
	}
	if e.rev, err = newReviews(cfg, e.dedup); err != nil {
		return nil, err
	}
	return e, nil
}

// Config returns the partition's configuration with the defaults filled in
// and the regions sorted.
func (e *Engine) Config() Config {
	c := e.cfg
	c.Regions = append([]string(nil), c.Regions...)
	return c
}

// Owns reports whether region is one of the partition's provincial units
// or a unit under one.
func (e *Engine) Owns(region string) bool { return e.ownsUnit(region) }

// Watermark returns the partition's watermark W, and false before the
// first event.
func (e *Engine) Watermark() (time.Time, bool) { return e.wm.Current() }

// LastSeq returns the stream sequence of the last event given to Apply
// (whatever its outcome), 0 before the first.
func (e *Engine) LastSeq() uint64 { return e.lastSeq }

// Apply applies the event with stream sequence seq. Sequences must
// increase; an event whose seq is not above LastSeq is a replay and is
// reported as Duplicate without any effect. The event must be valid
// (events.Event.Validate); Apply does not retain it.
//
// In order: the watermark is raised by the event's time (rule 1); when the
// watermark's UTC+8 day changed, every region is rescored; a portal change
// that would add an item over Config.MaxItemsPerLevel is OverLimit; a
// portal change is applied last writer wins and its region rescored if it
// won; a
// user-experience event is judged too late, then duplicate, else counted in
// the windows and its region rescored. Every rescored region and a changed
// ranking carry version seq.
//
// An event of a region outside the partition is not applied: it only
// raises the watermark, as Observe does, and is NotInPartition.
func (e *Engine) Apply(seq uint64, ev *events.Event) Result {
	idx, ok := e.index[ev.Region]
	if e.lastSeq != 0 && seq <= e.lastSeq {
		if !ok && !e.ownsUnit(ev.Region) {
			return Result{Outcome: NotInPartition, Reason: "region " + ev.Region + " is not in the partition"}
		}
		return Result{Outcome: Duplicate, Reason: fmt.Sprintf("stream sequence %d already applied (last %d)", seq, e.lastSeq)}
	}
	e.lastSeq = seq

	// Rule 1: every event raises the watermark before it is judged.
	w := e.advance(ev.Time)
	if !ok && e.ownsUnit(ev.Region) {
		idx, ok = e.addUnit(ev.Region), true
	}
	if !ok {
		e.rescore(seq, w)
		return Result{Outcome: NotInPartition, Reason: "region " + ev.Region + " is not in the partition"}
	}

	res := Result{Outcome: Applied}
	if ev.Type.Portal() {
		if level, code, ok := scoring.ItemOf(ev); ok {
			st := e.regions[idx].state
			if n := st.Items(level); n >= e.cfg.MaxItemsPerLevel && !st.HasItem(level, code) {
				res = Result{Outcome: OverLimit, Reason: fmt.Sprintf(
					"region %s already holds %d items at level %s, the limit: item %s is not added",
					ev.Region, n, level, code)}
				e.rescore(seq, w)
				return res
			}
		}
		if reason := e.portalLimit(idx, ev); reason != "" {
			e.rescore(seq, w)
			return Result{Outcome: OverLimit, Reason: reason}
		}
		e.applyPortals(seq, idx, ev)
		r := &e.regions[idx]
		desc := ""
		if e.cfg.Explain && len(r.causes.items) < MaxCauseItems {
			desc = r.state.Describe(ev)
		}
		if r.state.Apply(ev) {
			e.touch(idx)
			if e.cfg.Explain {
				r.causes.item(desc)
			}
		} else {
			res.Reason = "superseded: its key has a newer writer"
		}
	} else {
		res = e.applyExperience(seq, idx, ev, w)
	}
	if e.cfg.Explain && (res.Outcome == Applied || res.Outcome == PastAppealHorizon) {
		e.regions[idx].causes.applied(seq, ev.Type)
	}
	e.rescore(seq, w)
	return res
}

// Observe raises the watermark with the time t of the stream message seq,
// which the partition does not apply: an event of a region of another
// partition, known by its time alone (ingest's Govpulse-Event-Time header),
// or a message of the partition's own region that is dead-lettered although
// its time counts. Every partition observes the time of every message of the
// stream, so that all partitions follow the same watermark as one engine
// holding every region: the lateness of events, the day of the rolling
// window and the versions of the rows rescored when the day changes do not
// depend on how the regions are split (docs/method.md, rule 10).
//
// When the watermark's UTC+8 day changes, every region of the partition is
// rescored at version seq, as Apply does. It reports false, and does
// nothing, when seq is not above LastSeq (a replay).
func (e *Engine) Observe(seq uint64, t time.Time) bool {
	if e.lastSeq != 0 && seq <= e.lastSeq {
		return false
	}
	e.lastSeq = seq
	e.rescore(seq, e.advance(t))
	return true
}

// newDedup returns the remembered ids of a new engine, keyed with key or,
// when it is zero, with a random key.
func newDedup(key [16]byte) *windows.Dedup {
	if key == ([16]byte{}) {
		return windows.NewDedup()
	}
	return windows.NewDedupKeyed(key)
}

// advance raises the watermark with an event time and returns it; when its
// day changed, the windows move on and every region is marked for
// rescoring. It starts the current event's list of touched regions.
func (e *Engine) advance(t time.Time) time.Time {
	e.wm.Observe(t)
	w, _ := e.wm.Current()
	e.dedup.Expire(w.Add(-e.cfg.AllowedLateness)) // its table drops them before it grows
	e.rev.Advance(w)
	e.touched = e.touched[:0]
	e.slid, e.addedIdx = false, -1
	if d := dayNumber(w); !e.hasDay || d != e.day {
		e.hasDay, e.day, e.slid = true, d, true
		e.rolling.Advance(w)
		e.hourly.Advance(w)
		e.dedup.Purge(w.Add(-e.cfg.AllowedLateness)) // the tracker purges the records (reviews.go)
		for i := range e.regions {
			e.touched = append(e.touched, i)
		}
	}
	return w
}

// touch marks region idx for rescoring by the current event.
func (e *Engine) touch(idx int) {
	if len(e.touched) == len(e.regions) {
		return // the day changed: every region is rescored already
	}
	e.touched = append(e.touched, idx)
}

// applyExperience judges and counts a user-experience event.
func (e *Engine) applyExperience(seq uint64, idx int, ev *events.Event, w time.Time) Result {
	horizon := w.Add(-e.cfg.AllowedLateness)
	if ev.Time.Before(horizon) {
		return Result{Outcome: TooLate, Reason: fmt.Sprintf(
			"event time %s is before the lateness horizon %s (watermark %s minus allowed lateness %s)",
			ev.Time.UTC().Format(time.RFC3339Nano), horizon.Format(time.RFC3339Nano),
			w.Format(time.RFC3339Nano), e.cfg.AllowedLateness)}
	}
	key := ev.Key().String()
	if e.dedup.Contains(key, horizon) {
		return Result{Outcome: Duplicate, Reason: "event " + key + " (region/id) was already applied"}
	}
	if ev.Type.Lifecycle() {
		return e.applyLifecycle(seq, idx, ev, w)
	}
	var in ux
	switch d := ev.Data.(type) {
	case *events.FeedbackRatedData:
		if d.Rating < 1 || d.Rating > 5 {
			return Result{Outcome: Applied, Reason: "ignored: invalid rating"}
		}
		in = ux{metric: metricFeedback, rating: uint8(d.Rating)}
	case *events.ApplicationCompletedData:
		in = ux{metric: metricApplication, online: d.Online, noVisit: d.Visits == 0, timed: d.Timed, onTime: d.OnTime()}
		switch d.Outcome {
		case events.Completed:
			in.outcome = 0
		case events.Abandoned:
			in.outcome = 1
		default:
			in.outcome = 2
		}
	default:
		return Result{Outcome: Applied, Reason: "ignored: not a user-experience payload"}
	}
	res := Result{Outcome: Applied}
	if in.metric == metricFeedback {
		// The tracker records the review in the remembered ids (a record remembers its id).
		switch e.rev.Rate(key, ev, w) {
		case reviews.Applied:
		case reviews.Expired:
			res = Result{Outcome: PastAppealHorizon, Reason: e.pastHorizon(ev.ID, ev.Time, w,
				"the upheld appeal decided before it came does not void it")}
		default:
			e.dedup.Add(key, ev.Time)
			return Result{Outcome: Applied, Reason: "not counted: voided on appeal before it came"}
		}
	} else {
		e.dedup.Add(key, ev.Time)
	}
	if err := e.rolling.Add(idx, ev.Time, in, w); err != nil {
		return Result{Outcome: TooLate, Reason: err.Error()} // unreachable: lateness was checked above
	}
	wk := idx*metricCount + int(in.metric)
	if err := e.hourly.Add(wk, ev.Time, in, w); err != nil {
		return Result{Outcome: TooLate, Reason: err.Error()} // unreachable, as above
	}
	e.winVersions[winKey{key: wk, start: hourStart(ev.Time)}] = seq
	e.added, e.addedIdx, e.addedTime = in, idx, ev.Time
	e.touch(idx)
	return res
}

// pastHorizon is the reason of a PastAppealHorizon outcome: review id, of
// event time t, is before watermark w minus the appeal horizon, so what
// says.
func (e *Engine) pastHorizon(id string, t, w time.Time, what string) string {
	return fmt.Sprintf("review %s: event time %s is before the appeal horizon %s (watermark %s minus appeal horizon %s): %s; the review stays counted",
		id, t.UTC().Format(time.RFC3339Nano), w.Add(-e.cfg.AppealHorizon).Format(time.RFC3339Nano),
		w.Format(time.RFC3339Nano), e.cfg.AppealHorizon, what)
}

// hourStart returns the start of the UTC hour of t in Unix nanoseconds.
func hourStart(t time.Time) int64 {
	n := t.UnixNano()
	h := n % int64(time.Hour)
	if h < 0 {
		h += int64(time.Hour)
	}
	return n - h
}

// rescore scores the touched regions at version seq and watermark w, and
// updates the ranking when a composite changed.
func (e *Engine) rescore(seq uint64, w time.Time) {
	e.rev.Stamp(seq)
	if len(e.touched) == 0 {
		return
	}
	start := dayStart(w)
	win := scoring.Window{Start: start.Add(-(rollDays - 1) * day), End: start.Add(day)}
	e.wins = e.wins[:0]
	for _, idx := range e.touched {
		e.rolling.Query(idx, win.Start, win.End).window(&win)
		e.rectifications(idx, &win)
		e.wins = append(e.wins, win)
		if r := &e.regions[idx]; e.cfg.Explain && e.slid && r.scored {
			var added *ux
			if e.addedIdx == idx && !e.addedTime.Before(win.Start) && e.addedTime.Before(win.End) {
				added = &e.added
			}
			r.causes.slid(r.win, win, added)
		}
	}
	n := e.provincial()
	// The groups below the provincial level rank under the first method: their changes are
	// collected at m == 0 and must outlive the loop over the other methods.
	e.changed, e.changedOld = e.changed[:0], e.changedOld[:0]
	for m, spec := range e.specs {
		changed := false
		e.old, e.provTouched = e.old[:0], e.provTouched[:0]
		for k, idx := range e.touched {
			r := &e.regions[idx]
			prev := r.scores[m].Composite
			r.scores[m] = spec.Score(r.state, e.wins[k], w, seq)
			moved := !r.scored || prev != r.scores[m].Composite
			if idx < n {
				e.old = append(e.old, prev)
				e.provTouched = append(e.provTouched, idx)
				changed = changed || moved
			} else if moved && m == 0 {
				e.changed = append(e.changed, idx)
				e.changedOld = append(e.changedOld, prev)
			}
		}
		if changed {
			e.rk[m].update(e.regions, m, e.provTouched, e.old, seq, w)
		}
	}
	if len(e.changed) > 0 {
		e.changeGroups(e.changed, e.changedOld, seq, w)
	}
	for k, idx := range e.touched {
		r := &e.regions[idx]
		if !r.dirty {
			e.dirtyUnits++
		}
		r.scored, r.dirty, r.win = true, true, e.wins[k]
	}
}
