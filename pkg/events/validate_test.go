package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

func validEvent() *events.Event {
	return &events.Event{
		ID: "zj-feedback-1", Type: events.FeedbackRated, Region: "330000",
		Time:   time.Date(2016, 11, 3, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)),
		Source: "probe/zhejiang",
		Data:   &events.FeedbackRatedData{Rating: 4, Channel: events.ChannelWeb},
	}
}

func TestValidate(t *testing.T) {
	var allElements [8]events.Verdict
	for i := range allElements {
		allElements[i] = events.Correct
	}
	cases := []struct {
		name   string
		edit   func(e *events.Event)
		field  string
		reason string
	}{
		{"valid", func(*events.Event) {}, "", ""},
		{"empty id", func(e *events.Event) { e.ID = "" }, "id", events.ReasonEmpty},
		{"long id", func(e *events.Event) { e.ID = strings.Repeat("i", 129) }, "id", events.ReasonTooLong},
		{"id with NUL", func(e *events.Event) { e.ID = "a\x00" }, "id", events.ReasonBadFormat},
		{"empty type", func(e *events.Event) { e.Type = "" }, "type", events.ReasonUnknownType},
		{"unknown region", func(e *events.Event) { e.Region = "990000" }, "region", events.ReasonUnknownRegion},
		{"zero time", func(e *events.Event) { e.Time = time.Time{} }, "time", events.ReasonBadTime},
		{"time before 2000", func(e *events.Event) { e.Time = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC) }, "time", events.ReasonBadTime},
		{"time after 9999", func(e *events.Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "time", events.ReasonBadTime},
		{"source invalid UTF-8", func(e *events.Event) { e.Source = "a\xffb" }, "source", events.ReasonInvalidUTF8},
		{"source NUL", func(e *events.Event) { e.Source = "a\x00b" }, "source", events.ReasonControlChar},
		{"source 201 code points", func(e *events.Event) { e.Source = strings.Repeat("源", 201) }, "source", events.ReasonTooLong},
		{"nil data", func(e *events.Event) { e.Data = nil }, "data", events.ReasonMissingField},
		{"typed nil data", func(e *events.Event) { e.Data = (*events.FeedbackRatedData)(nil) }, "data", events.ReasonMissingField},
		{"data of another type", func(e *events.Event) { e.Data = &events.CatalogItemData{ItemCode: "A", Level: events.LevelCity} }, "data", events.ReasonWrongType},
		{"foreign payload", func(e *events.Event) { e.Type = "x.y"; e.Data = foreign{} }, "type", events.ReasonUnknownType},
		{"rating 0", func(e *events.Event) { e.Data = &events.FeedbackRatedData{Channel: events.ChannelWeb} }, "data.rating", events.ReasonOutOfRange},
		{"channel empty", func(e *events.Event) { e.Data = &events.FeedbackRatedData{Rating: 1} }, "data.channel", events.ReasonUnknownValue},
		{"feedback only item", func(e *events.Event) {
			e.Data = &events.FeedbackRatedData{Rating: 1, Channel: events.ChannelHall, ItemCode: "A"}
		}, "data.level", events.ReasonMissingField},
		{"feedback only level", func(e *events.Event) {
			e.Data = &events.FeedbackRatedData{Rating: 1, Channel: events.ChannelHall, Level: events.LevelCity}
		}, "data.item_code", events.ReasonMissingField},
		{"feedback with item", func(e *events.Event) {
			e.Data = &events.FeedbackRatedData{Rating: 1, Channel: events.ChannelHall, ItemCode: "A", Level: events.LevelCity}
		}, "", ""},
		{"published nil modes", func(e *events.Event) {
			e.Type = events.ServicePublished
			e.Data = &events.ServicePublishedData{ItemCode: "A", Level: events.LevelCounty, Name: "n", Department: "d"}
		}, "", ""},
		{"published repeated mode", func(e *events.Event) {
			e.Type = events.ServicePublished
			e.Data = &events.ServicePublishedData{ItemCode: "A", Level: events.LevelCounty, Name: "n", Department: "d",
				Modes: []events.Mode{events.ModeMobile, events.ModeEvaluation, events.ModeMobile}}
		}, "data.modes[2]", events.ReasonDuplicateValue},
		{"guide zero verdicts", func(e *events.Event) {
			e.Type = events.GuideAudited
			e.Data = &events.GuideAuditedData{ItemCode: "A", Level: events.LevelCity}
		}, "data.elements.basis", events.ReasonUnknownValue},
		{"guide all correct", func(e *events.Event) {
			e.Type = events.GuideAudited
			e.Data = &events.GuideAuditedData{ItemCode: "A", Level: events.LevelCity, Elements: allElements}
		}, "", ""},
		{"platform zero portals", func(e *events.Event) {
			e.Type = events.PlatformUpdated
			e.Data = &events.PlatformUpdatedData{}
		}, "data.portals", events.ReasonOutOfRange},
		{"application empty outcome", func(e *events.Event) {
			e.Type = events.ApplicationCompleted
			e.Data = &events.ApplicationCompletedData{ItemCode: "A", Level: events.LevelCity}
		}, "data.outcome", events.ReasonUnknownValue},
		{"application timed", func(e *events.Event) {
			e.Type = events.ApplicationCompleted
			e.Data = &events.ApplicationCompletedData{ItemCode: "A", Level: events.LevelCity, Outcome: events.Completed,
				Timed: true, PromisedDays: 3, TookDays: 4}
		}, "", ""},
		{"application days without Timed", func(e *events.Event) {
			e.Type = events.ApplicationCompleted
			e.Data = &events.ApplicationCompletedData{ItemCode: "A", Level: events.LevelCity, Outcome: events.Completed,
				TookDays: 4}
		}, "data.promised_days", events.ReasonOutOfRange},
		{"application took too long", func(e *events.Event) {
			e.Type = events.ApplicationCompleted
			e.Data = &events.ApplicationCompletedData{ItemCode: "A", Level: events.LevelCity, Outcome: events.Completed,
				Timed: true, PromisedDays: 3, TookDays: 4000}
		}, "data.took_days", events.ReasonOutOfRange},
		{"withdrawn bad item code", func(e *events.Event) {
			e.Type = events.ServiceWithdrawn
			e.Data = &events.ServiceWithdrawnData{ItemCode: "A B", Level: events.LevelCity}
		}, "data.item_code", events.ReasonBadFormat},
		{"feedback review record", func(e *events.Event) {
			e.Data = &events.FeedbackRatedData{Rating: 2, Channel: events.ChannelWeb, CaseNumber: "C-1",
				ItemVersion: "3", DetailCodes: []string{"slow"}, Comment: "慢"}
		}, "", ""},
		{"feedback empty detail code", func(e *events.Event) {
			e.Data = &events.FeedbackRatedData{Rating: 2, Channel: events.ChannelWeb, DetailCodes: []string{"a", ""}}
		}, "data.detail_codes[1]", events.ReasonEmpty},
		{"feedback long comment", func(e *events.Event) {
			e.Data = &events.FeedbackRatedData{Rating: 2, Channel: events.ChannelWeb, Comment: strings.Repeat("x", 501)}
		}, "data.comment", events.ReasonTooLong},
		{"appealed", func(e *events.Event) {
			e.Type, e.Data = events.FeedbackAppealed, &events.FeedbackAppealedData{ReviewID: "r", Reason: "x"}
		}, "", ""},
		{"appealed no review", func(e *events.Event) {
			e.Type, e.Data = events.FeedbackAppealed, &events.FeedbackAppealedData{Reason: "x"}
		}, "data.review_id", events.ReasonEmpty},
		{"decided no decision", func(e *events.Event) {
			e.Type, e.Data = events.FeedbackAppealDecided, &events.FeedbackAppealDecidedData{ReviewID: "r"}
		}, "data.decision", events.ReasonUnknownValue},
		{"opened no deadline", func(e *events.Event) {
			e.Type, e.Data = events.RectificationOpened, &events.RectificationOpenedData{ReviewID: "r"}
		}, "data.deadline_days", events.ReasonOutOfRange},
		{"closed no rating", func(e *events.Event) {
			e.Type, e.Data = events.RectificationClosed, &events.RectificationClosedData{ReviewID: "r"}
		}, "", ""},
		{"closed rating 7", func(e *events.Event) {
			e.Type, e.Data = events.RectificationClosed, &events.RectificationClosedData{ReviewID: "r", Rating: 7}
		}, "data.rating", events.ReasonOutOfRange},
		{"typed nil lifecycle", func(e *events.Event) {
			e.Type, e.Data = events.RectificationClosed, (*events.RectificationClosedData)(nil)
		}, "data", events.ReasonMissingField},
		{"catalog bad level", func(e *events.Event) {
			e.Type = events.CatalogItem
			e.Data = &events.CatalogItemData{ItemCode: "A", Level: "nation"}
		}, "data.level", events.ReasonUnknownValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := validEvent()
			tc.edit(e)
			err := e.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				assertRoundTrip(t, e)
				return
			}
			var ee *events.Error
			if !errors.As(err, &ee) || !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("Validate = %v, want an *events.Error", err)
			}
			if ee.Field != tc.field || ee.Reason != tc.reason {
				t.Errorf("got field %q reason %q (%v); want %q %q", ee.Field, ee.Reason, err, tc.field, tc.reason)
			}
			if _, err := e.MarshalJSON(); !errors.Is(err, events.ErrInvalid) {
				t.Errorf("MarshalJSON of an invalid event = %v", err)
			}
		})
	}
}

