package engine

import (
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// Output is what changed since the last Drain: the latest row of each
// output, each carrying the version of the event that last changed it.
type Output struct {
	// Scores holds the latest scores of every region rescored since the last
	// Drain, sorted by region code, and within a region one per method in
	// the order of Config.Methods.
	Scores []scoring.Score
	// Rankings holds the latest ranking of every method whose ranking
	// changed since the last Drain, in the order of Config.Methods.
	Rankings []*scoring.Ranking
	// GroupRankings holds the latest ranking, under the first method of
	// Config.Methods, of every group of units beside the provincial units
	// (package groups) that changed since the last Drain, ordered by group
	// name. A partition ranks only the groups whose units it holds all.
	GroupRankings []GroupRanking
	// Windows holds the hourly windows changed since the last Drain, sorted
	// by region, metric and start.
	Windows []WindowRow
	// Changes holds, with Config.Explain, the change of every score of
	// Scores from the unit's score in the previous Drain that returned it,
	// with its causes, in the order of Scores.
	Changes []ScoreChange
	// RankChanges holds, with Config.Explain, every unit whose rank differs
	// between the previous ranking of a method Drain returned and its
	// ranking in Rankings (none for a method's first ranking), method by
	// method in the order of Rankings.
	RankChanges []RankChange
	// Inconsistencies holds the inconsistencies between portals opened,
	// changed or closed since the last Drain, by region, item, portals and
	// opening version; PortalMeasures the portal measures of every region
	// whose portal state changed, by region (internal/portals).
	Inconsistencies []portals.Inconsistency
	PortalMeasures  []portals.Measures
	// ReviewStats holds the latest review_stats row of every unit, period and period start
	// changed since the last Drain, sorted by region, period and start; Alerts the alerts raised
	// or ended since, in order (internal/reviews). Each carries the version of the event that
	// last changed it.
	ReviewStats []chstore.ReviewStatRow
	Alerts      []chstore.AlertRow
}

// Empty reports whether the output holds nothing.
func (o *Output) Empty() bool {
	return len(o.Scores) == 0 && len(o.Rankings) == 0 && len(o.Windows) == 0 && len(o.Changes) == 0 &&
		len(o.RankChanges) == 0 && len(o.Inconsistencies) == 0 && len(o.PortalMeasures) == 0 && len(o.GroupRankings) == 0 &&
		len(o.ReviewStats) == 0 && len(o.Alerts) == 0
}

// RankingOf returns the ranking of the method with the given id in o, nil
// when it did not change.
func (o *Output) RankingOf(method string) *scoring.Ranking {
	for _, r := range o.Rankings {
		if r.Method == method {
			return r
		}
	}
	return nil
}

// WindowRow is one hourly tumbling window of one region and metric: a row
// of the windows table.
type WindowRow struct {
	Region string
	// Metric is the event type counted: "feedback.rated" or
	// "application.completed".
	Metric string
	// Start and End bound the window [Start, End), UTC.
	Start, End time.Time
	// Version is the stream sequence of the last event that changed the
	// window.
	Version uint64
	// Count is the number of events in the window.
	Count int64
	// RatingSum and Ratings (Ratings[i] counts rating i+1) are set for
	// feedback.rated.
	RatingSum int64
	Ratings   [5]int64
	// Completed, Abandoned and Rejected count outcomes; OnlineCompleted
	// counts completed applications handled entirely online. They are set
	// for application.completed.
	Completed, Abandoned, Rejected, OnlineCompleted int64
}

// metricName returns the event type an hourly metric counts.
func metricName(m int) string {
	if m == metricFeedback {
		return string(events.FeedbackRated)
	}
	return string(events.ApplicationCompleted)
}

// Drain returns the outputs changed since the last Drain and forgets them.
// The latest rows it returns do not depend on when it is called.
func (e *Engine) Drain() Output {
	var out Output
	var cl scoreCloner
	if e.dirtyUnits > 0 {
		out.Scores = make([]scoring.Score, 0, e.dirtyUnits*len(e.specs))
		cl = newScoreCloner(e.dirtyUnits, e.specs)
		if e.cfg.Explain {
			out.Changes = make([]ScoreChange, 0, e.dirtyUnits*len(e.specs))
		}
	}
	for _, i := range e.byCode {
		r := &e.regions[i]
		if r.dirty {
			for m := range e.specs {
				out.Scores = append(out.Scores, cl.clone(&r.scores[m]))
			}
			if e.cfg.Explain {
				out.Changes = e.appendChanges(out.Changes, i)
			}
			r.dirty = false
		}
	}
	e.dirtyUnits = 0
	for m := range e.rk {
		if !e.rk[m].dirty {
			continue
		}
		rk := e.rk[m].build(e.regions, m, e.specs[m].ID)
		out.Rankings = append(out.Rankings, rk)
		e.rk[m].dirty = false
		if e.cfg.Explain {
			out.RankChanges = append(out.RankChanges,
				RankChanges(e.specs[m], e.lastRankings[m], rk, e.rankedScore(m), e.currentScore(m))...)
			e.lastRankings[m] = e.rk[m].build(e.regions, m, e.specs[m].ID)
			// The ranking holds the provincial units alone: only their
			// scores in force at it are read (rankedScore).
			for i := range e.provincial() {
				if r := &e.regions[i]; r.scored {
					r.ranked[m], r.hasRanked[m] = r.scores[m].Clone(), true
				}
			}
		}
	}
	out.GroupRankings = e.drainGroups()
	e.changedWins = e.hourly.TakeChanged(e.changedWins[:0])
	if len(e.changedWins) > 0 {
		out.Windows = make([]WindowRow, 0, len(e.changedWins))
	}
	for _, c := range e.changedWins {
		k := winKey{key: c.Key, start: c.Window.Start.UnixNano()}
		out.Windows = append(out.Windows, e.windowRow(c, e.winVersions[k]))
	}
	clear(e.changedWins)
	clear(e.winVersions)
	e.drainPortals(&out)
	out.ReviewStats, out.Alerts = e.rev.TakeRows()
	if len(out.ReviewStats) == 0 {
		out.ReviewStats = nil
	}
	return out
}

// windowRow converts an hourly result.
func (e *Engine) windowRow(c windows.Result[int, hourAcc], version uint64) WindowRow {
	a := c.Value
	return WindowRow{
		Region:          e.regions[c.Key/metricCount].state.Code(),
		Metric:          metricName(c.Key % metricCount),
		Start:           c.Window.Start.UTC(),
		End:             c.Window.End.UTC(),
		Version:         version,
		Count:           int64(a.count),
		RatingSum:       a.sum(),
		Ratings:         [5]int64{int64(a.ratings[0]), int64(a.ratings[1]), int64(a.ratings[2]), int64(a.ratings[3]), int64(a.ratings[4])},
		Completed:       int64(a.completed),
		Abandoned:       int64(a.abandoned),
		Rejected:        int64(a.rejected),
		OnlineCompleted: int64(a.onlineCompleted),
	}
}

// Scores returns the current scores of every region of the partition,
// sorted by region code and, within a region, one per method in the order
// of Config.Methods; it is empty before the first event. They share no
// memory with the engine.
func (e *Engine) Scores() []scoring.Score {
	var out []scoring.Score
	for _, i := range e.byCode {
		if e.regions[i].scored {
			for m := range e.specs {
				out = append(out, e.regions[i].scores[m].Clone())
			}
		}
	}
	return out
}

// Ranking returns the current ranking under the first method of
// Config.Methods, nil before the first event.
func (e *Engine) Ranking() *scoring.Ranking { return e.RankingOf(e.specs[0].ID) }

// RankingOf returns the current ranking under the method with the given
// id, nil before the first event or when the engine does not compute the
// method.
func (e *Engine) RankingOf(method string) *scoring.Ranking {
	for m, spec := range e.specs {
		if spec.ID == method && e.rk[m].has {
			return e.rk[m].build(e.regions, m, spec.ID)
		}
	}
	return nil
}

// appendChanges appends to dst the change of region i's latest score under
// every method from its drained one, with the causes accumulated since,
// remembers the latest scores as drained and starts accumulating anew.
func (e *Engine) appendChanges(dst []ScoreChange, i int) []ScoreChange {
	r := &e.regions[i]
	for m, spec := range e.specs {
		s := &r.scores[m]
		var from *scoring.Score
		if r.hasDrained {
			from = &r.drained[m]
		}
		c := ScoreChange{Method: s.Method, Region: s.Region, Version: s.Version, AsOf: s.AsOf.UTC(),
			Terms: termChanges(spec, e.countNames, from, s), Causes: r.causes.causes()}
		if from != nil {
			c.FromVersion = from.Version
		}
		dst = append(dst, c)
	}
	for m := range e.specs {
		copyScore(&r.drained[m], &r.scores[m])
	}
	r.hasDrained = true
	r.causes = causeAcc{items: r.causes.items[:0]}
	return dst
}

// rankedScore returns the function that returns a region's score under
// method m in force when Drain last returned m's ranking, nil when none.
func (e *Engine) rankedScore(m int) func(region string) *scoring.Score {
	return func(region string) *scoring.Score {
		i, ok := e.index[region]
		if !ok || !e.regions[i].hasRanked[m] {
			return nil
		}
		return &e.regions[i].ranked[m]
	}
}

// currentScore returns the function that returns a region's latest score
// under method m, nil when none.
func (e *Engine) currentScore(m int) func(region string) *scoring.Score {
	return func(region string) *scoring.Score {
		i, ok := e.index[region]
		if !ok || !e.regions[i].scored {
			return nil
		}
		return &e.regions[i].scores[m]
	}
}

// scoreCloner clones the scores of one Drain into memory they share: a Drain over every unit
// returns thousands of scores, and a clone of each made of its own small objects (the
// satisfaction, every term and its value) multiplies the collector's work. The clones share no
// memory with the engine.
type scoreCloner struct {
	floats []float64
	terms  []scoring.TermValue
}

// newScoreCloner returns a cloner with room for the scores of units units under specs.
func newScoreCloner(units int, specs []*scoring.Spec) scoreCloner {
	terms := 0
	for _, sp := range specs {
		terms += len(sp.Terms)
	}
	return scoreCloner{floats: make([]float64, 0, units*(len(specs)+terms)), terms: make([]scoring.TermValue, 0, units*terms)}
}

// clone returns a copy of s that shares no memory with it (as scoring.Score.Clone).
func (c *scoreCloner) clone(s *scoring.Score) scoring.Score {
	out := *s
	if s.Satisfaction != nil {
		out.Satisfaction = c.float(*s.Satisfaction)
	}
	if s.Terms != nil {
		if cap(c.terms)-len(c.terms) < len(s.Terms) {
			c.terms = make([]scoring.TermValue, 0, max(64, len(s.Terms)))
		}
		n := len(c.terms)
		c.terms = append(c.terms, s.Terms...)
		out.Terms = c.terms[n:len(c.terms):len(c.terms)]
		for i := range out.Terms {
			if v := out.Terms[i].Value; v != nil {
				out.Terms[i].Value = c.float(*v)
			}
		}
	}
	return out
}

// float returns a pointer to a copy of v.
func (c *scoreCloner) float(v float64) *float64 {
	if len(c.floats) == cap(c.floats) {
		c.floats = make([]float64, 0, 64) // the room first given ran out: never moved, only replaced
	}
	c.floats = append(c.floats, v)
	return &c.floats[len(c.floats)-1]
}

// copyScore sets *dst to a copy of src that shares no memory with it, reusing the memory of dst's
// values, which must be dst's own (the engine's drained scores: nothing else points into them).
func copyScore(dst, src *scoring.Score) {
	sat, terms := dst.Satisfaction, dst.Terms
	*dst = *src
	dst.Satisfaction = nil
	if src.Satisfaction != nil {
		if sat == nil {
			sat = new(float64)
		}
		*sat = *src.Satisfaction
		dst.Satisfaction = sat
	}
	if src.Terms == nil {
		dst.Terms = nil
		return
	}
	if cap(terms) < len(src.Terms) {
		terms = make([]scoring.TermValue, len(src.Terms))
	}
	terms = terms[:len(src.Terms)]
	for i, t := range src.Terms {
		v := terms[i].Value
		terms[i] = scoring.TermValue{Name: t.Name}
		if t.Value != nil {
			if v == nil {
				v = new(float64)
			}
			*v = *t.Value
			terms[i].Value = v
		}
	}
	dst.Terms = terms
}
