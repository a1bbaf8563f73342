package reviews

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

const zj = "330000"

// at returns a time given in China Standard Time.
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t.Add(-cstOffset)
}

func ev(id string, tm string, data events.Payload) *events.Event {
	e := &events.Event{ID: id, Type: data.EventType(), Region: zj, Time: at(tm), Source: "test", Data: data}
	if err := e.Validate(); err != nil {
		panic(err)
	}
	return e
}

func rated(id, tm string, r int, item string) *events.Event {
	return ev(id, tm, &events.FeedbackRatedData{Rating: r, Channel: events.ChannelWeb, ItemCode: item, Level: events.LevelCity})
}

// scenario is the lifecycle of every path: a baseline month, a review voided on appeal, one kept
// on appeal, one whose appeal is upheld before it arrives, rectifications on time and overdue
// across the National Day holiday, and a burst of bad reviews that raises an alert which ends the
// next hour. skip leaves out events by id (to build the stream in which voided reviews never came).
func scenario(skip map[string]bool) []*events.Event {
	var s []*events.Event
	add := func(e *events.Event) {
		if !skip[e.ID] {
			s = append(s, e)
		}
	}
	for d := 1; d <= 25; d++ {
		for i := range 10 {
			r := 5
			if i == 0 {
				r = 2
			}
			add(rated(fmt.Sprintf("base-%d-%d", d, i), fmt.Sprintf("2024-09-%02d %02d:00", d, 8+i), r, "ITEM-1"))
		}
	}
	add(rated("a", "2024-09-26 10:00", 1, "ITEM-2"))
	add(ev("a-appeal", "2024-09-26 10:30", &events.FeedbackAppealedData{ReviewID: "a", Reason: "恶意差评"}))
	add(rated("b", "2024-09-26 12:00", 2, "ITEM-2"))
	add(ev("b-appeal", "2024-09-26 12:10", &events.FeedbackAppealedData{ReviewID: "b", Reason: "不属实"}))
	add(ev("c-decided", "2024-09-26 13:00", &events.FeedbackAppealDecidedData{ReviewID: "c", Decision: events.Upheld}))
	add(rated("c", "2024-09-26 12:30", 1, "ITEM-3")) // arrives after its appeal was upheld
	add(rated("d", "2024-09-27 09:00", 1, "ITEM-3"))
	add(ev("a-decided", "2024-09-27 09:30", &events.FeedbackAppealDecidedData{ReviewID: "a", Decision: events.Upheld}))
	add(ev("b-decided", "2024-09-27 09:40", &events.FeedbackAppealDecidedData{ReviewID: "b", Decision: events.RejectedAppeal}))
	add(ev("b-open", "2024-09-27 10:00", &events.RectificationOpenedData{ReviewID: "b", DeadlineDays: 5}))
	add(ev("d-open", "2024-09-27 10:00", &events.RectificationOpenedData{ReviewID: "d", DeadlineDays: 3}))
	add(rated("a", "2024-09-26 10:00", 1, "ITEM-2")) // a duplicate of the voided review
	add(rated("e", "2024-10-08 12:00", 5, "ITEM-1"))
	add(ev("b-closed", "2024-10-10 15:00", &events.RectificationClosedData{ReviewID: "b", Resolved: true, Rating: 4}))
	for i := range 10 {
		r := 1
		if i >= 8 {
			r = 5
		}
		add(rated(fmt.Sprintf("burst-%d", i), fmt.Sprintf("2024-10-10 16:%02d", i*5), r, fmt.Sprintf("ITEM-%d", 4+i%2)))
	}
	for i := range 10 {
		r := 5
		if i == 0 {
			r = 1
		}
		add(rated(fmt.Sprintf("calm-%d", i), fmt.Sprintf("2024-10-10 17:%02d", i*5), r, "ITEM-4"))
	}
	add(rated("late-evening", "2024-10-10 19:30", 5, "ITEM-1"))
	return s
}

