package scenario

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// run2019 applies the 2019 scenario of a seed to a fresh engine computing Method2019 (then method
// 2017, as `make run SCENARIO=2019` does), draining every 1,000 events as the aggregator would, and
// returns the engine.
func run2019(t *testing.T, seed int64) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Methods: []string{Method2019, scoring.Method}})
	if err != nil {
		t.Fatal(err)
	}
	evs := Generate2019(Options{Seed: seed})
	for i := range evs {
		if res := e.Apply(uint64(i+1), &evs[i]); res.Outcome != engine.Applied {
			t.Fatalf("event %d (%s): %s %s", i, evs[i].ID, res.Outcome, res.Reason)
		}
		if i%1000 == 999 {
			e.Drain()
		}
	}
	e.Drain()
	return e
}

// TestGenerate2019 runs the 2019 scenario through the engine and checks every one of the 63
// published composites (exactly, to the micro-unit) and both rankings: the provincial units with
// the XPCC last, and the key cities, in the report's order with ties by code.
func TestGenerate2019(t *testing.T) {
	e := run2019(t, 0)
	check2019(t, e)
}

// TestGenerate2019Seeds checks that other seeds reach the same composites and rankings with
// other events.
func TestGenerate2019Seeds(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, seed := range []int64{1, 99} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { check2019(t, run2019(t, seed)) })
	}
}

func check2019(t *testing.T, e *engine.Engine) {
	t.Helper()
	composites := map[string]float64{}
	for _, s := range e.Scores() {
		if s.Method == Method2019 {
			composites[s.Region] = s.Composite
		}
	}
	if len(composites) != 64 {
		t.Errorf("%d units scored, want 64 (the 63 with figures and the XPCC)", len(composites))
	}
	for _, p := range Report2019() {
		got, ok := composites[p.Region]
		if !ok || got != p.Composite {
			t.Errorf("%s: composite %v (scored %v), want %.2f exactly", p.Region, got, ok, p.Composite)
		}
	}
	if c := composites["660000"]; c != 0 {
		t.Errorf("the XPCC, without events, has composite %v; want 0", c)
	}

	want := func(list []Published) []string {
		var out []string
		for _, p := range list {
			out = append(out, p.Region)
		}
		return out
	}
	codes := func(rk *scoring.Ranking) []string {
		var out []string
		for _, en := range rk.Entries {
			out = append(out, en.Region)
		}
		return out
	}
	rk := e.RankingOf(Method2019)
	if rk == nil {
		t.Fatal("no provincial ranking under method 2022")
	}
	if got, w := codes(rk), append(want(Report2019Provinces()), "660000"); !slices.Equal(got, w) {
		t.Errorf("provincial ranking\n got %v\nwant %v", got, w)
	}
	var keyCities *scoring.Ranking
	for _, g := range e.GroupRankings() {
		if g.Group == groups.KeyCities {
			keyCities = g.Ranking
		}
	}
	if keyCities == nil {
		t.Fatal("no key-city ranking")
	}
	if keyCities.Method != Method2019 {
		t.Errorf("key-city ranking of method %s, want %s", keyCities.Method, Method2019)
	}
	if got, w := codes(keyCities), want(Report2019KeyCities()); !slices.Equal(got, w) {
		t.Errorf("key-city ranking\n got %v\nwant %v", got, w)
	}
	for i, en := range keyCities.Entries {
		if p := Report2019KeyCities()[i]; en.Composite != p.Composite || en.Rank != i+1 {
			t.Errorf("key-city rank %d: %s %v, want %s %.2f", en.Rank, en.Region, en.Composite, p.Region, p.Composite)
		}
	}
}

// TestGenerate2019Valid checks the stream: valid events, unique ids, event times in 2019, the last
// one at End2019, and no event of the XPCC.
func TestGenerate2019Valid(t *testing.T) {
	evs := Generate2019(Options{})
	seen := map[string]bool{}
	var last time.Time
	for i := range evs {
		ev := &evs[i]
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %s: %v", ev.ID, err)
		}
		if seen[ev.ID] {
			t.Fatalf("duplicate id %s", ev.ID)
		}
		seen[ev.ID] = true
		if y := ev.Time.In(End2019().Location()).Year(); y != 2019 {
			t.Fatalf("event %s at %s: not in 2019", ev.ID, ev.Time)
		}
		if ev.Region == "660000" {
			t.Fatalf("event %s of the XPCC", ev.ID)
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
	}
	if !last.Equal(End2019()) {
		t.Errorf("last event time %s, want %s", last, End2019())
	}
	if !slices.EqualFunc(Generate2019(Options{}), evs, func(a, b events.Event) bool { return a.ID == b.ID && a.Time.Equal(b.Time) }) {
		t.Error("two runs differ")
	}
}

// TestPlan2019 checks the plans on their own: each valid, its composite under Method2019 exactly
// the figure, and its dimensions within a realistic distance of it.
func TestPlan2019(t *testing.T) {
	spec, _ := scoring.Lookup(Method2019)
	for _, p := range Report2019() {
		pl := plan2019For(rand2019(DefaultSeed, p.Region), p)
		if !pl.valid() {
			t.Errorf("%s: invalid plan", p.Region)
		}
		terms, comp := spec.Evaluate(&pl.c)
		if comp.Float() != p.Composite {
			t.Errorf("%s: composite %v, want %.2f", p.Region, comp.Float(), p.Composite)
		}
		for i, term := range spec.Terms {
			if term.Scored() && math.Abs(terms[i].Value.Float()-p.Composite) > 25 {
				t.Errorf("%s: %s %v, far from the composite %.2f", p.Region, term.Name, terms[i].Value.Float(), p.Composite)
			}
		}
	}
}
