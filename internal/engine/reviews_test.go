package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestVoidedReviewsLeaveTheScores checks, against the stream in which the voided reviews never
// came, that a review voided on appeal (before or after it arrives, duplicated, or too old to
// matter) leaves the satisfaction of every method and the hourly windows, with a higher version.
// Odd seeds run with an appeal horizon of 3 hours, which many decisions are past: the brute force
// voids a review only when, as the second of it and its first decision is applied, its time is at
// or after the watermark minus the horizon.
func TestVoidedReviewsLeaveTheScores(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		cfg := Config{Regions: []string{zj, bj}, Methods: []string{scoring.Method, scoring.Method2022}}
		if seed%2 == 1 {
			cfg.AppealHorizon = 3 * time.Hour
		}
		var stream, without []*events.Event
		void, decided := map[string]bool{}, map[string]bool{}
		var ids []string
		cur := base
		for i := range 400 {
			cur = cur.Add(time.Duration(rng.IntN(40)) * time.Minute)
			region := []string{zj, bj}[rng.IntN(2)]
			switch k := rng.IntN(10); {
			case k < 7 || len(ids) == 0:
				id := fmt.Sprint("r", i)
				ids = append(ids, region+"|"+id)
				e := rated(id, region, cur.Add(-time.Duration(rng.IntN(120))*time.Minute), 1+rng.IntN(5))
				stream = append(stream, e)
				if !void[region+"|"+id] {
					without = append(without, e)
				}
				if rng.IntN(10) == 0 {
					stream = append(stream, e) // a duplicate
				}
			case k < 9:
				ref := ids[rng.IntN(len(ids))]
				if k == 8 { // a decision before its review comes (maybe never)
					ref = fmt.Sprintf("%s|r%d", region, i+1+rng.IntN(3))
				}
				var reg, rid string
				fmt.Sscanf(ref, "%6s|%s", &reg, &rid)
				d := events.RejectedAppeal
				if rng.IntN(2) == 0 {
					d = events.Upheld
				}
				if !decided[ref] { // the first decision counts
					decided[ref], void[ref] = true, d == events.Upheld
				}
				stream = append(stream, ev(fmt.Sprint("d", i), reg, cur, &events.FeedbackAppealDecidedData{ReviewID: rid, Decision: d}))
			default:
				e := app(fmt.Sprint("a", i), region, cur, events.Completed, rng.IntN(2) == 0)
				stream = append(stream, e)
				without = append(without, e)
			}
		}
		if cfg.AppealHorizon != 0 {
			// The horizon decides which upheld decisions void their review (the records are kept
			// for the 7 days of lateness, longer than the stream).
			type seen struct {
				at     int
				tm, wm time.Time
			}
			reviewAt, decidedAt := map[string]seen{}, map[string]seen{}
			var top time.Time
			for i, e := range stream {
				if e.Time.After(top) {
					top = e.Time
				}
				wm := top.Add(-DefaultOutOfOrderness)
				switch d := e.Data.(type) {
				case *events.FeedbackRatedData:
					if _, ok := reviewAt[e.Region+"|"+e.ID]; !ok {
						reviewAt[e.Region+"|"+e.ID] = seen{i, e.Time, wm}
					}
				case *events.FeedbackAppealDecidedData:
					if _, ok := decidedAt[e.Region+"|"+d.ReviewID]; !ok {
						decidedAt[e.Region+"|"+d.ReviewID] = seen{i, e.Time, wm}
					}
				}
			}
			for ref, d := range decidedAt {
				r, ok := reviewAt[ref]
				switch {
				case !void[ref] || !ok:
				case d.at > r.at:
					void[ref] = !r.tm.Before(d.wm.Add(-cfg.AppealHorizon))
				default:
					void[ref] = !r.tm.Before(r.wm.Add(-cfg.AppealHorizon))
				}
			}
			// Rebuild the stream without the voided reviews, as they are now.
			without = without[:0]
			for i, e := range stream {
				if e.Type == events.FeedbackAppealDecided {
					continue
				}
				if e.Type == events.FeedbackRated && (void[e.Region+"|"+e.ID] || reviewAt[e.Region+"|"+e.ID].at != i) {
					continue // voided, or a duplicate
				}
				without = append(without, e)
			}
		}
		// Reviews voided after they came were kept in without: take them out now.
		kept := without[:0]
		for _, e := range without {
			if e.Type != events.FeedbackRated || !void[e.Region+"|"+e.ID] {
				kept = append(kept, e)
			}
		}
		without = kept
		// Voids of reviews whose windows are final keep them: stay within the lateness.
		if cur.Sub(base) > DefaultAllowedLateness {
			t.Fatalf("seed %d: stream spans %v", seed, cur.Sub(base))
		}
		got, want := mustNew(t, cfg), mustNew(t, cfg)
		past := 0
		for i, e := range stream {
			if got.Apply(uint64(i+1), e).Outcome == PastAppealHorizon {
				past++
			}
		}
		if cfg.AppealHorizon != 0 && past == 0 {
			t.Errorf("seed %d: no event past the appeal horizon", seed)
		}
		for i, e := range without {
			want.Apply(uint64(i+1), e)
		}
		// Move both to the same watermark.
		end := cur.Add(time.Hour)
		got.Observe(uint64(len(stream)+1), end)
		want.Observe(uint64(len(stream)+1), end)
		gs, ws := got.Scores(), want.Scores()
		if len(gs) != len(ws) {
			t.Fatalf("seed %d: %d scores, want %d", seed, len(gs), len(ws))
		}
		for i := range gs {
			g, w := gs[i], ws[i]
			if g.Composite != w.Composite || g.Ratings != w.Ratings || g.RatingSum != w.RatingSum {
				t.Errorf("seed %d: %s %s: composite %v ratings %d/%d, without the voided reviews %v %d/%d",
					seed, g.Region, g.Method, g.Composite, g.Ratings, g.RatingSum, w.Composite, w.Ratings, w.RatingSum)
			}
		}
		gw, ww := map[string]WindowRow{}, map[string]WindowRow{}
		for _, r := range got.Drain().Windows {
			r.Version = 0
			gw[r.Region+r.Metric+r.Start.String()] = r
		}
		for _, r := range want.Drain().Windows {
			r.Version = 0
			ww[r.Region+r.Metric+r.Start.String()] = r
		}
		for k, w := range ww {
			if gw[k] != w {
				t.Errorf("seed %d: window %s: %+v, without the voided reviews %+v", seed, k, gw[k], w)
			}
		}
	}
}

