package engine

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/pkg/events"
)

func on(e *events.Event, portal string) *events.Event {
	switch d := e.Data.(type) {
	case *events.ServicePublishedData:
		d.Portal = portal
	case *events.ServiceWithdrawnData:
		d.Portal = portal
	}
	return e
}

// TestPortals checks the engine's part in the portal state: every portal
// change reaches its unit's portals, Drain returns the inconsistencies and
// measures, a snapshot keeps them, method 2017 sees the newest writer
// across portals, and a portal beyond the bound is OverLimit.
func TestPortals(t *testing.T) {
	cfg := Config{Regions: []string{"330000", "110000"}}
	e := mustNew(t, cfg)
	feed(t, e, 1,
		published("p1", "330000", atMin(0), "A1", 3),
		on(published("p2", "330000", atMin(1), "A1", 2), "app.zj"),
	)
	out := e.Drain()
	if len(out.Inconsistencies) != 1 || out.Inconsistencies[0].Fields[0] != (portals.Field{Name: "maturity", A: "3", B: "2"}) ||
		out.Inconsistencies[0].OpenedVersion != 2 || !out.Inconsistencies[0].OpenedAt.Equal(atMin(1)) {
		t.Fatalf("inconsistencies %+v", out.Inconsistencies)
	}
	if len(out.PortalMeasures) != 1 || out.PortalMeasures[0].Portals != 2 || out.PortalMeasures[0].Open != 1 {
		t.Fatalf("measures %+v", out.PortalMeasures)
	}
	// Method 2017: the item's service is the newest writer across portals.
	if s := out.Scores[1]; s.Region != "330000" || s.MaturityTotal != 2 || s.PublishedItems != 1 {
		t.Fatalf("score %+v", s)
	}

	r, err := Restore(cfg, e.AppendSnapshot(nil))
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for _, x := range []*Engine{e, r} {
		feed(t, x, 3, on(published("p3", "330000", atMin(5), "A1", 3), "app.zj"))
		got := x.Drain()
		want := portals.Inconsistency{Region: "330000", Level: "province", ItemCode: "A1", PortalA: "", PortalB: "app.zj",
			Fields: []portals.Field{{Name: "maturity", A: "3", B: "2"}}, OpenedAt: atMin(1), OpenedVersion: 2,
			ClosedAt: atMin(5), ClosedVersion: 3, Version: 3}
		if !reflect.DeepEqual(got.Inconsistencies, []portals.Inconsistency{want}) {
			t.Fatalf("after the snapshot: %+v", got.Inconsistencies)
		}
	}

	for i := 3; i <= portals.DefaultMaxPortals; i++ {
		feed(t, e, uint64(2+i), on(published(fmt.Sprintf("q%d", i), "330000", atMin(6), "A1", 3), fmt.Sprintf("p%02d", i)))
	}
	res := e.Apply(100, on(published("over", "330000", atMin(7), "A1", 1), "one.too.many"))
	if res.Outcome != OverLimit {
		t.Fatalf("portal beyond the bound: %v %s", res.Outcome, res.Reason)
	}
	if m := e.regions[e.index["330000"]].portals.Measures(); m.Portals != portals.DefaultMaxPortals {
		t.Fatalf("portals %d", m.Portals)
	}
}

// TestPortalLimitsConfigured checks that Config.PortalLimits bound the
// portal state: with two portals and two items per portal, a third portal
// and a third item of a portal are OverLimit with their reasons, change
// neither the portals nor method 2017, and a known portal's known item is
// still applied.
func TestPortalLimitsConfigured(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{"330000"}, PortalLimits: portals.Limits{MaxPortals: 2, MaxItemsPerPortal: 2}})
	feed(t, e, 1,
		published("l1", "330000", atMin(0), "A1", 1),
		published("l2", "330000", atMin(1), "A2", 1),
		on(published("l3", "330000", atMin(2), "A1", 2), "app"),
	)
	for _, tt := range []struct {
		seq    uint64
		ev     *events.Event
		reason string
	}{
		{4, on(published("x1", "330000", atMin(3), "A1", 3), "mini"), `region 330000 already has 2 portals, the limit: portal "mini" is not added`},
		{5, published("x2", "330000", atMin(4), "A3", 3), `portal "" of region 330000 already describes 2 items, the limit: item province/A3 is not added`},
	} {
		res := e.Apply(tt.seq, tt.ev)
		if res.Outcome != OverLimit || res.Reason != tt.reason {
			t.Errorf("event %s: %v %q, want limit %q", tt.ev.ID, res.Outcome, res.Reason, tt.reason)
		}
	}
	if res := e.Apply(6, published("ok", "330000", atMin(5), "A2", 4)); res.Outcome != Applied {
		t.Fatalf("a known item of a known portal: %v %s", res.Outcome, res.Reason)
	}
	out := e.Drain()
	m := out.PortalMeasures
	if len(m) != 1 || m[0].Portals != 2 || m[0].PublishedItems != 2 || m[0].Version != 6 {
		t.Fatalf("measures %+v", m)
	}
	// Method 2017: A1 by "app" (2) and A2 by the last event (4); nothing of A3.
	if s := out.Scores[len(out.Scores)-1]; s.PublishedItems != 2 || s.MaturityTotal != 6 {
		t.Fatalf("score %+v", s)
	}
}
