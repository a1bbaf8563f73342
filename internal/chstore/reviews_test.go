package chstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// TestReviewsRoundTrip writes review statistics and alerts, then a correction with a higher version
// (a review voided on appeal) and the same alert again, and reads back the latest rows once each.
func TestReviewsRoundTrip(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	day := time.Date(2024, 9, 25, 16, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	first := chstore.ReviewStatRow{Region: "330000", Period: "day", PeriodStart: day, PeriodEnd: day.Add(24 * time.Hour),
		Version: 10, Reviews: 2, Bad: 2, BadRate: f(1), Appeals: 1, AsOf: day.Add(30 * time.Hour)}
	fixed := first
	fixed.Version, fixed.Reviews, fixed.Bad, fixed.BadRate, fixed.AppealsUpheld = 12, 1, 1, f(1), 1
	fixed.Opened, fixed.Overdue, fixed.OverdueCases, fixed.OnTimeRate = 1, 1, []string{"d"}, f(0)
	fixed.FollowUps, fixed.FollowUpSum, fixed.FollowUpMean = 1, 4, f(4)
	alert := chstore.AlertRow{Region: "330000", ID: "330000/2024-10-10T08:00:00Z", State: "raised",
		WindowStart: day.Add(15 * 24 * time.Hour), WindowEnd: day.Add(15*24*time.Hour + time.Hour), Bad: 8, Reviews: 10,
		BaselineBad: 25, BaselineReviews: 250, Factor: 2, MinCount: 5, TopItems: []string{"ITEM-4", "ITEM-5"},
		TopBad: []uint64{4, 4}, Version: 40, RecordedAt: day.Add(16 * 24 * time.Hour)}
	ended := alert
	ended.State, ended.TopItems, ended.TopBad, ended.Version = "ended", nil, nil, 41
	for _, w := range []struct {
		stats  []chstore.ReviewStatRow
		alerts []chstore.AlertRow
	}{{[]chstore.ReviewStatRow{first}, []chstore.AlertRow{alert}}, {[]chstore.ReviewStatRow{fixed}, []chstore.AlertRow{alert, ended}}} {
		if err := s.WriteReviews(ctx, w.stats, w.alerts); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := s.ReviewStats(ctx, "330000", "day")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || !reflect.DeepEqual(stats[0], fixed) {
		t.Errorf("review_stats %+v, want %+v", stats, fixed)
	}
	alerts, err := s.Alerts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ended.TopItems, ended.TopBad = []string{}, []uint64{}
	if want := []chstore.AlertRow{alert, ended}; !reflect.DeepEqual(alerts, want) {
		t.Errorf("alerts %+v, want %+v", alerts, want)
	}
}
