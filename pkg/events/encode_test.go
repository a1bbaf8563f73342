package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

func TestMarshalCanonical(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	base := func(typ events.Type, data events.Payload) *events.Event {
		return &events.Event{ID: "e-1", Type: typ, Region: "330000",
			Time: time.Date(2016, 11, 3, 9, 30, 0, 120_000_000, cst), Source: `probe "zj"\x`, Data: data}
	}
	const head = `{"id":"e-1","type":"%s","region":"330000","time":"2016-11-03T01:30:00.12Z","source":"probe \"zj\"\\x","data":`
	verdicts := [8]events.Verdict{events.Correct, events.Correct, events.Missing, events.Correct,
		events.Incorrect, events.Correct, events.Correct, events.Correct}
	cases := []struct {
		e    *events.Event
		data string
	}{
		{base(events.CatalogItem, &events.CatalogItemData{ItemCode: "A", Level: events.LevelCity, Required: true}),
			`{"item_code":"A","level":"city","required":true}`},
		{base(events.ServicePublished, &events.ServicePublishedData{ItemCode: "A", Level: events.LevelProvince,
			Name: "企业设立登记", Department: "省局", Modes: []events.Mode{events.ModeMobile, events.ModeOnlineApply}, Maturity: 2}),
			`{"item_code":"A","level":"province","name":"企业设立登记","department":"省局","modes":["mobile","online_apply"],"maturity":2}`},
		{base(events.ServicePublished, &events.ServicePublishedData{ItemCode: "A", Level: events.LevelProvince,
			Name: "n", Department: "d"}),
			`{"item_code":"A","level":"province","name":"n","department":"d","modes":[],"maturity":0}`},
		{base(events.ServiceWithdrawn, &events.ServiceWithdrawnData{ItemCode: "A", Level: events.LevelTownship}),
			`{"item_code":"A","level":"township"}`},
		{base(events.GuideAudited, &events.GuideAuditedData{ItemCode: "A", Level: events.LevelCounty, Elements: verdicts, Consistent: true}),
			`{"item_code":"A","level":"county","elements":{"basis":"correct","conditions":"correct","materials":"missing","process":"correct","time_limit":"incorrect","fees":"correct","location":"correct","contact":"correct"},"consistent":true}`},
		{base(events.PlatformUpdated, &events.PlatformUpdatedData{Integrated: true, Levels: []events.Level{events.LevelProvince}, Portals: 3}),
			`{"integrated":true,"levels":["province"],"portals":3}`},
		{base(events.PlatformUpdated, &events.PlatformUpdatedData{Portals: 1}),
			`{"integrated":false,"levels":[],"portals":1}`},
		{base(events.FeedbackRated, &events.FeedbackRatedData{Rating: 5, Channel: events.ChannelKiosk}),
			`{"rating":5,"channel":"kiosk"}`},
		{base(events.FeedbackRated, &events.FeedbackRatedData{Rating: 2, Channel: events.ChannelWeb, ItemCode: "A", Level: events.LevelCity}),
			`{"rating":2,"channel":"web","item_code":"A","level":"city"}`},
		{base(events.ApplicationCompleted, &events.ApplicationCompletedData{ItemCode: "A", Level: events.LevelCity,
			Outcome: events.Abandoned, Online: true, Visits: 2}),
			`{"item_code":"A","level":"city","outcome":"abandoned","online":true,"visits":2}`},
		{base(events.ApplicationCompleted, &events.ApplicationCompletedData{ItemCode: "A", Level: events.LevelCity,
			Outcome: events.Completed, Online: true, Timed: true, PromisedDays: 0, TookDays: 3}),
			`{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0,"promised_days":0,"took_days":3}`},
	}
	for _, tc := range cases {
		t.Run(string(tc.e.Type), func(t *testing.T) {
			want := fmt.Sprintf(head, tc.e.Type) + tc.data + "}"
			got, err := tc.e.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Fatalf("MarshalJSON =\n%s\nwant\n%s", got, want)
			}
			appended, err := tc.e.AppendJSON([]byte("x"))
			if err != nil || string(appended) != "x"+want {
				t.Fatalf("AppendJSON = %s, %v", appended, err)
			}
			if !json.Valid(got) {
				t.Fatalf("not valid JSON")
			}
			assertRoundTrip(t, tc.e)
		})
	}
}

func TestAppendJSONInvalid(t *testing.T) {
	e := validEvent()
	e.Data = nil
	dst := []byte("keep")
	got, err := e.AppendJSON(dst)
	if !errors.Is(err, events.ErrInvalid) || string(got) != "keep" {
		t.Fatalf("AppendJSON = %q, %v", got, err)
	}
}

func TestEncodingJSON(t *testing.T) {
	// encoding/json uses MarshalJSON and UnmarshalJSON through pointers.
	in := []*events.Event{validEvent()}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []*events.Event
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !equalEvents(in[0], out[0]) {
		t.Fatalf("got %+v", out)
	}
}
