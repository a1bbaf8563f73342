package engine

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/snapcodec"
	"github.com/govpulse/govpulse/pkg/events"
)

// The partition's regions are its provincial units (Config.Regions, indices
// 0..n-1 of Engine.regions, the units of the ranking of all units) and the
// units under them that have had an event (indices n.., in the order of
// their first event): a unit below the provincial level gets its state when
// its first event comes, so that memory follows the active units.

// provincial returns the number of provincial units of the partition.
func (e *Engine) provincial() int { return len(e.cfg.Regions) }

// unitOwner returns the provincial unit of a unit of the hierarchy, and
// false when the code is not a unit.
func unitOwner(code string) (string, bool) {
	u, ok := events.LookupUnit(code)
	if !ok {
		return "", false
	}
	if u.Level == events.Provincial {
		return u.Code, true
	}
	return u.Code[:2] + "0000", true
}

// ownsUnit reports whether the partition holds the unit code: it is one of
// its provincial units or a unit under one.
func (e *Engine) ownsUnit(code string) bool {
	p, ok := unitOwner(code)
	if !ok {
		return false
	}
	i, ok := e.index[p]
	return ok && i < e.provincial()
}

// addUnit gives a unit below the provincial level its state and returns its
// index; the unit must be owned and not yet have a state.
func (e *Engine) addUnit(code string) int {
	u, _ := events.LookupUnit(code)
	idx := len(e.regions)
	e.regions = append(e.regions, e.newRegion(u.Code, u.NameZH, u.NameEN))
	e.index[code] = idx
	at, _ := slices.BinarySearchFunc(e.byCode, code, func(i int, c string) int {
		return strings.Compare(e.regions[i].state.Code(), c)
	})
	e.byCode = slices.Insert(e.byCode, at, idx)
	return idx
}

// newRegion returns the empty state of a unit.
func (e *Engine) newRegion(code, nameZH, nameEN string) region {
	n := len(e.specs)
	// One allocation for the three sets of scores: an event reaches the
	// latest ones and Drain the drained ones, in a heap of thousands of units.
	sc := make([]scoring.Score, 3*n)
	return region{state: scoring.NewRegion(code, nameZH, nameEN), scores: sc[:n:n],
		drained: sc[n : 2*n : 2*n], ranked: sc[2*n:], hasRanked: make([]bool, n),
		portals: e.newPortals(code)}
}

// GroupRanking is the ranking of a group of units beside the provincial
// units (package groups).
type GroupRanking struct {
	Group   string
	Ranking *scoring.Ranking
}

// groupState is what the ranking of a group whose units the partition holds
// is made of, kept lazily: its rankings are computed only when Drain or
// GroupRankings asks, from the current composites and the composites before
// the last change.
type groupState struct {
	group   groups.Group
	has     bool      // the group has a ranking (a member was scored)
	prevHas bool      // it had one before the last change
	dirty   bool      // changed since the last Drain
	version uint64    // the event of the last change
	asOf    time.Time // the watermark at it
	before  []before  // the members the last change changed, with their composites before it
}

// before is a member's composite before the last change of its group.
type before struct {
	code      string
	composite float64
}

// groupsOf returns the groups a unit is ranked in beside the provincial
// units, leaving out the groups with a unit of another partition.
func (e *Engine) groupsOf(code string) []*groupState {
	var out []*groupState
	for _, name := range groups.Of(code) {
		if name == groups.Provinces {
			continue
		}
		g, ok := e.groups[name]
		if !ok {
			lg, _ := groups.Lookup(name)
			if !slices.ContainsFunc(lg.Members, func(m string) bool { return !e.ownsUnit(m) }) {
				g = &groupState{group: lg}
			}
			e.groups[name] = g // nil: not ranked by this partition
		}
		if g != nil {
			out = append(out, g)
		}
	}
	return out
}

// changeGroups records, for the groups of the units whose composite changed
// at event seq (changed holds their indices, old their composites before
// it), that their rankings changed at seq and watermark w.
func (e *Engine) changeGroups(changed []int, old []float64, seq uint64, w time.Time) {
	for k, idx := range changed {
		r := &e.regions[idx]
		if !r.hasGroups {
			r.groups, r.hasGroups = e.groupsOf(r.state.Code()), true
		}
		for _, g := range r.groups {
			if g.version != seq || !g.has {
				g.prevHas, g.before = g.has, g.before[:0]
				g.version, g.asOf = seq, w
			}
			g.before = append(g.before, before{code: r.state.Code(), composite: old[k]})
			g.has, g.dirty = true, true
		}
	}
}

