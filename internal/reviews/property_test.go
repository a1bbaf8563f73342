package reviews

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// TestVoidsAgainstBruteForce runs random streams of reviews, duplicates and appeal decisions (some
// before their review) and checks every day's and the rolling window's counts against those of the
// reviews whose first decision is not upheld.
func TestVoidsAgainstBruteForce(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 27))
		start := at("2024-09-01 00:00")
		type review struct {
			id   string
			tm   time.Time
			bad  bool
			void bool
		}
		var stream []*events.Event
		var reviews []*review
		decided := map[string]bool{}
		for i := range 300 {
			tm := start.Add(time.Duration(i) * 2 * time.Hour)
			switch r := rng.IntN(10); {
			case r < 6 || len(reviews) == 0:
				rv := &review{id: fmt.Sprint("r", i), tm: tm.Add(-time.Duration(rng.IntN(5)) * time.Hour), bad: rng.IntN(3) == 0}
				reviews = append(reviews, rv)
				rating := 5
				if rv.bad {
					rating = 1 + rng.IntN(2)
				}
				stream = append(stream, &events.Event{ID: rv.id, Type: events.FeedbackRated, Region: zj, Time: rv.tm,
					Source: "t", Data: &events.FeedbackRatedData{Rating: rating, Channel: events.ChannelWeb}})
			case r < 7: // a duplicate
				e := *stream[rng.IntN(len(stream))]
				stream = append(stream, &e)
			default: // a decision, of a review seen or of one to come
				rv := reviews[rng.IntN(len(reviews))]
				if rng.IntN(4) == 0 {
					rv = &review{id: fmt.Sprint("r", i+1+rng.IntN(3)), tm: tm}
				}
				d := events.RejectedAppeal
				if rng.IntN(2) == 0 {
					d = events.Upheld
				}
				if !decided[rv.id] {
					decided[rv.id] = true
					rv.void = d == events.Upheld
					for _, x := range reviews {
						if x.id == rv.id {
							x.void = rv.void
						}
					}
				}
				stream = append(stream, &events.Event{ID: fmt.Sprint("d", i), Type: events.FeedbackAppealDecided, Region: zj,
					Time: tm, Source: "t", Data: &events.FeedbackAppealDecidedData{ReviewID: rv.id, Decision: d}})
			}
		}
		// A decision of a review still to come applies when it comes.
		voidByID := map[string]bool{}
		for _, e := range stream {
			if d, ok := e.Data.(*events.FeedbackAppealDecidedData); ok {
				if _, seen := voidByID[d.ReviewID]; !seen {
					voidByID[d.ReviewID] = d.Decision == events.Upheld
				}
			}
		}
		tr, err := New(Config{AllowedLateness: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var wm time.Time
		for _, e := range stream {
			if e.Time.After(wm) {
				wm = e.Time
			}
			tr.Apply(e, wm)
		}
		for day := start; day.Before(wm.Add(24 * time.Hour)); day = day.Add(24 * time.Hour) {
			var n, bad int64
			for _, rv := range reviews {
				if !voidByID[rv.id] && !rv.tm.Before(day) && rv.tm.Before(day.Add(24*time.Hour)) {
					n++
					if rv.bad {
						bad++
					}
				}
			}
			if s := tr.Day(zj, day); s.Reviews != n || s.Bad != bad {
				for _, rv := range reviews {
					if !rv.tm.Before(day) && rv.tm.Before(day.Add(24*time.Hour)) {
						c := tr.cases[caseKey(zj, rv.id)]
						r, ok := tr.ids.Lookup(caseKey(zj, rv.id))
						t.Logf("%s %v void %v record %+v %v case %+v", rv.id, rv.tm, voidByID[rv.id], r, ok, c)
					}
				}
				t.Fatalf("seed %d, %v: %d reviews, %d bad; brute force %d, %d", seed, day, s.Reviews, s.Bad, n, bad)
			}
		}
	}
}
