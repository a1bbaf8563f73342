package explain

import (
	"fmt"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scoring"
)

// Verify checks stored score changes against the stored scores, as any run, crashed or not, must
// leave them: every row's to_value is the score's value at its version and from_value the one at
// its from_version (both versions stored; from_version 0 has no from_value); delta is to − from;
// and every unit's latest score has its changes stored. scores are every stored score version,
// changes the score_changes rows read through FINAL. It returns the first disagreement.
func Verify(scores []scoring.Score, changes []chstore.ScoreChangeRow) error {
	type key struct {
		region  string
		version uint64
	}
	byVersion := make(map[key]*scoring.Score, len(scores))
	latest := make(map[string]uint64)
	for i := range scores {
		s := &scores[i]
		byVersion[key{s.Region, s.Version}] = s
		latest[s.Region] = max(latest[s.Region], s.Version)
	}
	explained := make(map[key]bool)
	for _, c := range changes {
		to, ok := byVersion[key{c.Region, c.Version}]
		if !ok {
			return fmt.Errorf("explain: change of %s at version %d: no score stored at that version", c.Region, c.Version)
		}
		want, err := termValue(to, c.Term)
		if err != nil {
			return err
		}
		if !same(c.To, want) {
			return fmt.Errorf("explain: %s version %d %s: to_value %s, the score has %s", c.Region, c.Version, c.Term, show(c.To), show(want))
		}
		if c.FromVersion == 0 {
			if c.From != nil || c.Delta != nil {
				return fmt.Errorf("explain: %s version %d %s: a first version with from_value %s", c.Region, c.Version, c.Term, show(c.From))
			}
		} else {
			from, ok := byVersion[key{c.Region, c.FromVersion}]
			if !ok {
				return fmt.Errorf("explain: %s version %d: from_version %d is not stored", c.Region, c.Version, c.FromVersion)
			}
			if want, _ := termValue(from, c.Term); !same(c.From, want) {
				return fmt.Errorf("explain: %s version %d %s: from_value %s, the score at %d has %s", c.Region, c.Version, c.Term, show(c.From), c.FromVersion, show(want))
			}
			if c.From != nil && c.To != nil && (c.Delta == nil || *c.Delta != *c.To-*c.From) {
				return fmt.Errorf("explain: %s version %d %s: delta %s, want %v", c.Region, c.Version, c.Term, show(c.Delta), *c.To-*c.From)
			}
		}
		explained[key{c.Region, c.Version}] = true
	}
	for region, v := range latest {
		if !explained[key{region, v}] {
			return fmt.Errorf("explain: the latest score of %s (version %d) has no stored change", region, v)
		}
	}
	return nil
}

// termValue returns the value of a term (of the method, the composite or a count) in s.
func termValue(s *scoring.Score, term string) (*float64, error) {
	if term == engine.CompositeTerm {
		v := s.Composite
		return &v, nil
	}
	if spec, ok := scoring.Lookup(s.Method); ok {
		for _, t := range spec.Terms {
			if t.Name == term {
				return t.Value(s), nil
			}
		}
	}
	if n, ok := s.Counts.Count(term); ok {
		v := float64(n)
		return &v, nil
	}
	return nil, fmt.Errorf("explain: method %s has no term or count %q", s.Method, term)
}

func same(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show(p *float64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}
