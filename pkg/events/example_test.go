package events_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

func Example() {
	e := &events.Event{
		ID:     "zj-feedback-000001",
		Type:   events.FeedbackRated,
		Region: "330000",
		Time:   time.Date(2016, 11, 3, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)),
		Source: "probe/zhejiang",
		Data:   &events.FeedbackRatedData{Rating: 5, Channel: events.ChannelMobile},
	}
	if err := e.Validate(); err != nil {
		fmt.Println("invalid:", err)
		return
	}
	b, err := e.MarshalJSON()
	if err != nil {
		fmt.Println("encode:", err)
		return
	}
	fmt.Println(string(b))
	fmt.Println(e.Subject(""))

	_, err = events.Decode([]byte(`{"id":"x","type":"feedback.rated","region":"330000",` +
		`"time":"2016-11-03T09:30:00Z","source":"s","data":{"rating":6,"channel":"web"}}`))
	var ee *events.Error
	if errors.As(err, &ee) {
		fmt.Println(err, "/", ee.Reason, errors.Is(err, events.ErrInvalid))
	}
	// Output:
	// {"id":"zj-feedback-000001","type":"feedback.rated","region":"330000","time":"2016-11-03T01:30:00Z","source":"probe/zhejiang","data":{"rating":5,"channel":"mobile"}}
	// govpulse.events.330000.feedback.rated
	// field data.rating: must be 1..5 / out_of_range true
}
