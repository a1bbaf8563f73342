package portals

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

var t0 = time.Date(2016, 11, 3, 1, 0, 0, 0, time.UTC)

// at returns t0 plus m minutes.
func at(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

func pubEv(id string, m int, portal, code, name string, maturity int, modes ...events.Mode) *events.Event {
	return &events.Event{ID: id, Type: events.ServicePublished, Region: "330000", Time: at(m), Source: "t",
		Data: &events.ServicePublishedData{ItemCode: code, Level: events.LevelCity, Name: name,
			Department: "dept", Modes: modes, Maturity: maturity, Portal: portal}}
}

func wdEv(id string, m int, portal, code string) *events.Event {
	return &events.Event{ID: id, Type: events.ServiceWithdrawn, Region: "330000", Time: at(m), Source: "t",
		Data: &events.ServiceWithdrawnData{ItemCode: code, Level: events.LevelCity, Portal: portal}}
}

// guideEv audits every element correct but those listed as element=verdict.
func guideEv(id string, m int, portal, code string, over ...string) *events.Event {
	d := &events.GuideAuditedData{ItemCode: code, Level: events.LevelCity, Consistent: true, Portal: portal}
	for i := range d.Elements {
		d.Elements[i] = events.Correct
	}
	for _, o := range over {
		e, v, _ := strings.Cut(o, "=")
		d.Elements[events.Element(e).Index()] = events.Verdict(v)
	}
	return &events.Event{ID: id, Type: events.GuideAudited, Region: "330000", Time: at(m), Source: "t", Data: d}
}

// row renders a changed inconsistency compactly:
// "A1 main|app published=published/absent open@1 closed@0 v1" (the main
// portal "" sorts first).
func row(c Inconsistency) string {
	var f []string
	for _, x := range c.Fields {
		f = append(f, x.Name+"="+x.A+"/"+x.B)
	}
	a := c.PortalA
	if a == "" {
		a = "main"
	}
	return fmt.Sprintf("%s %s|%s %s open@%d closed@%d v%d", c.ItemCode, a, c.PortalB,
		strings.Join(f, ";"), c.OpenedVersion, c.ClosedVersion, c.Version)
}

func TestUnitRules(t *testing.T) {
	type step struct {
		ev   *events.Event
		want []string // rows returned by Take after the event
	}
	web := []events.Mode{events.Modes()[0]}
	cases := []struct {
		name  string
		steps []step
		open  int
	}{
		{"one portal never inconsistent", []step{
			{pubEv("1", 0, "", "A1", "n", 3), nil},
			{wdEv("2", 1, "", "A1"), nil},
		}, 0},
		{"published against absent, then withdrawn", []step{
			{pubEv("1", 0, "", "A1", "n", 3), nil},
			{pubEv("2", 1, "app", "B1", "m", 3), []string{"A1 main|app published=published/absent open@2 closed@0 v2",
				"B1 main|app published=absent/published open@2 closed@0 v2"}},
			{wdEv("3", 2, "", "A1"), []string{"A1 main|app published=published/absent open@2 closed@3 v3"}},
		}, 1},
		{"published against withdrawn, republished equal", []step{
			{pubEv("1", 0, "", "A1", "n", 3), nil},
			{wdEv("2", 1, "app", "A1"), []string{"A1 main|app published=published/withdrawn open@2 closed@0 v2"}},
			{pubEv("3", 2, "app", "A1", "n", 3), []string{"A1 main|app published=published/withdrawn open@2 closed@3 v3"}},
		}, 0},
		{"differing fields change while open", []step{
			{pubEv("1", 0, "", "A1", "n", 3), nil},
			{pubEv("2", 1, "app", "A1", "x", 3), []string{"A1 main|app name=n/x open@2 closed@0 v2"}},
			{pubEv("3", 2, "app", "A1", "x", 4, web...), []string{
				"A1 main|app name=n/x;modes=/online_apply;maturity=3/4 open@2 closed@0 v3"}},
			{pubEv("4", 3, "", "A1", "x", 4, web...), []string{
				"A1 main|app name=n/x;modes=/online_apply;maturity=3/4 open@2 closed@4 v4"}},
		}, 0},
		{"guide verdicts compared only when both publish and both audited", []step{
			{guideEv("1", 0, "", "A1", "fees=missing"), nil},
			{guideEv("2", 0, "app", "A1"), nil},
			{pubEv("3", 1, "", "A1", "n", 3), []string{"A1 main|app published=published/absent open@3 closed@0 v3"}},
			{pubEv("4", 1, "app", "A1", "n", 3), []string{"A1 main|app guide.fees=missing/correct open@3 closed@0 v4"}},
			{guideEv("5", 2, "", "A1"), []string{"A1 main|app guide.fees=missing/correct open@3 closed@5 v5"}},
		}, 0},
		{"older writer of a portal's key changes nothing", []step{
			{pubEv("1", 5, "", "A1", "n", 3), nil},
			{pubEv("2", 5, "app", "A1", "n", 3), nil},
			{wdEv("3", 4, "app", "A1"), nil},
			{pubEv("1", 5, "", "A1", "n", 3), nil},
		}, 0},
		{"a third portal joining opens one per item published elsewhere", []step{
			{pubEv("1", 0, "", "A1", "n", 3), nil},
			{pubEv("2", 0, "app", "A1", "n", 3), nil},
			{pubEv("3", 1, "mini", "B1", "m", 1), []string{
				"A1 main|mini published=published/absent open@3 closed@0 v3",
				"A1 app|mini published=published/absent open@3 closed@0 v3",
				"B1 main|mini published=absent/published open@3 closed@0 v3",
				"B1 app|mini published=absent/published open@3 closed@0 v3"}},
			{pubEv("4", 2, "mini", "A1", "n", 2), []string{
				"A1 main|mini maturity=3/2 open@3 closed@0 v4",
				"A1 app|mini maturity=3/2 open@3 closed@0 v4"}},
		}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := NewUnit("330000", Limits{})
			for i, s := range tc.steps {
				u.Apply(uint64(i+1), s.ev)
				got, _, _ := u.Take()
				var rows []string
				for _, c := range got {
					rows = append(rows, row(c))
				}
				if !reflect.DeepEqual(rows, s.want) {
					t.Fatalf("step %d: rows\n%s\nwant\n%s", i+1, strings.Join(rows, "\n"), strings.Join(s.want, "\n"))
				}
			}
			if n := len(u.Open()); n != tc.open {
				t.Fatalf("open = %d, want %d", n, tc.open)
			}
		})
	}
}

