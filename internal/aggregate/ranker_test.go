package aggregate

import (
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// The ranker merges the newest cut every partition has a part of, never parts taken after
// different sequences, and the result is one engine's ranking after that sequence.
func TestRankerMergesTheNewestCommonCut(t *testing.T) {
	var east, west []string
	for i, r := range events.Regions() {
		if i%2 == 0 {
			east = append(east, r.Code)
		} else {
			west = append(west, r.Code)
		}
	}
	newEngine := func(regions []string) *engine.Engine {
		e, err := engine.New(engine.Config{Regions: regions})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	single, e, w := newEngine(nil), newEngine(east), newEngine(west)
	want := map[uint64]*scoring.Ranking{}
	parts := map[string]map[uint64]rankPart{"east": {}, "west": {}}
	seq := uint64(0)
	for ev := range scenario.Stream(scenario.StreamOptions{Events: 300, Step: 20 * time.Minute}) {
		seq++
		single.Apply(seq, ev)
		e.Apply(seq, ev)
		w.Apply(seq, ev)
		if seq%50 == 0 {
			want[seq] = single.Ranking()
			for name, eng := range map[string]*engine.Engine{"east": e, "west": w} {
				p, ok := eng.Part()
				if !ok {
					t.Fatal("no part")
				}
				parts[name][seq] = rankPart{Partition: name, Through: seq, Part: p}
			}
		}
	}
	r := &ranker{parts: map[string][]rankPart{}}
	check := func(cut uint64) {
		t.Helper()
		rk, got, ok := r.merged()
		if !ok || got != cut || !reflect.DeepEqual(rk, want[cut]) {
			t.Fatalf("merged cut %d (%v), want %d:\n%+v\n%+v", got, ok, cut, rk, want[cut])
		}
	}
	r.add(parts["east"][100])
	if _, _, ok := r.merged(); ok {
		t.Fatal("merged without a part of every partition")
	}
	r.add(parts["west"][100])
	check(100)
	r.add(parts["east"][150])
	r.add(parts["west"][200])
	check(100)               // east has not reached 200, west has no part of 150
	r.add(parts["east"][50]) // older than what east sent: ignored
	r.add(parts["east"][200])
	check(200)
	r.published = want[200].Version
	if _, _, ok := r.merged(); ok {
		t.Fatal("a version already published is merged again")
	}
	for i := range 2 * maxPartHistory {
		r.add(rankPart{Partition: "east", Through: 1000 + uint64(i)})
	}
	if n := len(r.parts["east"]); n != maxPartHistory {
		t.Fatalf("%d parts kept, want %d", n, maxPartHistory)
	}
}
