package engine

import (
	"encoding/binary"
	"encoding/json"
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
	e.regions = append(e.regions, region{state: scoring.NewRegion(u.Code, u.NameZH, u.NameEN)})
	e.index[code] = idx
	at, _ := slices.BinarySearchFunc(e.byCode, code, func(i int, c string) int {
		return strings.Compare(e.regions[i].state.Code(), c)
	})
	e.byCode = slices.Insert(e.byCode, at, idx)
	return idx
}

// GroupRanking is the ranking of a group of units beside the provincial
// units (package groups).
type GroupRanking struct {
	Group   string
	Ranking *scoring.Ranking
}

// groupState is the latest ranking of a group whose units the partition
// holds.
type groupState struct {
	group groups.Group
	cur   *scoring.Ranking // nil before the group's first ranking
	dirty bool             // changed since the last Drain
}

// groupsOf returns the groups a unit is ranked in beside the provincial
// units, leaving out the groups with a unit of another partition.
func (e *Engine) groupsOf(code string) []string {
	var out []string
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
			out = append(out, name)
		}
	}
	return out
}

// rankGroups ranks again, at version seq and watermark w, every group of a
// unit whose composite changed at this event (changed holds their indices).
func (e *Engine) rankGroups(changed []int, seq uint64, w time.Time) {
	var names []string
	for _, idx := range changed {
		names = append(names, e.groupsOf(e.regions[idx].state.Code())...)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		g := e.groups[name]
		scores := make(map[string]scoring.Score, len(g.group.Members))
		for _, m := range g.group.Members {
			if i, ok := e.index[m]; ok && e.regions[i].scored {
				scores[m] = e.regions[i].score
			}
		}
		g.cur, g.dirty = groups.Rank(g.group, scores, g.cur, seq, w), true
	}
}

// drainGroups returns the rankings of the groups changed since the last
// Drain, ordered by group name, and forgets them.
func (e *Engine) drainGroups() []GroupRanking {
	var out []GroupRanking
	for name, g := range e.groups {
		if g != nil && g.dirty {
			out = append(out, GroupRanking{Group: name, Ranking: cloneRanking(g.cur)})
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
		if g != nil && g.cur != nil {
			out = append(out, GroupRanking{Group: name, Ranking: cloneRanking(g.cur)})
		}
	}
	slices.SortFunc(out, func(a, b GroupRanking) int { return strings.Compare(a.Group, b.Group) })
	return out
}

func cloneRanking(r *scoring.Ranking) *scoring.Ranking {
	c := *r
	c.Entries = slices.Clone(r.Entries)
	return &c
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

// appendGroups appends the rankings of the groups, ordered by name (JSON,
// deterministic).
func (e *Engine) appendGroups(dst []byte) []byte {
	rs := e.GroupRankings()
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	for _, r := range rs {
		dst = snapcodec.AppendString(dst, r.Group)
		dst = snapcodec.AppendBool(dst, e.groups[r.Group].dirty)
		b, _ := json.Marshal(r.Ranking) // a Ranking always encodes
		dst = snapcodec.AppendString(dst, string(b))
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
	for range count {
		name, dirty, js := d.String(), d.Bool(), d.String()
		if d.Err() != nil {
			return
		}
		g, ok := groups.Lookup(name)
		if !ok || slices.ContainsFunc(g.Members, func(m string) bool { return !e.ownsUnit(m) }) {
			d.Fail("group " + name)
			return
		}
		st := &groupState{group: g, dirty: dirty, cur: new(scoring.Ranking)}
		if err := json.Unmarshal([]byte(js), st.cur); err != nil {
			d.Fail("ranking of group " + name)
			return
		}
		e.groups[name] = st
	}
}