// ranking materialises the current ranking of a group, with the ranks of the
// ranking before its last change.
func (e *Engine) ranking(g *groupState) *scoring.Ranking {
	score := func(code string) (float64, scoring.Grade, bool) {
		i, ok := e.index[code]
		if !ok || !e.regions[i].scored {
			return 0, "", false
		}
		return e.regions[i].scores[0].Composite, e.regions[i].scores[0].Grade, true
	}
	var prev *scoring.Ranking
	if g.prevHas {
		prev = groups.RankFunc(e.specs[0].ID, g.group, func(code string) (float64, scoring.Grade, bool) {
			for _, b := range g.before {
				if b.code == code {
					return b.composite, "", true
				}
			}
			return score(code)
		}, nil, 0, time.Time{})
	}
	return groups.RankFunc(e.specs[0].ID, g.group, score, prev, g.version, g.asOf)
}

// drainGroups returns the rankings of the groups changed since the last
// Drain, ordered by group name, and forgets them.
func (e *Engine) drainGroups() []GroupRanking {
	var out []GroupRanking
	for name, g := range e.groups {
		if g != nil && g.dirty {
			out = append(out, GroupRanking{Group: name, Ranking: e.ranking(g)})
			g.dirty = false
		}
	}
	slices.SortFunc(out, func(a, b GroupRanking) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// GroupRankings returns the current ranking of every group the partition
// ranks, ordered by group name; empty before the first event of a unit
// below the provincial level.
func (e *Engine) GroupRankings() []GroupRanking {
	var out []GroupRanking
	for name, g := range e.groups {
		if g != nil && g.has {
			out = append(out, GroupRanking{Group: name, Ranking: e.ranking(g)})
		}
	}
	slices.SortFunc(out, func(a, b GroupRanking) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// appendUnits appends the codes of the units below the provincial level
// that have a state, in the order of their indices.
func (e *Engine) appendUnits(dst []byte) []byte {
	n := e.provincial()
	dst = binary.AppendUvarint(dst, uint64(len(e.regions)-n))
	for i := n; i < len(e.regions); i++ {
		dst = snapcodec.AppendString(dst, e.regions[i].state.Code())
	}
	return dst
}

// readUnits reads what appendUnits wrote and gives the units their (empty)
// state, which the rest of the snapshot fills.
func (e *Engine) readUnits(d *snapcodec.Reader) {
	count := d.Uvarint()
	if count > uint64(d.Len()) {
		d.Fail("unit count")
		return
	}
	for range count {
		code := d.String()
		if d.Err() != nil {
			return
		}
		if u, ok := events.LookupUnit(code); !ok || u.Level == events.Provincial || !e.ownsUnit(code) {
			d.Fail("unit " + code)
			return
		}
		if _, dup := e.index[code]; dup {
			d.Fail("unit " + code + " twice")
			return
		}
		e.addUnit(code)
	}
}

// appendGroups appends the state of the groups with a ranking, ordered by
// name.
func (e *Engine) appendGroups(dst []byte) []byte {
	var names []string
	for name, g := range e.groups {
		if g != nil && g.has {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, name := range names {
		g := e.groups[name]
		dst = snapcodec.AppendString(dst, name)
		dst = snapcodec.AppendBool(dst, g.prevHas)
		dst = snapcodec.AppendBool(dst, g.dirty)
		dst = binary.AppendUvarint(dst, g.version)
		dst = snapcodec.AppendTime(dst, g.asOf)
		dst = binary.AppendUvarint(dst, uint64(len(g.before)))
		for _, b := range g.before {
			dst = snapcodec.AppendString(dst, b.code)
			dst = binary.AppendUvarint(dst, math.Float64bits(b.composite))
		}
	}
	return dst
}

// readGroups reads what appendGroups wrote.
func (e *Engine) readGroups(d *snapcodec.Reader) {
	count := d.Uvarint()
	if count > uint64(d.Len()) {
		d.Fail("group count")
		return
	}
	last := ""
	for range count {
		name := d.String()
		if d.Err() != nil {
			return
		}
		if name <= last {
			d.Fail("groups out of order")
			return
		}
		last = name
		g, ok := groups.Lookup(name)
		if !ok || slices.ContainsFunc(g.Members, func(m string) bool { return !e.ownsUnit(m) }) {
			d.Fail("group " + name)
			return
		}
		st := &groupState{group: g, has: true, prevHas: d.Bool(), dirty: d.Bool(), version: d.Uvarint(), asOf: d.Time()}
		n := d.Uvarint()
		if n > uint64(len(g.Members)) {
			d.Fail("group " + name + " members")
			return
		}
		for range n {
			st.before = append(st.before, before{code: d.String(), composite: math.Float64frombits(d.Uvarint())})
		}
		if old := e.groups[name]; old != nil {
			*old = *st // a unit's groups point to it
		} else {
			e.groups[name] = st
		}
	}
}
