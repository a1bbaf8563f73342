package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// RankingPart is a partition's share of the ranking of all units: its
// regions' composites, its ranking's version, and the composites in force
// before that version. MergeRanking combines the parts of partitions that
// together hold every unit into the ranking one engine of all units has.
type RankingPart struct {
	// Version is the sequence of the last event that changed a composite of
	// the partition (the version of its own ranking); AsOf is W after it.
	Version uint64    `json:"version"`
	AsOf    time.Time `json:"as_of"`
	// First is true when Version is the partition's first ranking: the
	// ranking of all units had no previous one either.
	First   bool        `json:"first"`
	Entries []PartEntry `json:"entries"`
}

// PartEntry is one region of a RankingPart.
type PartEntry struct {
	Region    string        `json:"region"`
	Composite float64       `json:"composite"`
	Grade     scoring.Grade `json:"grade"`
	// Before is the composite in force before the event Version (equal to
	// Composite when that event did not change it).
	Before float64 `json:"before"`
}

// Part returns the partition's share of the ranking of all units under the
// first method of Config.Methods, and false before its first ranking.
func (e *Engine) Part() (RankingPart, bool) {
	rk := &e.rk[0]
	if !rk.has {
		return RankingPart{}, false
	}
	p := RankingPart{Version: rk.version, AsOf: rk.asOf.UTC(), First: rk.prev[0] == 0,
		Entries: make([]PartEntry, len(e.regions))}
	for i := range e.regions {
		s := &e.regions[i].scores[0]
		p.Entries[i] = PartEntry{Region: s.Region, Composite: s.Composite, Grade: s.Grade, Before: rk.before[i]}
	}
	return p, true
}

// MergeRanking returns the ranking of all units from the parts of
// partitions that together hold each unit exactly once, every part taken
// after the same stream sequence: it equals the Ranking of one engine of all
// units after that sequence, version, as_of and previous ranks included.
// It fails when the parts do not hold each of the 32 units exactly once.
func MergeRanking(parts []RankingPart) (*scoring.Ranking, error) {
	var (
		version uint64
		asOf    time.Time
		first   bool
		seen    = make(map[string]bool)
	)
	for _, p := range parts {
		for _, en := range p.Entries {
			if seen[en.Region] {
				return nil, fmt.Errorf("engine: merge ranking: region %s in two parts", en.Region)
			}
			seen[en.Region] = true
		}
		if p.Version > version {
			version, asOf, first = p.Version, p.AsOf, p.First
		}
	}
	if len(seen) != len(events.Regions()) {
		return nil, errors.New("engine: merge ranking: the parts do not hold every unit")
	}
	var now, before []scoring.Score
	for _, p := range parts {
		for _, en := range p.Entries {
			now = append(now, scoring.Score{Region: en.Region, Composite: en.Composite, Grade: en.Grade})
			// Only the partitions whose ranking changed at the last version
			// had other composites before it.
			b := en.Composite
			if p.Version == version {
				b = en.Before
			}
			before = append(before, scoring.Score{Region: en.Region, Composite: b})
		}
	}
	var prev *scoring.Ranking
	if !first {
		prev = scoring.Rank(before, nil, version, asOf)
	}
	return scoring.Rank(now, prev, version, asOf), nil
}
