package ingest

import (
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

func TestScopeSubtree(t *testing.T) {
	toks, err := ParseTokens([]byte(`{"tokens":[{"source":"zj","sha256":"` + HashToken("s") +
		`","regions":["330000/*","110105","420100/*"],"families":["feedback"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sc := toks.lookup("s")
	for _, tc := range []struct {
		region string
		typ    events.Type
		field  string
	}{
		{"330000", events.FeedbackRated, ""},
		{"330100", events.FeedbackRated, ""},
		{"330106", events.FeedbackRated, ""},
		{"331082", events.FeedbackRated, ""},
		{"110105", events.FeedbackRated, ""},
		{"110000", events.FeedbackRated, "region"}, // a unit named alone allows no other
		{"110106", events.FeedbackRated, "region"},
		{"420100", events.FeedbackRated, ""},
		{"420102", events.FeedbackRated, ""},
		{"420000", events.FeedbackRated, "region"}, // a subtree allows nothing above its root
		{"429004", events.FeedbackRated, "region"},
		{"340000", events.FeedbackRated, "region"},
		{"330106", events.CatalogItem, "type"},
	} {
		if field, _ := sc.allows(tc.region, tc.typ); field != tc.field {
			t.Errorf("allows(%s, %s) = %q, want %q", tc.region, tc.typ, field, tc.field)
		}
	}
	// Brute force: the subtree 330000/* allows exactly the units whose code starts with 33.
	for _, u := range events.Units() {
		field, _ := sc.allows(u.Code, events.FeedbackRated)
		want := u.Code[:2] == "33" || u.Code == "110105" || (u.Code[:4] == "4201")
		if (field == "") != want {
			t.Errorf("allows(%s) = %q", u.Code, field)
		}
	}
}
