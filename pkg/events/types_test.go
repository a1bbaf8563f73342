package events_test

import (
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

func TestTypes(t *testing.T) {
	cases := []struct {
		typ    events.Type
		family events.Family
		name   string
		portal bool
		life   bool
	}{
		{events.CatalogItem, events.FamilyCatalog, "item", true, false},
		{events.ServicePublished, events.FamilyService, "published", true, false},
		{events.ServiceWithdrawn, events.FamilyService, "withdrawn", true, false},
		{events.GuideAudited, events.FamilyGuide, "audited", true, false},
		{events.PlatformUpdated, events.FamilyPlatform, "updated", true, false},
		{events.FeedbackRated, events.FamilyFeedback, "rated", false, false},
		{events.ApplicationCompleted, events.FamilyApplication, "completed", false, false},
		{events.FeedbackAppealed, events.FamilyFeedback, "appealed", false, true},
		{events.FeedbackAppealDecided, events.FamilyFeedback, "appeal_decided", false, true},
		{events.RectificationOpened, events.FamilyRectification, "opened", false, true},
		{events.RectificationClosed, events.FamilyRectification, "closed", false, true},
		{"feedback.liked", "", "", false, false},
		{"", "", "", false, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.typ), func(t *testing.T) {
			if got := tc.typ.Family(); got != tc.family {
				t.Errorf("Family = %q, want %q", got, tc.family)
			}
			if got := tc.typ.Name(); got != tc.name {
				t.Errorf("Name = %q, want %q", got, tc.name)
			}
			if got := tc.typ.Portal(); got != tc.portal {
				t.Errorf("Portal = %v, want %v", got, tc.portal)
			}
			if got := tc.typ.Lifecycle(); got != tc.life {
				t.Errorf("Lifecycle = %v, want %v", got, tc.life)
			}
			if got, want := tc.typ.Valid(), tc.family != ""; got != want {
				t.Errorf("Valid = %v, want %v", got, want)
			}
			if tc.family != "" && string(tc.family)+"."+tc.name != string(tc.typ) {
				t.Errorf("family and name do not make the type")
			}
		})
	}
	if n := len(events.Types()); n != 11 {
		t.Errorf("Types() has %d types", n)
	}
	for _, f := range events.Families() {
		if !f.Valid() {
			t.Errorf("family %q not valid", f)
		}
		want := f
		if f == events.FamilyRectification {
			want = events.FamilyFeedback
		}
		if got := f.Sender(); got != want {
			t.Errorf("family %q: Sender %q, want %q", f, got, want)
		}
	}
	if !events.Upheld.Valid() || !events.RejectedAppeal.Valid() || events.Decision("pending").Valid() {
		t.Errorf("Decision.Valid is wrong")
	}
}

func TestEnums(t *testing.T) {
	for i, l := range events.Levels() {
		if l.Index() != i || !l.Valid() {
			t.Errorf("level %q: Index %d, want %d", l, l.Index(), i)
		}
	}
	if events.Level("nation").Index() != -1 || events.Level("").Valid() {
		t.Errorf("unknown level accepted")
	}
	if len(events.Modes()) != 8 || len(events.Elements()) != 8 || len(events.Levels()) != 4 ||
		len(events.Channels()) != 5 || len(events.Outcomes()) != 3 || len(events.Verdicts()) != 3 {
		t.Errorf("wrong list lengths")
	}
	for i, m := range events.Modes() {
		if m.Index() != i || !m.Valid() {
			t.Errorf("mode %q: Index %d, want %d", m, m.Index(), i)
		}
	}
	for i, e := range events.Elements() {
		if e.Index() != i || !e.Valid() {
			t.Errorf("element %q: Index %d, want %d", e, e.Index(), i)
		}
	}
	for _, c := range events.Channels() {
		if !c.Valid() {
			t.Errorf("channel %q not valid", c)
		}
	}
	for _, o := range events.Outcomes() {
		if !o.Valid() {
			t.Errorf("outcome %q not valid", o)
		}
	}
	for _, v := range events.Verdicts() {
		if !v.Valid() {
			t.Errorf("verdict %q not valid", v)
		}
	}
	if events.Mode("fax").Valid() || events.Element("color").Valid() || events.Channel("email").Valid() ||
		events.Outcome("done").Valid() || events.Verdict("ok").Valid() || events.Family("x").Valid() {
		t.Errorf("unknown value accepted")
	}
	// The lists are fresh copies.
	l := events.Levels()
	l[0] = "changed"
	if events.Levels()[0] != events.LevelProvince {
		t.Errorf("Levels() shares its slice")
	}
}

func TestPayloadTypes(t *testing.T) {
	payloads := []events.Payload{
		&events.CatalogItemData{}, &events.ServicePublishedData{}, &events.ServiceWithdrawnData{},
		&events.GuideAuditedData{}, &events.PlatformUpdatedData{}, &events.FeedbackRatedData{},
		&events.ApplicationCompletedData{}, &events.FeedbackAppealedData{},
		&events.FeedbackAppealDecidedData{}, &events.RectificationOpenedData{}, &events.RectificationClosedData{},
	}
	for i, typ := range events.Types() {
		if got := payloads[i].EventType(); got != typ {
			t.Errorf("payload %T: EventType %q, want %q", payloads[i], got, typ)
		}
		if _, ok := events.ReviewOf(payloads[i]); ok != typ.Lifecycle() {
			t.Errorf("ReviewOf(%T) reports %v", payloads[i], ok)
		}
	}
}

func TestSubject(t *testing.T) {
	e := validEvent()
	cases := []struct{ prefix, want string }{
		{"", "govpulse.events.330000.feedback.rated"},
		{"test.events", "test.events.330000.feedback.rated"},
	}
	for _, tc := range cases {
		if got := e.Subject(tc.prefix); got != tc.want {
			t.Errorf("Subject(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	filters := []struct{ prefix, region, want string }{
		{"", "", "govpulse.events.>"},
		{"", "330000", "govpulse.events.330000.>"},
		{"x", "110000", "x.110000.>"},
		{"x", "", "x.>"},
	}
	for _, tc := range filters {
		if got := events.SubjectFilter(tc.prefix, tc.region); got != tc.want {
			t.Errorf("SubjectFilter(%q, %q) = %q, want %q", tc.prefix, tc.region, got, tc.want)
		}
	}
}
