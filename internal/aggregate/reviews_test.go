package aggregate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// TestReviewLifecycle runs every path of the lifecycle of reviews (好差评) through the aggregator,
// with real NATS and ClickHouse, stopped and started again halfway (from its checkpoint): a review
// voided on appeal, one kept on appeal, one whose appeal is upheld before it arrives,
// rectifications on time and overdue across the National Day holiday of 2024, and a burst of bad
// reviews that raises an alert which the next hour ends. It compares the stored review_stats and
// alerts rows, the published alerts and the satisfaction of the latest score with hand-worked
// expectations.
func TestReviewLifecycle(t *testing.T) {
	cfg := Config{FlushInterval: 50 * time.Millisecond, CheckpointInterval: time.Millisecond, AllowedLateness: time.Hour}
	svc, js, store, _ := setupWithConn(t, cfg)
	ctx := t.Context()
	const zj = "330000"
	cst := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		x, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return x.UTC()
	}
	var stream []*events.Event
	seq := map[string]uint64{} // event id -> stream sequence
	add := func(id, tm string, d events.Payload) {
		stream = append(stream, &events.Event{ID: id, Type: d.EventType(), Region: zj, Time: at(tm), Source: "test", Data: d})
		seq[id] = uint64(len(stream))
	}
	rate := func(id, tm string, r int, item string) {
		add(id, tm, &events.FeedbackRatedData{Rating: r, Channel: events.ChannelWeb, ItemCode: item, Level: events.LevelCity})
	}
	// A baseline: 1..25 September, ten reviews a day, one of them bad.
	for d := 1; d <= 25; d++ {
		for i := range 10 {
			r := 5
			if i == 0 {
				r = 2
			}
			rate(fmt.Sprintf("base-%d-%d", d, i), fmt.Sprintf("2024-09-%02d %02d:00", d, 8+i), r, "ITEM-1")
		}
	}
	rate("a", "2024-09-26 10:00", 1, "ITEM-2")
	add("a-appeal", "2024-09-26 10:30", &events.FeedbackAppealedData{ReviewID: "a", Reason: "恶意差评"})
	rate("b", "2024-09-26 12:00", 2, "ITEM-2")
	add("b-appeal", "2024-09-26 12:10", &events.FeedbackAppealedData{ReviewID: "b", Reason: "不属实"})
	add("c-decided", "2024-09-26 13:00", &events.FeedbackAppealDecidedData{ReviewID: "c", Decision: events.Upheld})
	rate("c", "2024-09-26 12:30", 1, "ITEM-3") // after its appeal was upheld: never counted
	rate("d", "2024-09-27 09:00", 1, "ITEM-3")
	add("a-decided", "2024-09-27 09:30", &events.FeedbackAppealDecidedData{ReviewID: "a", Decision: events.Upheld})
	add("b-decided", "2024-09-27 09:40", &events.FeedbackAppealDecidedData{ReviewID: "b", Decision: events.RejectedAppeal})
	// b: 5 working days from Friday 27 September: 29 (a Sunday worked), 30 September, then after
	// the holiday (1..7 October) 8, 9, 10 October: due by the end of 10 October.
	add("b-open", "2024-09-27 10:00", &events.RectificationOpenedData{ReviewID: "b", DeadlineDays: 5})
	// d: 3 working days: 29, 30 September, 8 October: due by the end of 8 October, never closed.
	add("d-open", "2024-09-27 10:00", &events.RectificationOpenedData{ReviewID: "d", DeadlineDays: 3})
	half := len(stream)
	rate("e", "2024-10-08 12:00", 5, "ITEM-1")
	add("b-closed", "2024-10-10 15:00", &events.RectificationClosedData{ReviewID: "b", Resolved: true, Rating: 4})
	for i := range 10 { // 16:00..16:45: eight bad reviews of ITEM-4 and ITEM-5
		r := 1
		if i >= 8 {
			r = 5
		}
		rate(fmt.Sprintf("burst-%d", i), fmt.Sprintf("2024-10-10 16:%02d", i*5), r, fmt.Sprintf("ITEM-%d", 4+i%2))
	}
	for i := range 10 { // 17:00..17:45: one bad review
		r := 5
		if i == 0 {
			r = 1
		}
		rate(fmt.Sprintf("calm-%d", i), fmt.Sprintf("2024-10-10 17:%02d", i*5), r, "ITEM-4")
	}
	// Its watermark (19:20) makes both hours final (their end plus the allowed lateness).
	rate("late-evening", "2024-10-10 19:30", 5, "ITEM-1")

	var (
		mu       sync.Mutex
		messages []chstore.AlertRow
		ids      []string
	)
	sub, err := js.Conn().Subscribe(natsjs.Names{}.AlertSubjects(), func(m *nats.Msg) {
		var a chstore.AlertRow
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Errorf("alert %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		messages = append(messages, a)
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	// The first half, then a stop (its final checkpoint), then a new aggregator from it.
	for _, e := range stream[:half] {
		publish(t, js, e)
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		rows, err := store.ReviewStats(ctx, zj, "day")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Version == uint64(half) {
				return nil
			}
		}
		return fmt.Errorf("no review_stats row at version %d yet: %d rows", half, len(rows))
	})
	stop()
	svc, err = New(cfg, js, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range stream[half:] {
		publish(t, js, e)
	}
	stop = testwait.Run(t, "aggregator", svc.Run)
	defer stop()

	ptr := func(v float64) *float64 { return &v }
	last := uint64(len(stream))
	day := func(d string, version uint64, asOf string) chstore.ReviewStatRow {
		return chstore.ReviewStatRow{Region: zj, Period: "day", PeriodStart: at(d + " 00:00"),
			PeriodEnd: at(d + " 00:00").Add(24 * time.Hour), Version: version, AsOf: at(asOf).Add(-10 * time.Minute)}
	}
	// 26 September: b alone counts (a voided after it came, c before); three appeals decided on
	// the day's reviews, two upheld. Last changed by the decision on b.
	d26 := day("2024-09-26", seq["b-decided"], "2024-09-27 09:40")
	d26.Reviews, d26.Bad, d26.BadRate, d26.Appeals, d26.AppealsUpheld, d26.OverdueCases = 1, 1, ptr(1), 3, 2, []string{}
	// 27 September: d; the rectifications of b (closed on time across the holiday, rated 4) and d
	// (overdue since the end of 8 October). Last changed by b's closing, whose watermark also
	// passed d's deadline.
	d27 := day("2024-09-27", seq["b-closed"], "2024-10-10 15:00")
	d27.Reviews, d27.Bad, d27.BadRate = 1, 1, ptr(1)
	d27.Opened, d27.ClosedOnTime, d27.Overdue, d27.OverdueCases, d27.OnTimeRate = 2, 1, 1, []string{"d"}, ptr(0.5)
	d27.FollowUps, d27.FollowUpSum, d27.FollowUpMean = 1, 4, ptr(4)
	// The rolling window of the last day, 11 September .. 10 October: 15 baseline days (150
	// reviews, 15 bad), b, d, e, the burst (8 bad of 10), the calm hour (1 of 10), late-evening.
	roll := chstore.ReviewStatRow{Region: zj, Period: "rolling", PeriodStart: at("2024-09-11 00:00"),
		PeriodEnd: at("2024-10-11 00:00"), Version: last, AsOf: at("2024-10-10 19:20"),
		Reviews: 174, Bad: 26, BadRate: ptr(26.0 / 174), Appeals: 3, AppealsUpheld: 2,
		Opened: 2, ClosedOnTime: 1, Overdue: 1, OverdueCases: []string{"d"}, OnTimeRate: ptr(0.5),
		FollowUps: 1, FollowUpSum: 4, FollowUpMean: ptr(4)}
	// The alert: 16:00..17:00 (08:00 UTC) raised with 8 bad of 10 against the baseline of the
	// rolling window before late-evening (26 bad of 173), ended by 17:00..18:00 (1 of 10).
	id := zj + "/2024-10-10T08:00:00Z"
	raised := chstore.AlertRow{Region: zj, ID: id, State: "raised", WindowStart: at("2024-10-10 16:00"),
		WindowEnd: at("2024-10-10 17:00"), Bad: 8, Reviews: 10, BaselineBad: 26, BaselineReviews: 173, Factor: 2,
		MinCount: 5, TopItems: []string{"ITEM-4", "ITEM-5"}, TopBad: []uint64{4, 4}, Version: last,
		RecordedAt: at("2024-10-10 19:20")}
	ended := chstore.AlertRow{Region: zj, ID: id, State: "ended", WindowStart: at("2024-10-10 17:00"),
		WindowEnd: at("2024-10-10 18:00"), Bad: 1, Reviews: 10, BaselineBad: 26, BaselineReviews: 173, Factor: 2,
		MinCount: 5, TopItems: []string{}, TopBad: []uint64{}, Version: last, RecordedAt: at("2024-10-10 19:20")}

	testwait.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		days, err := store.ReviewStats(ctx, zj, "day")
		if err != nil {
			return err
		}
		got := map[string]chstore.ReviewStatRow{}
		for _, r := range days {
			got[r.PeriodStart.Format(time.DateOnly)] = r
		}
		for _, w := range []chstore.ReviewStatRow{d26, d27} {
			g := got[w.PeriodStart.Format(time.DateOnly)]
			if !reflect.DeepEqual(g, w) {
				return fmt.Errorf("day row\n%s\nwant\n%s", show(g), show(w))
			}
		}
		rolls, err := store.ReviewStats(ctx, zj, "rolling")
		if err != nil {
			return err
		}
		if len(rolls) == 0 || !reflect.DeepEqual(rolls[len(rolls)-1], roll) {
			return fmt.Errorf("%d rolling rows, the last\n%s\nwant\n%s", len(rolls), show(rolls), show(roll))
		}
		alerts, err := store.Alerts(ctx, zj)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(alerts, []chstore.AlertRow{raised, ended}) {
			return fmt.Errorf("alerts\n%s\nwant\n%s", show(alerts), show([]chstore.AlertRow{raised, ended}))
		}
		return nil
	})
	// Every day has its row; the days between 28 September and 7 October, without events, none.
	days, err := store.ReviewStats(ctx, zj, "day")
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, r := range days {
		dates = append(dates, r.PeriodStart.In(cst).Format("01-02"))
	}
	if want := []string{"09-25", "09-26", "09-27", "10-08", "10-10"}; !slices.Equal(dates[len(dates)-5:], want) || len(dates) != 25+4 {
		t.Errorf("day rows of %v", dates)
	}

	// Method 2017 counts 174 ratings: the voided a and c are not among them. The scores are
	// written in the same wave as the review rows, concurrently: wait for them too.
	testwait.For(t, 10*time.Second, 50*time.Millisecond, func() error {
		scores, err := store.LatestScores(ctx)
		if err != nil {
			return err
		}
		for _, sc := range scores {
			if sc.Region == zj && (sc.Ratings != 174 || sc.Version != last) {
				return fmt.Errorf("latest score of %s: %d ratings at version %d, want 174 at %d", zj, sc.Ratings, sc.Version, last)
			}
		}
		return nil
	})

	testwait.For(t, 10*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(messages) != 2 {
			return fmt.Errorf("%d alert messages", len(messages))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	raised.TopItems, ended.TopItems, ended.TopBad = []string{"ITEM-4", "ITEM-5"}, nil, nil
	if !reflect.DeepEqual(messages, []chstore.AlertRow{raised, ended}) ||
		!slices.Equal(ids, []string{"alert-" + id + "-raised", "alert-" + id + "-ended"}) {
		t.Errorf("alert messages %s with ids %q", show(messages), ids)
	}
}

// show renders rows for a failure message.
func show(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestAppealPastHorizon runs an upheld appeal decided past the appeal horizon through the
// aggregator, with real NATS and ClickHouse: the decision is stored in events and in late_events
// with the reason, the review stays in the unit's score, and the appeal counts as upheld in
// review_stats.
func TestAppealPastHorizon(t *testing.T) {
	cfg := Config{FlushInterval: 50 * time.Millisecond, AppealHorizon: time.Hour}
	svc, js, store, _ := setupWithConn(t, cfg)
	ctx := t.Context()
	const zj = "330000"
	t0 := time.Date(2024, 9, 26, 2, 0, 0, 0, time.UTC)
	stream := []*events.Event{
		{ID: "r", Type: events.FeedbackRated, Region: zj, Time: t0, Source: "test",
			Data: &events.FeedbackRatedData{Rating: 1, Channel: events.ChannelWeb}},
		{ID: "d", Type: events.FeedbackAppealDecided, Region: zj, Time: t0.Add(3 * time.Hour), Source: "test",
			Data: &events.FeedbackAppealDecidedData{ReviewID: "r", Decision: events.Upheld}},
	}
	for _, e := range stream {
		publish(t, js, e)
	}
	defer testwait.Run(t, "aggregator", svc.Run)()
	testwait.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		late, err := store.LateEvents(ctx, zj)
		if err != nil {
			return err
		}
		if len(late) != 1 || late[0].ID != "d" || late[0].StreamSeq != 2 ||
			!strings.Contains(late[0].Reason, "appeal horizon 1h0m0s") || !strings.Contains(late[0].Reason, "stays counted") {
			return fmt.Errorf("late events %s, want the decision d past the appeal horizon", show(late))
		}
		scores, err := store.LatestScores(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(scores, func(s chstore.ScoreRow) bool { return s.Region == zj })
		if i < 0 || scores[i].Version != 2 || scores[i].Ratings != 1 {
			return fmt.Errorf("score of %s: %s, want the review still counted at version 2", zj, show(scores))
		}
		days, err := store.ReviewStats(ctx, zj, "day")
		if err != nil {
			return err
		}
		if len(days) != 1 || days[0].Reviews != 1 || days[0].Appeals != 1 || days[0].AppealsUpheld != 1 {
			return fmt.Errorf("review_stats %s, want the review counted and its appeal upheld", show(days))
		}
		return nil
	})
}