func run(t *testing.T, stream []*events.Event, stop time.Time) *Tracker {
	t.Helper()
	tr, err := New(Config{AllowedLateness: time.Hour, AppealHorizon: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var wm time.Time
	for _, e := range stream {
		if e.Time.After(stop) {
			break
		}
		if e.Time.After(wm) {
			wm = e.Time
		}
		tr.Apply(e, wm)
	}
	return tr
}

func TestLifecycle(t *testing.T) {
	full := scenario(nil)

	// Before its appeal is upheld, a counts; c, upheld before it came, never does.
	if s := run(t, full, at("2024-09-27 09:00")).Day(zj, at("2024-09-26 00:00")); s.Reviews != 2 || s.Bad != 2 {
		t.Errorf("before the decision on a: %+v, want a and b", s)
	}

	// Before D's deadline (3 working days from 27 September: 29, 30 September and 8 October), its
	// rectification is open, not overdue, although more than 3 calendar days have passed.
	tr := run(t, full, at("2024-10-08 12:00"))
	if s := tr.Day(zj, at("2024-09-27 00:00")); s.Overdue != 0 || s.Opened != 2 {
		t.Errorf("on 8 October: %+v, want 2 opened and none overdue", s)
	}

	tr = run(t, full, at("2024-12-31 00:00"))
	d26 := tr.Day(zj, at("2024-09-26 00:00"))
	if d26.Reviews != 1 || d26.Bad != 1 || d26.Appeals != 3 || d26.AppealsUpheld != 2 {
		t.Errorf("26 September: %+v, want 1 review (b), 1 bad, 3 appeals decided, 2 upheld", d26)
	}
	d27 := tr.Day(zj, at("2024-09-27 00:00"))
	if d27.Reviews != 1 || d27.Opened != 2 || d27.ClosedOnTime != 1 || d27.Overdue != 1 ||
		!slices.Equal(d27.OverdueCases, []string{"d"}) || d27.FollowUps != 1 || d27.FollowUpSum != 4 {
		t.Errorf("27 September: %+v, want b closed on time (5 working days across National Day) and d overdue", d27)
	}
	if r, ok := d27.OnTimeRate(); !ok || r != 0.5 {
		t.Errorf("on-time rate %v %v, want 0.5", r, ok)
	}
	roll := tr.Rolling(zj)
	if roll.Overdue != 1 || roll.ClosedOnTime != 1 {
		t.Errorf("rolling window %v..%v: %+v", roll.Start, roll.End, roll)
	}

	// The results equal those of the stream in which the voided reviews never came.
	without := run(t, scenario(map[string]bool{"a": true, "c": true}), at("2024-12-31 00:00"))
	for day := at("2024-09-01 00:00"); day.Before(at("2024-10-12 00:00")); day = day.Add(24 * time.Hour) {
		got, want := tr.Day(zj, day), without.Day(zj, day)
		if got.Reviews != want.Reviews || got.Bad != want.Bad {
			t.Errorf("%v: %d reviews, %d bad; without the voided reviews %d, %d", day, got.Reviews, got.Bad, want.Reviews, want.Bad)
		}
	}
	if got, want := tr.Rolling(zj), without.Rolling(zj); got.Reviews != want.Reviews || got.Bad != want.Bad {
		t.Errorf("rolling: %+v; without the voided reviews %+v", got, want)
	}

	// The burst raises an alert for 16:00..17:00 and the calm hour after it ends it.
	alerts := tr.TakeAlerts()
	if len(alerts) != 2 {
		t.Fatalf("alerts %+v, want a raise and an end", alerts)
	}
	up, down := alerts[0], alerts[1]
	want := windows.Window{Start: at("2024-10-10 16:00"), End: at("2024-10-10 17:00")}
	if up.Ended || up.Window != want || up.Bad != 8 || up.Reviews != 10 || up.BaselineBad == 0 ||
		len(up.TopItems) != 2 || up.TopItems[0] != (ItemCount{"ITEM-4", 4}) {
		t.Errorf("raised alert %+v", up)
	}
	if !down.Ended || down.ID != up.ID || down.Window.Start != at("2024-10-10 17:00") || down.Bad != 1 {
		t.Errorf("ended alert %+v", down)
	}
	if r := up.Row(7, tr.Watermark()); r.State != "raised" || r.Bad != 8 || r.Factor != DefaultAlertFactor ||
		len(r.TopItems) != 2 || r.TopBad[0] != 4 {
		t.Errorf("alert row %+v", r)
	}
	if r := down.Row(8, tr.Watermark()); r.State != "ended" || r.ID != up.ID {
		t.Errorf("alert row %+v", r)
	}
	msg, err := json.Marshal(up.Row(7, tr.Watermark()))
	if err != nil || !strings.Contains(string(msg), `"state":"raised"`) || !strings.Contains(string(msg), `"top_items":["ITEM-4","ITEM-5"]`) {
		t.Errorf("alert message %s, %v", msg, err)
	}
	if r := d27.Row(PeriodDay, 9, tr.Watermark()); r.Overdue != 1 || r.OnTimeRate == nil || *r.OnTimeRate != 0.5 ||
		r.BadRate == nil || *r.BadRate != 1 || r.FollowUpMean == nil || *r.FollowUpMean != 4 {
		t.Errorf("day row %+v", r)
	}
	if more := tr.TakeAlerts(); len(more) != 0 {
		t.Errorf("alerts taken twice: %+v", more)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{{Window: 36 * time.Hour}, {AlertWindow: 7 * time.Hour}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{AlertWindow: 30 * time.Minute}); err != nil {
		t.Error(err)
	}
}
