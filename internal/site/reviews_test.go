package site

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
)

// TestReviewsAPI stores review_stats and alerts rows as the aggregator does and reads them back
// through /api/v1/regions/{code}/reviews and /api/v1/alerts.
func TestReviewsAPI(t *testing.T) {
	const zj = "330000"
	e := start(t, Config{})
	day := func(d int) time.Time { return time.Date(2024, 9, d, 16, 0, 0, 0, time.UTC) }
	half, one := 0.5, 1.0
	rows := []chstore.ReviewStatRow{
		{Region: zj, Period: "day", PeriodStart: day(25), PeriodEnd: day(26), Version: 5, Reviews: 1, Bad: 1, BadRate: &one,
			Appeals: 3, AppealsUpheld: 2, AsOf: day(26)},
		{Region: zj, Period: "day", PeriodStart: day(26), PeriodEnd: day(27), Version: 9, Reviews: 1, Bad: 1, BadRate: &one,
			Opened: 2, ClosedOnTime: 1, Overdue: 1, OverdueCases: []string{"d"}, OnTimeRate: &half, AsOf: day(27)},
		{Region: zj, Period: "rolling", PeriodStart: day(1), PeriodEnd: day(30), Version: 9, Reviews: 2, Bad: 2, BadRate: &one,
			Opened: 2, ClosedOnTime: 1, Overdue: 1, OverdueCases: []string{"d"}, OnTimeRate: &half, FollowUps: 1,
			FollowUpSum: 4, FollowUpMean: func() *float64 { v := 4.0; return &v }(), AsOf: day(27)},
	}
	alerts := []chstore.AlertRow{
		{Region: zj, ID: zj + "/2024-10-10T08:00:00Z", State: "raised", WindowStart: day(10).Add(-8 * time.Hour),
			WindowEnd: day(10).Add(-7 * time.Hour), Bad: 8, Reviews: 10, BaselineBad: 26, BaselineReviews: 173, Factor: 2,
			MinCount: 5, TopItems: []string{"ITEM-4"}, TopBad: []uint64{8}, Version: 10, RecordedAt: day(10)},
		{Region: zj, ID: zj + "/2024-10-10T08:00:00Z", State: "ended", WindowStart: day(10).Add(-7 * time.Hour),
			WindowEnd: day(10).Add(-6 * time.Hour), Bad: 1, Reviews: 10, BaselineBad: 26, BaselineReviews: 173, Factor: 2,
			MinCount: 5, Version: 10, RecordedAt: day(10)},
	}
	if err := e.store.WriteReviews(t.Context(), rows, alerts); err != nil {
		t.Fatal(err)
	}
	var got Reviews
	if resp, body := e.get("/api/v1/regions/"+zj+"/reviews", &got); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got.Rolling == nil || got.Rolling.Reviews != 2 || got.Rolling.FollowUpMean == nil || *got.Rolling.FollowUpMean != 4 ||
		!reflect.DeepEqual(got.Rolling.OverdueCases, []string{"d"}) {
		t.Errorf("rolling %+v", got.Rolling)
	}
	if len(got.Days) != 2 || !got.Days[0].Start.Equal(day(26)) || got.Days[0].Overdue != 1 || got.Days[1].AppealsUpheld != 2 ||
		got.Days[1].OverdueCases == nil {
		t.Errorf("days %+v", got.Days)
	}
	if len(got.Alerts) != 2 || got.Alerts[0].State != "ended" || got.Alerts[1].TopBad[0] != 8 {
		t.Errorf("alerts %+v", got.Alerts)
	}
	var all Alerts
	if resp, body := e.get("/api/v1/alerts", &all); resp.StatusCode != http.StatusOK || len(all.Alerts) != 2 ||
		all.Alerts[0].TopItems == nil {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	if resp, body := e.get("/api/v1/alerts?region=110000", &all); resp.StatusCode != http.StatusOK || len(all.Alerts) != 0 {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	for path, status := range map[string]int{
		"/api/v1/regions/999999/reviews":     http.StatusNotFound,
		"/api/v1/regions/330000/reviews?x=1": http.StatusBadRequest,
		"/api/v1/alerts?region=999999":       http.StatusNotFound,
		"/api/v1/alerts?x=1":                 http.StatusBadRequest,
	} {
		if resp, body := e.get(path, nil); resp.StatusCode != status {
			t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, body, status)
		}
	}
	var empty Reviews
	if resp, body := e.get("/api/v1/regions/110000/reviews", &empty); resp.StatusCode != http.StatusOK || empty.Rolling != nil ||
		empty.Days == nil || empty.Alerts == nil {
		t.Errorf("a unit without reviews: %d %s", resp.StatusCode, body)
	}
}
