package ingest

import (
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

// TestScopeFamilies checks which event types a token's families allow: a
// feedback token also sends the rectifications of its reviews.
func TestScopeFamilies(t *testing.T) {
	cases := []struct {
		families []events.Family
		typ      events.Type
		allowed  bool
	}{
		{[]events.Family{events.FamilyFeedback}, events.FeedbackRated, true},
		{[]events.Family{events.FamilyFeedback}, events.FeedbackAppealed, true},
		{[]events.Family{events.FamilyFeedback}, events.FeedbackAppealDecided, true},
		{[]events.Family{events.FamilyFeedback}, events.RectificationOpened, true},
		{[]events.Family{events.FamilyFeedback}, events.RectificationClosed, true},
		{[]events.Family{events.FamilyFeedback}, events.ApplicationCompleted, false},
		{[]events.Family{events.FamilyRectification}, events.RectificationClosed, true},
		{[]events.Family{events.FamilyRectification}, events.FeedbackRated, false},
		{[]events.Family{events.FamilyCatalog, events.FamilyService}, events.RectificationOpened, false},
		{nil, events.RectificationOpened, true},
	}
	for _, tc := range cases {
		sc := &scope{source: "s"}
		if tc.families != nil {
			sc.families = make(map[events.Family]bool)
			for _, f := range tc.families {
				sc.families[f] = true
			}
		}
		field, _ := sc.allows("330000", tc.typ)
		if got := field == ""; got != tc.allowed {
			t.Errorf("families %v, type %s: allowed %v, want %v", tc.families, tc.typ, got, tc.allowed)
		}
	}
}
