package reviews

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// TestVoidsAgainstBruteForce runs random streams of reviews, duplicates and appeal decisions (some
// before their review, many past the appeal horizon) and checks every day's and the rolling
// window's counts against those of the reviews that a first decision upheld within the horizon
// voids: when the second of the review and its decision is applied, the review's time is at or
// after the watermark minus the horizon, and a decision that came first is still kept (its time
// at or after the watermark minus the longer of the horizon and the lateness).
func TestVoidsAgainstBruteForce(t *testing.T) {
	const lateness = 24 * time.Hour
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 27))
		horizon := []time.Duration{lateness, 6 * time.Hour, 48 * time.Hour, 400 * time.Hour}[seed%4]
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
		// The brute force: the first arrival of each review and the first decision of each id, with
		// the watermark when each was applied.
		type seen struct {
			at     int // index in the stream
			tm, wm time.Time
			upheld bool
		}
		firstReview, firstDecision := map[string]seen{}, map[string]seen{}
		tr, err := New(Config{AllowedLateness: lateness, AppealHorizon: horizon})
		if err != nil {
			t.Fatal(err)
		}
		kept := max(horizon, lateness)
		var wm time.Time
		expired := 0
		for i, e := range stream {
			if e.Time.After(wm) {
				wm = e.Time
			}
			switch d := e.Data.(type) {
			case *events.FeedbackRatedData:
				if _, ok := firstReview[e.ID]; !ok {
					firstReview[e.ID] = seen{at: i, tm: e.Time, wm: wm}
				}
			case *events.FeedbackAppealDecidedData:
				if _, ok := firstDecision[d.ReviewID]; !ok {
					firstDecision[d.ReviewID] = seen{at: i, tm: e.Time, wm: wm, upheld: d.Decision == events.Upheld}
				}
			}
			if tr.Apply(e, wm) == Expired {
				expired++
			}
		}
		voidByID := map[string]bool{}
		for id, r := range firstReview {
			d, ok := firstDecision[id]
			switch {
			case !ok || !d.upheld:
			case d.at > r.at: // the decision came second
				voidByID[id] = !r.tm.Before(d.wm.Add(-horizon))
			default: // the review came second: the decision waits for it while it is kept
				voidByID[id] = !d.tm.Before(r.wm.Add(-kept)) && !r.tm.Before(r.wm.Add(-horizon))
			}
		}
		if horizon < lateness && expired == 0 {
			t.Errorf("seed %d: no decision past the appeal horizon %v", seed, horizon)
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
