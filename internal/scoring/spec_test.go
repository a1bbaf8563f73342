package scoring_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

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

// TestSpecs checks every method: its terms' weights sum to 1, every count a term names is a
// count of the score, and Value gives the value the score's message carries for the term (a
// named member for method 2017, an entry of "terms" for the others).
func TestSpecs(t *testing.T) {
	for _, id := range scoring.Methods() {
		spec, ok := scoring.Lookup(id)
		if !ok || spec.ID != id || len(spec.Bands) == 0 || spec.Source == "" {
			t.Fatalf("Lookup(%q) = %+v, %v", id, spec, ok)
		}
		r := scoring.NewRegion("330000", "浙江省", "Zhejiang")
		sc := spec.Score(r, scoring.Window{Ratings: 3, RatingSum: 11, RatingsBad: 1, Applications: 4,
			OnlineCompleted: 2, NoVisit: 1, Timed: 2, OnTime: 1}, time.Unix(0, 0), 7)
		if sc.Method != id {
			t.Errorf("method %s: score of method %q", id, sc.Method)
		}
		raw, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Terms []scoring.TermValue `json:"terms"`
		}
		var members map[string]any
		if err := json.Unmarshal(raw, &msg); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &members); err != nil {
			t.Fatal(err)
		}
		weights := 0.0
		for k, term := range spec.Terms {
			weights += term.Weight
			got := term.Value(&sc)
			var inMsg *float64
			if len(msg.Terms) > 0 {
				if msg.Terms[k].Name != term.Name {
					t.Errorf("method %s: terms[%d] is %s, want %s", id, k, msg.Terms[k].Name, term.Name)
				}
				inMsg = msg.Terms[k].Value
			} else if v, ok := members[term.Name].(float64); ok {
				inMsg = &v
			}
			if (got == nil) != (inMsg == nil) || got != nil && *got != *inMsg {
				t.Errorf("method %s: term %s: Value %v, message %v", id, term.Name, got, inMsg)
			}
			for _, name := range term.Counts {
				if _, ok := sc.Counts.Count(name); !ok {
					t.Errorf("method %s: term %s names count %s, which scores do not have", id, term.Name, name)
				}
			}
		}
		if math.Abs(weights-1) > 1e-12 {
			t.Errorf("method %s: weights sum to %v, want 1", id, weights)
		}
	}
}
