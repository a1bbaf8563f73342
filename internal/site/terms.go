package site

import (
	"fmt"

	"github.com/go-json-experiment/json"

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

// termDef describes a term of a method: which score field, which formula, which counts.
type termDef struct {
	index, formula string
	counts         []string
	scored         bool
	value          func(*scoring.Score) *float64
}

// methodTerms returns the terms of a scoring method by its id, in display order.
func methodTerms(method string) ([]termDef, bool) {
	if method != scoring.Method {
		return nil, false
	}
	f := func(get func(*scoring.Score) float64) func(*scoring.Score) *float64 {
		return func(s *scoring.Score) *float64 { v := get(s); return &v }
	}
	return []termDef{
		{index: "service_modes", scored: true, value: f(func(s *scoring.Score) float64 { return s.ServiceModes }),
			formula: "100 × modes_total / (8 × published_items)",
			counts:  []string{"modes_total", "published_items"}},
		{index: "item_coverage", scored: true, value: f(func(s *scoring.Score) float64 { return s.ItemCoverage }),
			formula: "100 × Σ w × covered / required ÷ Σ w, over the levels with required items (w = 0.4, 0.3, 0.2, 0.1)",
			counts: []string{"required_province", "covered_province", "required_city", "covered_city",
				"required_county", "covered_county", "required_township", "covered_township"}},
		{index: "guide_accuracy", scored: true, value: f(func(s *scoring.Score) float64 { return s.GuideAccuracy }),
			formula: "100 × (audit_correct_consistent + 0.8 × audit_correct_inconsistent) / (8 × audited_items)",
			counts:  []string{"audited_items", "audit_correct_consistent", "audit_correct_inconsistent"}},
		{index: "online_maturity", scored: true, value: f(func(s *scoring.Score) float64 { return s.OnlineMaturity }),
			formula: "100 × (0.5 D + 0.3 O + 0.2 S) ÷ the weights present; D = maturity_total / (4 × published_items), " +
				"O = applications_online_completed / applications, S = (rating_sum − ratings) / (4 × ratings)",
			counts: []string{"maturity_total", "published_items", "applications_online_completed", "applications", "rating_sum", "ratings"}},
		{index: "satisfaction", value: func(s *scoring.Score) *float64 { return s.Satisfaction },
			formula: "100 × (rating_sum / ratings − 1) / 4 (shown, not scored)",
			counts:  []string{"rating_sum", "ratings"}},
	}, true
}

// terms returns the terms of sc with their counts, taken from the JSON names of scoring.Counts.
func terms(sc *scoring.Score) ([]Term, error) {
	defs, ok := methodTerms(sc.Method)
	if !ok {
		return nil, nil
	}
	raw, err := json.Marshal(sc.Counts)
	if err != nil {
		return nil, fmt.Errorf("site: encode counts: %w", err)
	}
	var counts map[string]int64
	if err := json.Unmarshal(raw, &counts); err != nil {
		return nil, fmt.Errorf("site: decode counts: %w", err)
	}
	out := make([]Term, 0, len(defs))
	for _, d := range defs {
		t := Term{Index: d.index, Value: d.value(sc), Formula: d.formula, Scored: d.scored, Counts: make([]Count, 0, len(d.counts))}
		for _, name := range d.counts {
			v, ok := counts[name]
			if !ok {
				return nil, fmt.Errorf("site: method %s: no count %q", sc.Method, name)
			}
			t.Counts = append(t.Counts, Count{Name: name, Value: v})
		}
		out = append(out, t)
	}
	return out, nil
}
