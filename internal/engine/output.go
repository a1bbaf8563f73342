package engine

import (
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// Output is what changed since the last Drain: the latest row of each
// output, each carrying the version of the event that last changed it.
type Output struct {
	// Scores holds the latest score of every region rescored since the last
	// Drain, sorted by region code.
	Scores []scoring.Score
	// Ranking is the latest ranking of the provincial units, non-nil when it
	// changed since the last Drain.
	Ranking *scoring.Ranking
	// GroupRankings holds the latest ranking of every group of units beside
	// the provincial units (package groups) that changed since the last
	// Drain, ordered by group name. A partition ranks only the groups whose
	// units it holds all.
	GroupRankings []GroupRanking
	// Windows holds the hourly windows changed since the last Drain, sorted
	// by region, metric and start.
	Windows []WindowRow
	// Changes holds, with Config.Explain, the change of every score of
	// Scores from the unit's score in the previous Drain that returned it,
	// with its causes, in the order of Scores.
	Changes []ScoreChange
	// RankChanges holds, with Config.Explain, every unit whose rank differs
	// between the previous ranking Drain returned and Ranking (none for the
	// first ranking).
	RankChanges []RankChange
}

// Empty reports whether the output holds nothing.
func (o *Output) Empty() bool {
	return len(o.Scores) == 0 && o.Ranking == nil && len(o.Windows) == 0 && len(o.Changes) == 0 &&
		len(o.RankChanges) == 0 && len(o.GroupRankings) == 0
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
	for _, i := range e.byCode {
		r := &e.regions[i]
		if r.dirty {
			out.Scores = append(out.Scores, e.score(i))
			if e.cfg.Explain {
				out.Changes = append(out.Changes, e.change(i))
			}
			r.dirty = false
		}
	}
	if e.rk.dirty {
		out.Ranking = e.rk.build(e.regions)
		e.rk.dirty = false
		if e.cfg.Explain {
			out.RankChanges = RankChanges(e.spec, e.lastRanking, out.Ranking, e.rankedScore, e.currentScore)
			e.lastRanking = e.rk.build(e.regions)
			for i := range e.regions {
				if r := &e.regions[i]; r.scored {
					r.ranked, r.hasRanked = e.score(i), true
				}
			}
		}
	}
	if e.cfg.Explain {
		for _, s := range out.Scores {
			r := &e.regions[e.index[s.Region]]
			r.drained, r.hasDrained = e.score(e.index[s.Region]), true
		}
	}
	out.GroupRankings = e.drainGroups()
	changed := e.hourly.TakeChanged(nil)
	for _, c := range changed {
		k := winKey{key: c.Key, start: c.Window.Start.UnixNano()}
		out.Windows = append(out.Windows, e.windowRow(c, e.winVersions[k]))
	}
	clear(e.winVersions)
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
		Count:           a.count,
		RatingSum:       a.ratingSum,
		Ratings:         a.ratings,
		Completed:       a.completed,
		Abandoned:       a.abandoned,
		Rejected:        a.rejected,
		OnlineCompleted: a.onlineCompleted,
	}
}

// score returns a copy of the latest score of region i that shares no
// memory with the engine.
func (e *Engine) score(i int) scoring.Score {
	s := e.regions[i].score
	if s.Satisfaction != nil {
		v := *s.Satisfaction
		s.Satisfaction = &v
	}
	return s
}

// Scores returns the current score of every region of the partition,
// sorted by region code; it is empty before the first event.
func (e *Engine) Scores() []scoring.Score {
	var out []scoring.Score
	for _, i := range e.byCode {
		if e.regions[i].scored {
			out = append(out, e.score(i))
		}
	}
	return out
}

// Ranking returns the current ranking of the provincial units, nil before
// the first event.
func (e *Engine) Ranking() *scoring.Ranking {
	if !e.rk.has {
		return nil
	}
	return e.rk.build(e.regions)
}

// change returns the change of region i's latest score from its drained
// one, with the causes accumulated since, and starts accumulating anew.
func (e *Engine) change(i int) ScoreChange {
	r := &e.regions[i]
	var from *scoring.Score
	if r.hasDrained {
		from = &r.drained
	}
	c := ScoreChange{Method: r.score.Method, Region: r.score.Region, Version: r.score.Version, AsOf: r.score.AsOf.UTC(),
		Terms: termChanges(e.spec, e.countNames, from, &r.score), Causes: r.causes.causes()}
	if from != nil {
		c.FromVersion = from.Version
	}
	r.causes = causeAcc{items: r.causes.items[:0]}
	return c
}

// rankedScore returns the region's score in force when Drain last
// returned a ranking, nil when none.
func (e *Engine) rankedScore(region string) *scoring.Score {
	i, ok := e.index[region]
	if !ok || !e.regions[i].hasRanked {
		return nil
	}
	return &e.regions[i].ranked
}

// currentScore returns the region's latest score, nil when none.
func (e *Engine) currentScore(region string) *scoring.Score {
	i, ok := e.index[region]
	if !ok || !e.regions[i].scored {
		return nil
	}
	return &e.regions[i].score
}
