package engine

import (
	"slices"
	"sort"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
)

// ranking is the partition's ranking, kept as ranks per region index and
// materialised only on Drain.
type ranking struct {
	has     bool      // a ranking exists (after the first event)
	dirty   bool      // changed since the last Drain
	version uint64    // sequence of the event that last changed it
	asOf    time.Time // watermark at that event
	order   []int     // region indices in rank order
	rank    []int     // rank (1..n) per region index
	prev    []int     // rank per region index before the last change; 0 when none
	// before holds the composite of each region index in force before the
	// last change (the composite of the ranking whose ranks are prev), for
	// the partition's share of the ranking of all units (Part).
	before []float64
}

func newRanking(n int) ranking {
	r := ranking{order: make([]int, n), rank: make([]int, n), prev: make([]int, n), before: make([]float64, n)}
	for i := range r.order {
		r.order[i] = i
	}
	return r
}

// less orders regions a and b under method m.
func less(regions []region, m, a, b int) bool {
	return scoring.Less(regions[a].scores[m].Composite, regions[a].scores[m].Region,
		regions[b].scores[m].Composite, regions[b].scores[m].Region)
}

// update recomputes the order under method m after the composites of the touched regions
// changed at event seq; the ranking in force before the event becomes the
// previous one. old holds the composites of the touched regions before the
// event, in the order of touched.
func (rk *ranking) update(regions []region, m int, touched []int, old []float64, seq uint64, w time.Time) {
	copy(rk.prev, rk.rank)
	for i := range regions {
		rk.before[i] = regions[i].scores[m].Composite
	}
	for k, idx := range touched {
		rk.before[idx] = old[k]
	}
	if !rk.has || len(touched) > 1 {
		slices.SortFunc(rk.order, func(a, b int) int {
			switch {
			case less(regions, m, a, b):
				return -1
			case less(regions, m, b, a):
				return 1
			}
			return 0
		})
	} else {
		// One region moved: take it out and insert it where it belongs.
		idx := touched[0]
		pos := rk.rank[idx] - 1
		rest := slices.Delete(rk.order, pos, pos+1)
		at := sort.Search(len(rest), func(j int) bool { return less(regions, m, idx, rest[j]) })
		rk.order = slices.Insert(rest, at, idx)
	}
	for i, idx := range rk.order {
		rk.rank[idx] = i + 1
	}
	rk.has, rk.dirty, rk.version, rk.asOf = true, true, seq, w
}

// build materialises the ranking under method m.
func (rk *ranking) build(regions []region, m int, method string) *scoring.Ranking {
	out := &scoring.Ranking{Version: rk.version, AsOf: rk.asOf.UTC(), Method: method,
		Entries: make([]scoring.RankEntry, len(rk.order))}
	for i, idx := range rk.order {
		s := &regions[idx].scores[m]
		e := scoring.RankEntry{Rank: i + 1, Region: s.Region, Composite: s.Composite, Grade: s.Grade,
			PrevRank: rk.prev[idx]}
		if e.PrevRank != 0 {
			e.Change = e.PrevRank - e.Rank
		}
		out.Entries[i] = e
	}
	return out
}
