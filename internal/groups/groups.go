// Package groups defines the rankings of govpulse beside the ranking of the 32 provincial units:
// the 32 key cities, the prefecture-level units of each provincial unit and the county-level units
// directly under each unit. A group is a fixed set of units of the GB/T 2260 hierarchy (package
// events) with a name that is a NATS subject token and a KV key part; [Rank] ranks a group from the
// scores of the units that have any, placing the units without events last, as the ranking of the
// provincial units does.
//
// Everything here is pure and derived from the hierarchy: no global state, safe for concurrent use.
package groups

import (
	"slices"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Names of the groups (see [Group.Name]).
const (
	// Provinces is the group of the 32 provincial units: today's ranking of all units.
	Provinces = "provinces"
	// KeyCities is the group of the 32 key cities (events.KeyCities).
	KeyCities = "key-cities"

	citiesPrefix   = "cities-"
	countiesPrefix = "counties-"
)

// Group is a set of units ranked together.
type Group struct {
	// Name is "provinces", "key-cities", "cities-<provincial code>" (the prefecture-level units of
	// a provincial unit) or "counties-<code>" (the county-level units directly under a
	// prefecture-level unit, or under a provincial unit: the districts of the municipalities and
	// the county-level cities directly under a province).
	Name string
	// Members are the codes of the group's units, ordered by code.
	Members []string
}

// CitiesOf returns the name of the group of the prefecture-level units of a provincial unit.
func CitiesOf(province string) string { return citiesPrefix + province }

// CountiesOf returns the name of the group of the county-level units directly under a unit.
func CountiesOf(unit string) string { return countiesPrefix + unit }

// Lookup returns the group with the given name; false when there is no such group or it would
// have no members.
func Lookup(name string) (Group, bool) {
	var members []string
	switch {
	case name == Provinces:
		for _, r := range events.Regions() {
			members = append(members, r.Code)
		}
	case name == KeyCities:
		for _, u := range events.KeyCities() {
			members = append(members, u.Code)
		}
	case strings.HasPrefix(name, citiesPrefix):
		code := strings.TrimPrefix(name, citiesPrefix)
		if u, ok := events.LookupUnit(code); !ok || u.Level != events.Provincial {
			return Group{}, false
		}
		members = childCodes(code, events.Prefecture)
	case strings.HasPrefix(name, countiesPrefix):
		code := strings.TrimPrefix(name, countiesPrefix)
		if u, ok := events.LookupUnit(code); !ok || u.Level == events.County {
			return Group{}, false
		}
		members = childCodes(code, events.County)
	}
	if len(members) == 0 {
		return Group{}, false
	}
	return Group{Name: name, Members: members}, true
}

// childCodes returns the codes of the units of a level directly under code.
func childCodes(code string, level events.UnitLevel) []string {
	var out []string
	for _, c := range events.Children(code) {
		if c.Level == level {
			out = append(out, c.Code)
		}
	}
	return out
}

// All returns every group: the provincial units, the key cities, then for each unit in code order
// its cities and its counties, leaving out groups without members.
func All() []Group {
	var out []Group
	for _, name := range []string{Provinces, KeyCities} {
		g, _ := Lookup(name)
		out = append(out, g)
	}
	for _, u := range events.Units() {
		for _, name := range []string{CitiesOf(u.Code), CountiesOf(u.Code)} {
			if g, ok := Lookup(name); ok {
				out = append(out, g)
			}
		}
	}
	return out
}

// Of returns the names of the groups a unit is ranked in: a provincial unit in Provinces; a
// prefecture-level unit in the cities of its provincial unit, and in KeyCities when it is one; a
// county-level unit in the counties of its parent. It returns nil for an unknown code.
func Of(code string) []string {
	u, ok := events.LookupUnit(code)
	if !ok {
		return nil
	}
	switch u.Level {
	case events.Provincial:
		return []string{Provinces}
	case events.Prefecture:
		out := []string{CitiesOf(u.Parent)}
		if slices.ContainsFunc(events.KeyCities(), func(k events.Unit) bool { return k.Code == code }) {
			out = append(out, KeyCities)
		}
		return out
	}
	return []string{CountiesOf(u.Parent)}
}

// Rank returns the ranking under the default method of the group g from scores, the latest score of each unit that has one
// (others are ignored): every member ranks, and a member without a score is ranked as a unit without
// events, with composite 0 (so after every unit with a positive composite, then by code).
// PrevRank and Change come from prev, which may be nil.
func Rank(g Group, scores map[string]scoring.Score, prev *scoring.Ranking, version uint64, asOf time.Time) *scoring.Ranking {
	return RankFunc(scoring.DefaultMethod, g, func(code string) (float64, scoring.Grade, bool) {
		s, ok := scores[code]
		return s.Composite, s.Grade, ok
	}, prev, version, asOf)
}

// RankFunc is Rank under the given method with the scores given by a function: the composite and
// grade of a unit's latest score, and false when it has none. It ranks in the order of
// scoring.Compare, as scoring.RankMethod does.
func RankFunc(method string, g Group, score func(code string) (float64, scoring.Grade, bool), prev *scoring.Ranking, version uint64, asOf time.Time) *scoring.Ranking {
	rk := &scoring.Ranking{Version: version, AsOf: asOf.UTC(), Method: method,
		Entries: make([]scoring.RankEntry, len(g.Members))}
	for i, code := range g.Members {
		c, grade, ok := score(code)
		if !ok {
			c, grade = 0, scoring.GradeOf(0)
		}
		rk.Entries[i] = scoring.RankEntry{Region: code, Composite: c, Grade: grade}
	}
	slices.SortFunc(rk.Entries, scoring.Compare)
	for i := range rk.Entries {
		e := &rk.Entries[i]
		e.Rank = i + 1
		if prev != nil {
			// A group has at most a few dozen units: a scan is cheaper than a map.
			if j := slices.IndexFunc(prev.Entries, func(p scoring.RankEntry) bool { return p.Region == e.Region }); j >= 0 {
				e.PrevRank = prev.Entries[j].Rank
				e.Change = e.PrevRank - e.Rank
			}
		}
	}
	return rk
}
