package scoring

import (
	"slices"
	"strings"
	"time"
)

// RankEntry is one unit's place in a ranking.
type RankEntry struct {
	Rank      int     `json:"rank"`      // 1..n, no ties
	Region    string  `json:"region"`    // region code
	Composite float64 `json:"composite"` // rounded composite
	Grade     Grade   `json:"grade"`     // grade of the composite
	// PrevRank is the unit's rank in the previous ranking, 0 when there was
	// none.
	PrevRank int `json:"prev_rank"`
	// Change is PrevRank - Rank (positive: moved up), 0 when PrevRank is 0.
	Change int `json:"change"`
}

// Ranking orders units by composite, descending, then by region code,
// ascending. Its JSON form is the govpulse.rankings message.
type Ranking struct {
	// Version is the stream sequence of the event that produced it.
	Version uint64      `json:"version"`
	AsOf    time.Time   `json:"as_of"`   // the watermark it was computed at, UTC
	Method  string      `json:"method"`  // the method's id
	Entries []RankEntry `json:"ranking"` // in rank order
}

// Less reports whether a unit with composite ca and code ra ranks before
// one with cb and rb: larger composite first, then smaller region code.
func Less(ca float64, ra string, cb float64, rb string) bool {
	if ca != cb {
		return ca > cb
	}
	return ra < rb
}

// Compare is the ranking order of two entries as a three-way comparison,
// for slices.SortFunc.
func Compare(a, b RankEntry) int {
	switch {
	case a.Composite > b.Composite:
		return -1
	case a.Composite < b.Composite:
		return 1
	}
	return strings.Compare(a.Region, b.Region)
}

// Rank returns the ranking under method 2017 of the scores (one per unit)
// at the given version and watermark (RankMethod for any method).
func Rank(scores []Score, prev *Ranking, version uint64, asOf time.Time) *Ranking {
	return RankMethod(Method, scores, prev, version, asOf)
}

// RankMethod returns the ranking under the given method of the scores (one
// per unit) at the given version and watermark. PrevRank and Change are
// taken from prev, which may be nil when there was no ranking before.
func RankMethod(method string, scores []Score, prev *Ranking, version uint64, asOf time.Time) *Ranking {
	rk := &Ranking{Version: version, AsOf: asOf.UTC(), Method: method, Entries: make([]RankEntry, len(scores))}
	for i := range scores {
		rk.Entries[i] = RankEntry{Region: scores[i].Region, Composite: scores[i].Composite, Grade: scores[i].Grade}
	}
	slices.SortFunc(rk.Entries, Compare)
	var before map[string]int
	if prev != nil {
		before = make(map[string]int, len(prev.Entries))
		for _, e := range prev.Entries {
			before[e.Region] = e.Rank
		}
	}
	for i := range rk.Entries {
		e := &rk.Entries[i]
		e.Rank = i + 1
		e.PrevRank = before[e.Region]
		if e.PrevRank != 0 {
			e.Change = e.PrevRank - e.Rank
		}
	}
	return rk
}
