package scoring_test

import (
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestDescribe(t *testing.T) {
	at := time.Date(2016, 12, 1, 8, 0, 0, 0, time.UTC)
	audit := func(n int, consistent bool) *events.GuideAuditedData {
		g := &events.GuideAuditedData{ItemCode: "A07", Level: events.LevelProvince, Consistent: consistent}
		for i := range g.Elements {
			g.Elements[i] = events.Missing
			if i < n {
				g.Elements[i] = events.Correct
			}
		}
		return g
	}
	pub := func(modes, maturity int) *events.ServicePublishedData {
		return &events.ServicePublishedData{ItemCode: "X12", Level: events.LevelCity, Name: "n", Department: "d",
			Modes: events.Modes()[:modes], Maturity: maturity}
	}
	// Each step is described against the state the steps before it left.
	steps := []struct {
		data events.Payload
		want string
	}{
		{pub(5, 3), "city/X12 published, 5 of 8 modes, maturity 3"},
		{pub(6, 4), "city/X12 published, 6 of 8 modes, maturity 4 (was 5 modes, maturity 3)"},
		{&events.ServiceWithdrawnData{ItemCode: "X12", Level: events.LevelCity}, "city/X12 withdrawn"},
		{audit(6, true), "guide of province/A07 audited: 6 correct elements"},
		{audit(8, false), "guide of province/A07 re-audited: 6 → 8 correct elements, inconsistent"},
		{&events.CatalogItemData{ItemCode: "X12", Level: events.LevelCity, Required: true}, "city/X12 catalogued, required"},
		{&events.CatalogItemData{ItemCode: "X12", Level: events.LevelCity}, "city/X12 catalogued, not required (changed)"},
		{&events.PlatformUpdatedData{Integrated: true, Levels: events.Levels()[:3], Portals: 12}, "platform: 3 levels joined, integrated, 12 portals"},
		{&events.FeedbackRatedData{Rating: 4, Channel: events.ChannelWeb}, ""},
	}
	r := scoring.NewRegion("330000", "浙江省", "Zhejiang")
	for i, s := range steps {
		ev := &events.Event{ID: "e" + string(rune('a'+i)), Type: s.data.EventType(), Region: "330000",
			Time: at.Add(time.Duration(i) * time.Hour), Source: "t", Data: s.data}
		if got := r.Describe(ev); got != s.want {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
		r.Apply(ev)
	}
	other := &events.Event{ID: "x", Type: events.ServiceWithdrawn, Region: "110000", Time: at, Source: "t",
		Data: &events.ServiceWithdrawnData{ItemCode: "X12", Level: events.LevelCity}}
	if got := r.Describe(other); got != "" {
		t.Errorf("another unit's event: %q", got)
	}
}
