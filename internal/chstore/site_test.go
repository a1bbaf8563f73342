package chstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

func TestRecentEventsReadTheLatestOfEachID(t *testing.T) {
	store, _, _ := newStore(t)
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2016, 12, d, 0, 0, 0, 0, time.UTC) }
	ev := func(id string, d int, seq uint64) chstore.EventRow {
		return chstore.EventRow{Region: "330000", ID: id, Type: "feedback.rated", Time: day(d), StreamSeq: seq, Payload: "{}"}
	}
	rows := []chstore.EventRow{ev("a", 1, 1), ev("b", 2, 2), ev("c", 3, 3), ev("d", 4, 4),
		{Region: "520000", ID: "e", Type: "feedback.rated", Time: day(9), StreamSeq: 5}}
	if err := store.Write(ctx, chstore.Batch{Events: rows}); err != nil {
		t.Fatal(err)
	}
	// "a" again with a later sequence and time (a replay that re-read it), in another part.
	if err := store.Write(ctx, chstore.Batch{Events: []chstore.EventRow{ev("a", 5, 6)}}); err != nil {
		t.Fatal(err)
	}
	got, err := store.RecentEvents(ctx, "330000", 3)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID+"@"+r.Time.Format("02"))
	}
	if want := []string{"a@05", "d@04", "c@03"}; len(ids) != 3 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Errorf("recent events %v, want %v", ids, want)
	}
	if got, err := store.RecentEvents(ctx, "330000", 0); err != nil || len(got) != 0 {
		t.Errorf("limit 0: %v, %v", got, err)
	}
}

func TestScoreHistoryRangeIsBounded(t *testing.T) {
	store, _, _ := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2016, 12, 1, 0, 0, 0, 0, time.UTC)
	var rows []chstore.ScoreRow
	for i := range 100 {
		rows = append(rows, chstore.ScoreRow{Region: "330000", Version: uint64(i + 1), AsOf: t0.Add(time.Duration(i) * time.Hour),
			Method: "2017", Composite: float64(i)})
	}
	for range 2 { // written twice: still one row per version
		if err := store.Write(ctx, chstore.Batch{MethodScores: rows}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := store.ScoreHistoryRange(ctx, "330000", time.Time{}, time.Time{}, 100)
	if err != nil || len(all) != 100 || all[0].Version != 1 || all[99].Version != 100 {
		t.Fatalf("every score: %d rows (%v)", len(all), err)
	}
	for _, points := range []int{1, 7, 50, 99} {
		got, err := store.ScoreHistoryRange(ctx, "330000", time.Time{}, time.Time{}, points)
		if err != nil || len(got) == 0 || len(got) > points || got[len(got)-1].Version != 100 {
			t.Errorf("%d points: %d rows, last %+v (%v)", points, len(got), got[len(got)-1:], err)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Version <= got[i-1].Version {
				t.Errorf("%d points: out of order at %d", points, i)
			}
		}
	}
	got, err := store.ScoreHistoryRange(ctx, "330000", t0.Add(10*time.Hour), t0.Add(20*time.Hour), 100)
	if err != nil || len(got) != 10 || got[0].Version != 11 || got[9].Version != 20 {
		t.Errorf("[10h, 20h): %d rows (%v)", len(got), err)
	}
	if got, err := store.ScoreHistoryRange(ctx, "110000", time.Time{}, time.Time{}, 10); err != nil || len(got) != 0 {
		t.Errorf("a region without scores: %v, %v", got, err)
	}
	if _, err := store.ScoreHistoryRange(ctx, "330000", time.Time{}, time.Time{}, 0); err == nil {
		t.Error("0 points accepted")
	}
}

// TestScoreHistoryRangeReadsAsTheView checks that ScoreHistoryRange, which reads method_scores
// itself, gives a unit's scores as the view scores (through score_history) does: method 2017 only,
// its terms in the named columns, a satisfaction without ratings NULL.
func TestScoreHistoryRangeReadsAsTheView(t *testing.T) {
	store, _, _ := newStore(t)
	ctx := t.Context()
	if err := store.Write(ctx, methodBatch(t)); err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"110000", "330000"} {
		want, err := store.ScoreHistory(ctx, region)
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.ScoreHistoryRange(ctx, region, time.Time{}, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 1 {
			t.Fatalf("score_history of %s: %d rows, want 1", region, len(want))
		}
		checkEqual(t, "history range of "+region, got, want)
	}
}
