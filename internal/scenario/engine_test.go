package scenario

import (
	"math"
	"reflect"
	"testing"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// runEngine applies evs with sequences 1..n to a fresh default engine,
// draining every 1,000 events as the aggregator would, and returns the final
// scores and ranking.
func runEngine(t *testing.T, evs []events.Event) ([]scoring.Score, *scoring.Ranking) {
	t.Helper()
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var last *scoring.Ranking
	for i := range evs {
		res := e.Apply(uint64(i+1), &evs[i])
		if res.Outcome != engine.Applied {
			t.Fatalf("event %d (%s): %s %s", i, evs[i].ID, res.Outcome, res.Reason)
		}
		if i%1000 == 999 {
			if out := e.Drain(); out.RankingOf(scoring.Method) != nil {
				last = out.RankingOf(scoring.Method)
			}
		}
	}
	if out := e.Drain(); out.RankingOf(scoring.Method) != nil {
		last = out.RankingOf(scoring.Method)
	}
	if last == nil {
		t.Fatal("no ranking drained")
	}
	if cur := e.Ranking(); !reflect.DeepEqual(cur, last) {
		t.Fatalf("Ranking() differs from the last drained ranking")
	}
	return e.Scores(), last
}

// TestScenarioThroughEngine runs the sample scenario through the engine and
// checks the report's facts: the top ten in order with clear gaps, the
// platform counts, and agreement with the reference implementation.
func TestScenarioThroughEngine(t *testing.T) {
	evs := Generate(Options{})
	scores, ranking := runEngine(t, evs)
	if len(scores) != 32 || len(ranking.Entries) != 32 {
		t.Fatalf("%d scores, %d ranking entries; want 32", len(scores), len(ranking.Entries))
	}
	for i, r := range topTen() {
		if got := ranking.Entries[i].Region; got != r {
			t.Errorf("rank %d: %s, want %s", i+1, got, r)
		}
	}
	units := Units()
	for i, e := range ranking.Entries {
		if e.Rank != i+1 || e.Region != units[i].Region {
			t.Errorf("rank %d: %s (rank %d), want %s", i+1, e.Region, e.Rank, units[i].Region)
		}
		if i > 0 {
			if gap := ranking.Entries[i-1].Composite - e.Composite; gap < 0.5 {
				t.Errorf("ranks %d and %d are %.3f apart, want >= 0.5", i, i+1, gap)
			}
		}
	}
	depth := map[int]int{}
	integrated := 0
	ref := reference(evs)
	for _, s := range scores {
		depth[s.PlatformLevels]++
		if s.Integrated {
			integrated++
		}
		r := ref[s.Region]
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"service_modes", s.ServiceModes, r.modes},
			{"item_coverage", s.ItemCoverage, r.coverage},
			{"guide_accuracy", s.GuideAccuracy, r.guide},
			{"online_maturity", s.OnlineMaturity, r.online},
			{"composite", s.Composite, r.composite},
		} {
			if math.Abs(c.got-c.want) > 1e-9 {
				t.Errorf("%s %s: engine %.9f, reference %.9f", s.Region, c.name, c.got, c.want)
			}
		}
		if s.PlatformLevels != r.platformLevels || s.Integrated != r.integrated {
			t.Errorf("%s: platform %d/%v, reference %d/%v", s.Region, s.PlatformLevels, s.Integrated, r.platformLevels, r.integrated)
		}
	}
	if want := map[int]int{4: 3, 3: 8, 2: 3, 1: 15, 0: 3}; !reflect.DeepEqual(depth, want) {
		t.Errorf("platform depths %v, want %v", depth, want)
	}
	if integrated != 27 {
		t.Errorf("%d integrated, want 27", integrated)
	}
	if ranking.Entries[0].Grade != scoring.Grade("very_high") {
		t.Errorf("Zhejiang's grade %s, want very_high", ranking.Entries[0].Grade)
	}
}

// TestScenarioEngineDeterministic checks that two runs give equal scores and
// rankings.
func TestScenarioEngineDeterministic(t *testing.T) {
	s1, r1 := runEngine(t, Generate(Options{}))
	s2, r2 := runEngine(t, Generate(Options{}))
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(r1, r2) {
		t.Fatal("two runs of the scenario give different results")
	}
}

// TestScenarioRoundTrip checks that every event survives the wire: the
// canonical encoding decodes, strictly, to an equal event.
func TestScenarioRoundTrip(t *testing.T) {
	evs := Generate(Options{})
	for i := range evs {
		b, err := evs[i].MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %v", evs[i].ID, err)
		}
		got, err := events.Decode(b)
		if err != nil {
			t.Fatalf("%s: decode %s: %v", evs[i].ID, b, err)
		}
		if !reflect.DeepEqual(*got, evs[i]) {
			t.Fatalf("%s: round trip\n%+v\nwant\n%+v", evs[i].ID, *got, evs[i])
		}
	}
}

// BenchmarkEngineScenario applies the whole sample scenario to a fresh
// engine and drains it once.
func BenchmarkEngineScenario(b *testing.B) {
	evs := Generate(Options{})
	b.ReportAllocs()
	for b.Loop() {
		e, err := engine.New(engine.Config{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range evs {
			e.Apply(uint64(i+1), &evs[i])
		}
		e.Drain()
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEngineStream applies a synthetic mixed stream, b.N events, to
// one engine, draining every 10,000 events.
func BenchmarkEngineStream(b *testing.B) {
	e, err := engine.New(engine.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	seq := uint64(0)
	for ev := range Stream(StreamOptions{Events: b.N}) {
		seq++
		e.Apply(seq, ev)
		if seq%10000 == 0 {
			e.Drain()
		}
	}
	e.Drain()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
