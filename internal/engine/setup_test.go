package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// cst is China Standard Time, where days begin.
var cst = time.FixedZone("CST", 8*3600)

// base is the start of 2017-03-01 in UTC+8.
var base = time.Date(2017, 3, 1, 0, 0, 0, 0, cst)

func atMin(m int) time.Time { return base.Add(time.Duration(m) * time.Minute).UTC() }

func ev(id, region string, t time.Time, d events.Payload) *events.Event {
	return &events.Event{ID: id, Type: d.EventType(), Region: region, Time: t.UTC(), Source: "test", Data: d}
}

func rated(id, region string, t time.Time, rating int) *events.Event {
	return ev(id, region, t, &events.FeedbackRatedData{Rating: rating, Channel: events.ChannelWeb})
}

func app(id, region string, t time.Time, outcome events.Outcome, online bool) *events.Event {
	return ev(id, region, t, &events.ApplicationCompletedData{ItemCode: "x", Level: events.LevelProvince, Outcome: outcome, Online: online})
}

func published(id, region string, t time.Time, code string, maturity int, modes ...events.Mode) *events.Event {
	return ev(id, region, t, &events.ServicePublishedData{ItemCode: code, Level: events.LevelProvince,
		Name: "n", Department: "d", Modes: modes, Maturity: maturity})
}

func mustNew(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// feed applies events with sequences from..., failing on an unexpected
// outcome.
func feed(t testing.TB, e *Engine, from uint64, evs ...*events.Event) {
	t.Helper()
	for i, x := range evs {
		if r := e.Apply(from+uint64(i), x); r.Outcome != Applied {
			t.Fatalf("Apply(%d, %s) = %v %s", from+uint64(i), x.ID, r.Outcome, r.Reason)
		}
	}
}

func scoreOf(t testing.TB, e *Engine, region string) (s scoreView) {
	t.Helper()
	for _, x := range e.Scores() {
		if x.Region == region {
			return scoreView{x.Version, x.Composite, x.OnlineMaturity, x.Ratings, x.RatingSum, x.Applications, x.PublishedItems}
		}
	}
	t.Fatalf("no score for %s", region)
	return
}

// scoreView is the part of a score most tests look at.
type scoreView struct {
	Version                  uint64
	Composite, Maturity      float64
	Ratings, RatingSum, Apps int64
	Published                int64
}

func (s scoreView) String() string {
	type plain scoreView // without the String method
	return fmt.Sprintf("%+v", plain(s))
}
