package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// split assigns the 32 regions at random to n non-empty partitions.
func split(rng *rand.Rand, n int) [][]string {
	var codes []string
	for _, r := range events.Regions() {
		codes = append(codes, r.Code)
	}
	rng.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
	parts := make([][]string, n)
	for i, c := range codes {
		parts[i%n] = append(parts[i%n], c)
	}
	return parts
}

// union merges the outputs of the partitions drained at the same point into
// one output, sorted as sortOutput does.
func union(outs []Output) Output {
	var u Output
	for _, o := range outs {
		u.Scores = append(u.Scores, o.Scores...)
		u.Windows = append(u.Windows, o.Windows...)
	}
	sortOutput(&u)
	return u
}

// sortOutput sorts scores by region and windows by region, metric and start.
func sortOutput(u *Output) {
	slices.SortFunc(u.Scores, func(a, b scoring.Score) int { return strings.Compare(a.Region, b.Region) })
	slices.SortFunc(u.Windows, func(a, b WindowRow) int {
		if c := strings.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		if c := strings.Compare(a.Metric, b.Metric); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
}

// TestPartitionsDoNotChangeResults is rule 10: split into 2, 4 or 8
// partitions that each read the time of every message of the stream and
// apply only their own regions' events, the engines give, drained at the
// same points, exactly the rows of a single engine holding all 32 regions:
// every score with its version, every hourly window, every outcome (too
// late, duplicate, over the limit) with its reason, and the watermark; and
// the partitions' ranking parts merge into the single engine's ranking.
func TestPartitionsDoNotChangeResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	var all []string
	for _, r := range events.Regions() {
		all = append(all, r.Code)
	}
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	for round := range rounds {
		var evs []*events.Event
		if round%2 == 0 {
			// Days pass every few hundred events and up to 8 days out of order: many too late.
			for x := range scenario.Stream(scenario.StreamOptions{Seed: int64(round + 1), Events: 1500 + rng.IntN(1500),
				Step: time.Duration(30+rng.IntN(600)) * time.Second, Jitter: 8 * 24 * time.Hour}) {
				evs = append(evs, x)
			}
		} else {
			evs = randomStream(rng, all, 300+rng.IntN(700)) // colliding keys, duplicates, ties
		}
		var cfg Config
		if round%3 == 1 {
			cfg.AllowedLateness, cfg.OutOfOrderness, cfg.MaxItemsPerLevel = 2*24*time.Hour, time.Hour, 40
		}
		for _, n := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("round%d/partitions%d", round, n), func(t *testing.T) {
				checkPartitioned(t, rng, cfg, split(rng, n), evs)
			})
		}
	}
}

// checkPartitioned feeds evs to one engine of cfg and to one engine per
// partition, and compares them at random drain points and at the end.
func checkPartitioned(t *testing.T, rng *rand.Rand, cfg Config, parts [][]string, evs []*events.Event) {
	t.Helper()
	single := mustNew(t, cfg)
	engines := make([]*Engine, len(parts))
	owner := make(map[string]int)
	for i, regions := range parts {
		c := cfg
		c.Regions = regions
		engines[i] = mustNew(t, c)
		for _, r := range regions {
			owner[r] = i
		}
	}
	drain := func(seq uint64) {
		t.Helper()
		want := single.Drain()
		sortOutput(&want)
		outs := make([]Output, len(engines))
		for i, e := range engines {
			outs[i] = e.Drain()
		}
		got := union(outs)
		if !reflect.DeepEqual(want.Scores, got.Scores) {
			t.Fatalf("after sequence %d: scores differ:\nsingle      %+v\npartitioned %+v", seq, want.Scores, got.Scores)
		}
		if !reflect.DeepEqual(want.Windows, got.Windows) {
			t.Fatalf("after sequence %d: windows differ:\nsingle      %+v\npartitioned %+v", seq, want.Windows, got.Windows)
		}
		var parts []RankingPart
		for _, e := range engines {
			if p, ok := e.Part(); ok {
				parts = append(parts, p)
			}
		}
		if single.Ranking() == nil {
			if len(parts) != 0 {
				t.Fatalf("after sequence %d: parts without a ranking", seq)
			}
			return
		}
		merged, err := MergeRanking(parts)
		if err != nil {
			t.Fatalf("after sequence %d: %v", seq, err)
		}
		if w := single.Ranking(); !reflect.DeepEqual(w, merged) {
			t.Fatalf("after sequence %d: rankings differ:\nsingle %+v\nmerged %+v", seq, w, merged)
		}
	}
	for i, x := range evs {
		seq := uint64(i + 1)
		want := single.Apply(seq, x)
		for p, e := range engines {
			if p == owner[x.Region] {
				if got := e.Apply(seq, x); got != want {
					t.Fatalf("sequence %d (%s/%s): partition %d: %v %q, single engine: %v %q",
						seq, x.Region, x.ID, p, got.Outcome, got.Reason, want.Outcome, want.Reason)
				}
				continue
			}
			// Another partition's event: known by its time (the header) or applied and ignored.
			if rng.IntN(2) == 0 {
				e.Observe(seq, x.Time)
			} else if r := e.Apply(seq, x); r.Outcome != NotInPartition {
				t.Fatalf("sequence %d: partition %d applied another partition's event: %v", seq, p, r)
			}
		}
		w, _ := single.Watermark()
		for p, e := range engines {
			if got, _ := e.Watermark(); !got.Equal(w) {
				t.Fatalf("sequence %d: watermark of partition %d %v, single engine %v", seq, p, got, w)
			}
		}
		if rng.IntN(25) == 0 {
			drain(seq)
		}
	}
	drain(uint64(len(evs)))
	var scores []scoring.Score
	for _, e := range engines {
		scores = append(scores, e.Scores()...)
	}
	slices.SortFunc(scores, func(a, b scoring.Score) int { return strings.Compare(a.Region, b.Region) })
	if !reflect.DeepEqual(single.Scores(), scores) {
		t.Fatal("latest scores differ")
	}
}