type foreign struct{}

func (foreign) EventType() events.Type { return "x.y" }

func TestValidateForeignPayload(t *testing.T) {
	e := validEvent()
	e.Data = foreignRated{}
	var ee *events.Error
	if err := e.Validate(); !errors.As(err, &ee) || ee.Field != "data" || ee.Reason != events.ReasonWrongType {
		t.Errorf("Validate = %v", err)
	}
}

type foreignRated struct{}

func (foreignRated) EventType() events.Type { return events.FeedbackRated }

func TestError(t *testing.T) {
	err := error(&events.Error{Field: "data.rating", Rule: "must be 1..5", Reason: events.ReasonOutOfRange})
	if got := err.Error(); got != "field data.rating: must be 1..5" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := errors.Join(errors.New("ingest"), err)
	if !errors.Is(wrapped, events.ErrInvalid) {
		t.Errorf("wrapped error does not match ErrInvalid")
	}
	if errors.Is(errors.New("other"), events.ErrInvalid) {
		t.Errorf("unrelated error matches ErrInvalid")
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2016, 11, 3, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		t    time.Time
		ok   bool
	}{
		{"now", now, true},
		{"past", now.Add(-24 * time.Hour), true},
		{"exactly max ahead", now.Add(5 * time.Minute), true},
		{"1ns beyond max ahead", now.Add(5*time.Minute + 1), false},
		{"2000-01-01", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"before 2000", time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), false},
		{"zero", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := events.CheckTime(tc.t, now, 5*time.Minute)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckTime = %v", err)
				}
				return
			}
			var ee *events.Error
			if !errors.As(err, &ee) || ee.Field != "time" || ee.Reason != events.ReasonBadTime ||
				!errors.Is(err, events.ErrInvalid) {
				t.Fatalf("CheckTime = %#v", err)
			}
		})
	}
}
