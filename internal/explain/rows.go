package explain

import (
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
)

// AppendRows appends the score_changes rows of c (one per term, composite and count) and its
// score_causes row, and returns the extended slices.
func AppendRows(changes []chstore.ScoreChangeRow, causes []chstore.ScoreCauseRow, c *engine.ScoreChange) ([]chstore.ScoreChangeRow, []chstore.ScoreCauseRow) {
	// The deltas of a change share one allocation: a flush over every unit appends hundreds of
	// thousands of rows.
	deltas := make([]float64, len(c.Terms))
	for i, t := range c.Terms {
		var delta *float64
		if d, ok := t.DeltaValue(); ok {
			deltas[i] = d
			delta = &deltas[i]
		}
		changes = append(changes, chstore.ScoreChangeRow{Method: c.Method, Region: c.Region, Version: c.Version,
			Term: t.Term, FromVersion: c.FromVersion, From: t.From, To: t.To, Delta: delta, AsOf: c.AsOf})
	}
	cs := &c.Causes
	row := chstore.ScoreCauseRow{Method: c.Method, Region: c.Region, Version: c.Version, FromVersion: c.FromVersion,
		AsOf: c.AsOf, FirstSeq: cs.FirstSeq, LastSeq: cs.LastSeq, Applied: uint64(cs.Applied), Items: cs.Items,
		ItemsTotal: uint64(cs.ItemsTotal)}
	for _, e := range cs.Events {
		row.EventTypes, row.EventCounts = append(row.EventTypes, e.Type), append(row.EventCounts, uint64(e.Count))
	}
	for _, e := range cs.WindowLeft {
		row.WindowTypes, row.WindowLeft = append(row.WindowTypes, e.Type), append(row.WindowLeft, e.Count)
	}
	return changes, append(causes, row)
}

// RankRow returns the rank_changes row of c.
func RankRow(c *engine.RankChange) chstore.RankChangeRow {
	row := chstore.RankChangeRow{Method: c.Method, Version: c.Version, FromVersion: c.FromVersion, AsOf: c.AsOf,
		Region: c.Region, OldRank: uint8(c.OldRank), NewRank: uint8(c.NewRank)}
	for _, p := range c.Passed {
		row.Passed, row.PassedTerms = append(row.Passed, p.Region), append(row.PassedTerms, p.Term)
	}
	for _, p := range c.PassedBy {
		row.PassedBy, row.PassedByTerms = append(row.PassedBy, p.Region), append(row.PassedByTerms, p.Term)
	}
	return row
}