func TestMeasures(t *testing.T) {
	u := NewUnit("330000", Limits{})
	u.Apply(1, pubEv("1", 0, "", "A1", "n", 3))
	u.Apply(2, pubEv("2", 0, "", "B1", "n", 3))
	u.Apply(3, pubEv("3", 10, "app", "A1", "x", 3)) // opens A1 name, B1 published/absent
	u.Apply(4, pubEv("4", 40, "app", "A1", "n", 3)) // closes A1 after 30 minutes
	want := Measures{Region: "330000", Portals: 2, PublishedItems: 2, MultiPortalItems: 1, Open: 1,
		InconsistentItems: 1, Share: 0.5, Closed: 1, OpenNanosTotal: int64(30 * time.Minute),
		MeanOpenSeconds: 1800, Version: 4}
	_, m, ok := u.Take()
	if !ok || m != want {
		t.Fatalf("measures %+v %v, want %+v", m, ok, want)
	}
	if _, _, ok := u.Take(); ok {
		t.Fatal("measures returned again without a change")
	}
}

func TestLimits(t *testing.T) {
	u := NewUnit("330000", Limits{MaxPortals: 2, MaxItemsPerPortal: 2})
	u.Apply(1, pubEv("1", 0, "", "A1", "n", 3))
	u.Apply(2, pubEv("2", 0, "app", "A1", "n", 3))
	for _, tc := range []struct {
		ev   *events.Event
		want string
	}{
		{pubEv("3", 0, "mini", "A1", "n", 3), `region 330000 already has 2 portals, the limit: portal "mini" is not added`},
		{pubEv("4", 0, "", "A2", "n", 3), ""},
		{pubEv("5", 0, "", "A3", "n", 3), `portal "" of region 330000 already describes 2 items, the limit: item city/A3 is not added`},
		{wdEv("6", 1, "", "A1"), ""},
		{pubEv("7", 0, "mini", "A1", "n", 3), `region 330000 already has 2 portals, the limit: portal "mini" is not added`},
	} {
		got := u.Check(tc.ev)
		if got != tc.want {
			t.Errorf("Check(%s) = %q, want %q", tc.ev.ID, got, tc.want)
		}
		if applied := u.Apply(7, tc.ev); applied == (got != "") {
			t.Errorf("Apply(%s) = %v with Check %q", tc.ev.ID, applied, got)
		}
	}
}
