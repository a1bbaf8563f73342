package engine

import (
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// MaxCauseItems is the most portal changes a ScoreChange's causes describe
// in words; Causes.ItemsTotal counts them all.
const MaxCauseItems = 20

// CompositeTerm is the name of the composite among the terms of a
// ScoreChange (the composite column of the scores).
const CompositeTerm = "composite"

// ScoreChange is the change of one unit's score from its previous stored
// version (the score of the previous Drain that returned the unit) to this
// one, with its causes: the rows of score_changes and score_causes.
type ScoreChange struct {
	Method string
	Region string
	// Version is the version of the new score; FromVersion that of the
	// previous one, 0 when the unit had none.
	Version, FromVersion uint64
	AsOf                 time.Time // the new score's as_of
	// Terms holds every term of the method in its order, then the
	// composite (CompositeTerm), then every count (scoring.CountNames).
	Terms  []TermChange
	Causes Causes
}

// TermChange is the change of one term or count. From is nil when the unit
// had no previous score or the term had no value then; To is nil when the
// term has no value now (a satisfaction without ratings).
type TermChange struct {
	Term     string
	From, To *float64
}

// Delta returns To - From, or nil when either is nil.
func (t TermChange) Delta() *float64 {
	d, ok := t.DeltaValue()
	if !ok {
		return nil
	}
	return &d
}

// DeltaValue returns To - From, and false when either is nil: Delta without its allocation.
func (t TermChange) DeltaValue() (float64, bool) {
	if t.From == nil || t.To == nil {
		return 0, false
	}
	return *t.To - *t.From, true
}

// Causes are what changed a unit's score between two stored versions: the
// events of the unit applied in between and the rolling window's slide.
type Causes struct {
	// FirstSeq and LastSeq are the stream sequences of the first and the
	// last event of the unit applied since the previous version (0 when
	// none was: the window slid, or the ranking's day changed).
	FirstSeq, LastSeq uint64
	// Applied counts the events of the unit applied (outcome Applied) since
	// the previous version; it is the sum of Events.
	Applied int64
	// Events counts them by event type, in the order of events.Types,
	// types with no event left out.
	Events []TypeCount
	// Items describes the first MaxCauseItems portal changes that became
	// the newest writer of their key, in stream order
	// (scoring.Region.Describe); ItemsTotal counts them all.
	Items      []string
	ItemsTotal int64
	// WindowLeft counts, per user-experience event type, the events that
	// left the rolling window as it slid to a new day (net: an event dated
	// after the window's end that enters it then counts -1).
	WindowLeft []TypeCount
}

// TypeCount is a number of events of one type.
type TypeCount struct {
	Type  string `json:"type"`
	Count int64  `json:"count"`
}

// causeAcc accumulates the causes of a unit between two Drains.
type causeAcc struct {
	firstSeq, lastSeq uint64
	byType            [typeCount]int64
	items             []string
	itemsTotal        int64
	left              [metricCount]int64
}

// typeCount is the number of event types the causes count: every type of events.Types (the
// review lifecycle among them: an appeal upheld takes its review out of the satisfaction windows,
// and method 2022 reads the rectifications).
const typeCount = 11

// typeIndex returns the index of t in events.Types, -1 when it is none.
func typeIndex(t events.Type) int {
	switch t {
	case events.CatalogItem:
		return 0
	case events.ServicePublished:
		return 1
	case events.ServiceWithdrawn:
		return 2
	case events.GuideAudited:
		return 3
	case events.PlatformUpdated:
		return 4
	case events.FeedbackRated:
		return 5
	case events.ApplicationCompleted:
		return 6
	case events.FeedbackAppealed:
		return 7
	case events.FeedbackAppealDecided:
		return 8
	case events.RectificationOpened:
		return 9
	case events.RectificationClosed:
		return 10
	}
	return -1
}

// applied records an applied event of the unit.
func (c *causeAcc) applied(seq uint64, t events.Type) {
	if c.firstSeq == 0 {
		c.firstSeq = seq
	}
	c.lastSeq = seq
	if i := typeIndex(t); i >= 0 {
		c.byType[i]++
	}
}

// item records a portal change that won its key, described by desc ("" when
// the list is full and it was not described).
func (c *causeAcc) item(desc string) {
	c.itemsTotal++
	if len(c.items) < MaxCauseItems && desc != "" {
		c.items = append(c.items, desc)
	}
}

// causes returns the accumulated causes.
func (c *causeAcc) causes() Causes {
	out := Causes{FirstSeq: c.firstSeq, LastSeq: c.lastSeq, ItemsTotal: c.itemsTotal,
		Items: append([]string(nil), c.items...)}
	for i, t := range events.Types()[:typeCount] {
		if n := c.byType[i]; n != 0 {
			out.Events = append(out.Events, TypeCount{Type: string(t), Count: n})
			out.Applied += n
		}
	}
	for m, n := range c.left {
		if n != 0 {
			out.WindowLeft = append(out.WindowLeft, TypeCount{Type: metricName(m), Count: n})
		}
	}
	return out
}

// slid records the slide of the rolling window from the counts before to
// those after, less the event just added to the window (added, when set).
func (c *causeAcc) slid(before, after scoring.Window, added *ux) {
	ratings, applications := after.Ratings, after.Applications
	if added != nil {
		if added.metric == metricFeedback {
			ratings--
		} else {
			applications--
		}
	}
	c.left[metricFeedback] += before.Ratings - ratings
	c.left[metricApplication] += before.Applications - applications
}

// Changes of a score: one TermChange per term, the composite and every count.

// termChanges returns the changes from the score from (nil: none) to to;
// counts are the names of the counts (scoring.CountNames). The values of
// the composite and the counts share one allocation.
func termChanges(spec *scoring.Spec, counts []string, from, to *scoring.Score) []TermChange {
	out := make([]TermChange, 0, len(spec.Terms)+1+len(counts))
	for _, t := range spec.Terms {
		tc := TermChange{Term: t.Name, To: t.Value(to)}
		if from != nil {
			tc.From = t.Value(from)
		}
		out = append(out, tc)
	}
	n := 1 + len(counts)
	vals := make([]float64, 2*n) // to, then from
	var buf [64]int64
	cs := to.Counts.AppendValues(buf[:0])
	if from != nil {
		cs = from.Counts.AppendValues(cs)
	}
	vals[0] = to.Composite
	comp := TermChange{Term: CompositeTerm, To: &vals[0]}
	if from != nil {
		vals[n] = from.Composite
		comp.From = &vals[n]
	}
	out = append(out, comp)
	for i, name := range counts {
		vals[1+i] = float64(cs[i])
		tc := TermChange{Term: name, To: &vals[1+i]}
		if from != nil {
			vals[n+1+i] = float64(cs[len(counts)+i])
			tc.From = &vals[n+1+i]
		}
		out = append(out, tc)
	}
	return out
}

// RankChange is one unit whose rank changed between two stored rankings:
// a row of rank_changes.
type RankChange struct {
	Method string
	// Version is the new ranking's version, FromVersion the previous one's.
	Version, FromVersion uint64
	AsOf                 time.Time
	Region               string
	OldRank, NewRank     int
	// Passed are the units that ranked before it and now rank after it;
	// PassedBy those that ranked after it and now rank before it. Each
	// names the term that contributed most to the change of the composite
	// difference between the two units.
	Passed, PassedBy []Pass
}

// Pass is one unit passed, or passing, and the scored term whose weighted
// change moved the pair's composite difference most in the direction of the
// pass ("" when no scored term changed in that direction).
type Pass struct {
	Region string
	Term   string
}

// RankChanges returns, for every unit whose rank differs between the
// rankings prev and cur, its RankChange, in the order of cur. before and
// after return a unit's score at prev and at cur (nil when unknown: the
// pair's term is then ""). It returns nil when prev is nil.
func RankChanges(spec *scoring.Spec, prev, cur *scoring.Ranking, before, after func(region string) *scoring.Score) []RankChange {
	if prev == nil || cur == nil {
		return nil
	}
	old := make(map[string]int, len(prev.Entries))
	for _, e := range prev.Entries {
		old[e.Region] = e.Rank
	}
	var out []RankChange
	for _, e := range cur.Entries {
		o, ok := old[e.Region]
		if !ok || o == e.Rank {
			continue
		}
		rc := RankChange{Method: cur.Method, Version: cur.Version, FromVersion: prev.Version, AsOf: cur.AsOf,
			Region: e.Region, OldRank: o, NewRank: e.Rank}
		for _, f := range cur.Entries {
			p, ok := old[f.Region]
			if !ok || f.Region == e.Region {
				continue
			}
			switch {
			case p < o && f.Rank > e.Rank: // e passed f
				rc.Passed = append(rc.Passed, Pass{Region: f.Region, Term: pairTerm(spec, e.Region, f.Region, before, after)})
			case p > o && f.Rank < e.Rank: // f passed e
				rc.PassedBy = append(rc.PassedBy, Pass{Region: f.Region, Term: pairTerm(spec, f.Region, e.Region, before, after)})
			}
		}
		out = append(out, rc)
	}
	return out
}

// pairTerm returns the scored term t with the largest weight × (change of t
// for up − change of t for down), the term that did most for up to pass
// down; "" when no term moved the pair that way or a score is unknown.
func pairTerm(spec *scoring.Spec, up, down string, before, after func(string) *scoring.Score) string {
	ub, ua, db, da := before(up), after(up), before(down), after(down)
	if ub == nil || ua == nil || db == nil || da == nil {
		return ""
	}
	best, bestV := "", 0.0
	for _, t := range spec.Terms {
		if !t.Scored() {
			continue
		}
		v := t.Weight * (value(t, ua) - value(t, ub) - (value(t, da) - value(t, db)))
		if v > bestV {
			best, bestV = t.Name, v
		}
	}
	return best
}

// value returns the term's value in s, 0 when it has none.
func value(t scoring.Term, s *scoring.Score) float64 {
	if v := t.Value(s); v != nil {
		return *v
	}
	return 0
}
