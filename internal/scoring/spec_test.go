package scoring_test

import (
	"encoding/json"
	"testing"

	"github.com/govpulse/govpulse/internal/scoring"
)

// TestSpec2017 checks the description of method 2017 against its score: every term is a member
// of the score message whose value Value returns, every count a term names exists, and every
// count is behind some term.
func TestSpec2017(t *testing.T) {
	spec, ok := scoring.Lookup(scoring.Method)
	if !ok || spec.ID != scoring.Method {
		t.Fatalf("Lookup(%q) = %v, %v", scoring.Method, spec, ok)
	}
	if _, ok := scoring.Lookup("1999"); ok {
		t.Error("Lookup of an unknown method succeeded")
	}
	sc := goldenScore()
	raw, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]any
	if err := json.Unmarshal(raw, &members); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	weights := 0.0
	for _, term := range spec.Terms {
		got := term.Value(&sc)
		if m, ok := members[term.Name]; !ok || got == nil || m != *got {
			t.Errorf("term %s: Value %v, message member %v (present %v)", term.Name, got, m, ok)
		}
		weights += term.Weight
		for _, name := range term.Counts {
			v, ok := sc.Counts.Count(name)
			if m, in := members[name]; !ok || !in || m != float64(v) {
				t.Errorf("term %s: count %s = %d, %v; message member %v", term.Name, name, v, ok, m)
			}
			used[name] = true
		}
	}
	if weights != 1 {
		t.Errorf("weights of the scored terms sum to %v, want 1", weights)
	}
	raw, _ = json.Marshal(sc.Counts)
	var counts map[string]any
	if err := json.Unmarshal(raw, &counts); err != nil {
		t.Fatal(err)
	}
	for name := range counts {
		if !used[name] {
			t.Errorf("count %s is behind no term", name)
		}
	}
	if _, ok := sc.Counts.Count("no_such_count"); ok {
		t.Error("Count of an unknown name succeeded")
	}
	sc.Satisfaction = nil
	if v := spec.Terms[len(spec.Terms)-1].Value(&sc); v != nil {
		t.Errorf("satisfaction without ratings: %v, want nil", *v)
	}
}