// TestVoidRaisesTheVersion checks that an upheld appeal rescores the review's unit at its own
// sequence.
func TestVoidRaisesTheVersion(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj}})
	feed(t, e, 1, rated("r1", zj, atMin(10), 1), rated("r2", zj, atMin(20), 5))
	before := scoreOf(t, e, zj)
	e.Drain()
	feed(t, e, 3, ev("d1", zj, atMin(30), &events.FeedbackAppealDecidedData{ReviewID: "r1", Decision: events.Upheld}))
	after := scoreOf(t, e, zj)
	if after.Version != 3 || after.Ratings != 1 || after.RatingSum != 5 || after.Composite == before.Composite {
		t.Errorf("after the void %v, before %v", after, before)
	}
	out := e.Drain()
	if len(out.Scores) != 1 || len(out.Windows) != 1 || out.Windows[0].Version != 3 || out.Windows[0].Count != 1 {
		t.Errorf("drained scores %d, windows %+v", len(out.Scores), out.Windows)
	}
	if len(out.ReviewStats) == 0 {
		t.Errorf("no review_stats rows")
	}
	for _, r := range out.ReviewStats {
		if r.Version != 3 || r.Reviews != 1 || r.AppealsUpheld != 1 {
			t.Errorf("review_stats %+v", r)
		}
	}
	// A review voided before it came is not counted.
	feed(t, e, 4, ev("d2", zj, atMin(40), &events.FeedbackAppealDecidedData{ReviewID: "r3", Decision: events.Upheld}),
		rated("r3", zj, atMin(35), 1))
	if s := scoreOf(t, e, zj); s.Ratings != 1 {
		t.Errorf("after a review voided before it came: %v", s)
	}
}

// TestRectificationsRescore2022 follows a rectification through method 2022's counts: open, then
// overdue when the watermark passes its deadline (the end of the next working day), then closed
// on time by a closing that arrives late but in time.
func TestRectificationsRescore2022(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj}, Methods: []string{scoring.Method, scoring.Method2022}})
	counts := func() (judged, onTime int64, version uint64) {
		t.Helper()
		for _, s := range e.Scores() {
			if s.Method == scoring.Method2022 {
				return s.RectificationsJudged, s.RectificationsOnTime, s.Version
			}
		}
		t.Fatal("no 2022 score")
		return
	}
	// Wednesday 1 March 2017: a bad review and its rectification, due by the end of Thursday.
	feed(t, e, 1, rated("r1", zj, atMin(10*60), 1),
		ev("o1", zj, atMin(11*60), &events.RectificationOpenedData{ReviewID: "r1", DeadlineDays: 1}))
	if j, o, v := counts(); j != 0 || o != 0 || v != 2 {
		t.Errorf("open: judged %d, on time %d, version %d", j, o, v)
	}
	// The watermark (minus 10 minutes of out-of-orderness) passes midnight at the end of Thursday.
	e.Observe(3, atMin(2*24*60+20))
	if j, o, v := counts(); j != 1 || o != 0 || v != 3 {
		t.Errorf("overdue: judged %d, on time %d, version %d", j, o, v)
	}
	// Closed on Thursday evening, reported late: on time.
	feed(t, e, 4, ev("c1", zj, atMin(24*60+20*60), &events.RectificationClosedData{ReviewID: "r1", Resolved: true, Rating: 5}))
	if j, o, v := counts(); j != 1 || o != 1 || v != 4 {
		t.Errorf("closed: judged %d, on time %d, version %d", j, o, v)
	}
}
