package engine

import (
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

// TestWorkedExample feeds the events of the worked example of
// docs/method.md and checks the stored counts and indices.
func TestWorkedExample(t *testing.T) {
	P, C, K := events.LevelProvince, events.LevelCity, events.LevelCounty
	all := events.Modes()
	audit := func(correct int, consistent bool) [8]events.Verdict {
		var v [8]events.Verdict
		for i := range v {
			v[i] = events.Incorrect
			if i < correct {
				v[i] = events.Correct
			}
		}
		return v
	}
	evs := []*events.Event{
		ev("c1", zj, atMin(600), &events.CatalogItemData{ItemCode: "P1", Level: P, Required: true}),
		ev("c2", zj, atMin(600), &events.CatalogItemData{ItemCode: "P2", Level: P, Required: true}),
		ev("c3", zj, atMin(600), &events.CatalogItemData{ItemCode: "C1", Level: C, Required: true}),
		ev("c4", zj, atMin(600), &events.CatalogItemData{ItemCode: "K1", Level: K, Required: false}),
		ev("s1", zj, atMin(601), &events.ServicePublishedData{ItemCode: "P1", Level: P, Name: "n", Department: "d", Modes: all, Maturity: 4}),
		ev("s2", zj, atMin(601), &events.ServicePublishedData{ItemCode: "P2", Level: P, Name: "n", Department: "d", Modes: all[:5], Maturity: 3}),
		ev("s3", zj, atMin(601), &events.ServicePublishedData{ItemCode: "C2", Level: C, Name: "n", Department: "d", Modes: all[:2], Maturity: 1}),
		ev("g1", zj, atMin(602), &events.GuideAuditedData{ItemCode: "P1", Level: P, Elements: audit(8, true), Consistent: true}),
		ev("g2", zj, atMin(602), &events.GuideAuditedData{ItemCode: "P2", Level: P, Elements: audit(6, false), Consistent: false}),
		ev("g3", zj, atMin(602), &events.GuideAuditedData{ItemCode: "C1", Level: C, Elements: audit(8, true), Consistent: true}),
		ev("pl", zj, atMin(603), &events.PlatformUpdatedData{Integrated: true, Levels: []events.Level{P, C, events.LevelTownship}, Portals: 12}),
	}
	for i := 0; i < 10; i++ {
		outcome, online := events.Completed, i < 4
		if i >= 7 {
			outcome = events.Abandoned
		}
		evs = append(evs, app("a"+string(rune('0'+i)), zj, atMin(610+i), outcome, online))
	}
	for i, r := range []int{5, 4, 3, 3} {
		evs = append(evs, rated("r"+string(rune('0'+i)), zj, atMin(620+i), r))
	}
	e := mustNew(t, Config{Regions: []string{zj}})
	feed(t, e, 1, evs...)
	s := e.Scores()[0]
	if s.PublishedItems != 3 || s.ModesTotal != 15 || s.MaturityTotal != 8 || s.RequiredProvince != 2 ||
		s.CoveredProvince != 2 || s.RequiredCity != 1 || s.CoveredCity != 0 || s.RequiredCounty != 0 ||
		s.AuditedItems != 2 || s.AuditCorrectConsistent != 8 || s.AuditCorrectInconsistent != 6 ||
		s.Applications != 10 || s.ApplicationsOnlineCompleted != 4 || s.Ratings != 4 || s.RatingSum != 15 {
		t.Fatalf("counts: %+v", s.Counts)
	}
	if s.ServiceModes != 62.5 || s.ItemCoverage != 57.142857 || s.GuideAccuracy != 80 ||
		s.OnlineMaturity != 59.083333 || s.Composite != 64.681548 || s.Grade != "medium" ||
		*s.Satisfaction != 68.75 || s.PlatformLevels != 2 || !s.Integrated || s.Portals != 12 || s.Version != 25 {
		t.Fatalf("score: %+v", s)
	}
}
