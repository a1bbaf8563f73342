package site

import (
	"fmt"

	"github.com/govpulse/govpulse/internal/scoring"
)

// Term is one index of a score with the counts it is computed from, so that a reader can check it
// by hand (docs/method.md).
type Term struct {
	Index   string   `json:"index"`   // the score field, such as "service_modes"
	Value   *float64 `json:"value"`   // its value; null for a satisfaction without ratings
	Formula string   `json:"formula"` // how the value follows from the counts
	Counts  []Count  `json:"counts"`  // the counts, named as the score's fields
	Scored  bool     `json:"scored"`  // part of the composite
}

// Count is one named count behind a term.
type Count struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

// terms returns the terms of sc, as its method describes them, with their counts.
func terms(sc *scoring.Score) ([]Term, error) {
	spec, ok := scoring.Lookup(sc.Method)
	if !ok {
		return nil, nil
	}
	out := make([]Term, 0, len(spec.Terms))
	for _, d := range spec.Terms {
		t := Term{Index: d.Name, Value: d.Value(sc), Formula: d.Formula, Scored: d.Scored(), Counts: make([]Count, 0, len(d.Counts))}
		for _, name := range d.Counts {
			v, ok := sc.Counts.Count(name)
			if !ok {
				return nil, fmt.Errorf("site: method %s: no count %q", sc.Method, name)
			}
			t.Counts = append(t.Counts, Count{Name: name, Value: v})
		}
		out = append(out, t)
	}
	return out, nil
}
