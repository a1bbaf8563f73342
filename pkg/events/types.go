package events

import "strings"

// Type is an event type such as "feedback.rated": a family and a name joined
// by a dot.
type Type string

// The eleven event types. The first five are portal changes (state); the
// next two are user-experience events counted in windows; the last four
// are the lifecycle of a review (好差评): each names the feedback.rated
// event it concerns by its id, in the same region.
const (
	CatalogItem           Type = "catalog.item"
	ServicePublished      Type = "service.published"
	ServiceWithdrawn      Type = "service.withdrawn"
	GuideAudited          Type = "guide.audited"
	PlatformUpdated       Type = "platform.updated"
	FeedbackRated         Type = "feedback.rated"
	ApplicationCompleted  Type = "application.completed"
	FeedbackAppealed      Type = "feedback.appealed"
	FeedbackAppealDecided Type = "feedback.appeal_decided"
	RectificationOpened   Type = "rectification.opened"
	RectificationClosed   Type = "rectification.closed"
)

// Types returns the eleven event types: portal changes, then
// user-experience events, then review lifecycle events.
func Types() []Type {
	return []Type{CatalogItem, ServicePublished, ServiceWithdrawn, GuideAudited,
		PlatformUpdated, FeedbackRated, ApplicationCompleted,
		FeedbackAppealed, FeedbackAppealDecided, RectificationOpened, RectificationClosed}
}

// Valid reports whether t is one of the eleven event types.
func (t Type) Valid() bool {
	switch t {
	case CatalogItem, ServicePublished, ServiceWithdrawn, GuideAudited,
		PlatformUpdated, FeedbackRated, ApplicationCompleted,
		FeedbackAppealed, FeedbackAppealDecided, RectificationOpened, RectificationClosed:
		return true
	}
	return false
}

// Lifecycle reports whether t is a review lifecycle event
// (feedback.appealed, feedback.appeal_decided, rectification.opened,
// rectification.closed), which names a feedback.rated event by its id.
func (t Type) Lifecycle() bool {
	switch t {
	case FeedbackAppealed, FeedbackAppealDecided, RectificationOpened, RectificationClosed:
		return true
	}
	return false
}

// Family returns the part of t before the dot ("feedback" for
// "feedback.rated"), or "" when t is not valid.
func (t Type) Family() Family {
	if !t.Valid() {
		return ""
	}
	f, _, _ := strings.Cut(string(t), ".")
	return Family(f)
}

// Name returns the part of t after the dot ("rated" for "feedback.rated"),
// or "" when t is not valid.
func (t Type) Name() string {
	if !t.Valid() {
		return ""
	}
	_, n, _ := strings.Cut(string(t), ".")
	return n
}

// Portal reports whether t is a portal change, i.e. last-writer-wins state
// (catalog.item, service.published, service.withdrawn, guide.audited,
// platform.updated) rather than a user-experience event.
func (t Type) Portal() bool {
	switch t {
	case CatalogItem, ServicePublished, ServiceWithdrawn, GuideAudited, PlatformUpdated:
		return true
	}
	return false
}

// Family is the first part of an event type; it is a NATS subject token.
type Family string

// The seven families.
const (
	FamilyCatalog       Family = "catalog"
	FamilyService       Family = "service"
	FamilyGuide         Family = "guide"
	FamilyPlatform      Family = "platform"
	FamilyFeedback      Family = "feedback"
	FamilyApplication   Family = "application"
	FamilyRectification Family = "rectification"
)

// Families returns the seven families in the order of [Types].
func Families() []Family {
	return []Family{FamilyCatalog, FamilyService, FamilyGuide, FamilyPlatform,
		FamilyFeedback, FamilyApplication, FamilyRectification}
}

// Valid reports whether f is one of the seven families.
func (f Family) Valid() bool {
	switch f {
	case FamilyCatalog, FamilyService, FamilyGuide, FamilyPlatform, FamilyFeedback, FamilyApplication,
		FamilyRectification:
		return true
	}
	return false
}

// Sender returns the family whose senders may send events of family f: a
// feedback system sends the rectifications of its reviews, so it is
// [FamilyFeedback] for [FamilyRectification] and f itself otherwise.
func (f Family) Sender() Family {
	if f == FamilyRectification {
		return FamilyFeedback
	}
	return f
}

// Level is an administrative level at which an item is offered.
type Level string

// The four levels, from the top.
const (
	LevelProvince Level = "province"
	LevelCity     Level = "city"
	LevelCounty   Level = "county"
	LevelTownship Level = "township"
)

// Levels returns the four levels from province down to township.
func Levels() []Level {
	return []Level{LevelProvince, LevelCity, LevelCounty, LevelTownship}
}

// Index returns the position of l in [Levels] (0 for province .. 3 for
// township), or -1 when l is not valid.
func (l Level) Index() int {
	switch l {
	case LevelProvince:
		return 0
	case LevelCity:
		return 1
	case LevelCounty:
		return 2
	case LevelTownship:
		return 3
	}
	return -1
}

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool { return l.Index() >= 0 }

// Mode is a way a service is offered, from the mode checklist.
type Mode string

// The mode checklist (8).
const (
	ModeOnlineApply    Mode = "online_apply"
	ModeOnlinePayment  Mode = "online_payment"
	ModeResultDelivery Mode = "result_delivery"
	ModeMobile         Mode = "mobile"
	ModeAppointment    Mode = "appointment"
	ModeConsultation   Mode = "consultation"
	ModeProgressQuery  Mode = "progress_query"
	ModeEvaluation     Mode = "evaluation"
)

// Modes returns the eight modes of the checklist.
func Modes() []Mode {
	return []Mode{ModeOnlineApply, ModeOnlinePayment, ModeResultDelivery, ModeMobile,
		ModeAppointment, ModeConsultation, ModeProgressQuery, ModeEvaluation}
}

// Index returns the position of m in [Modes], or -1 when m is not valid.
func (m Mode) Index() int {
	switch m {
	case ModeOnlineApply:
		return 0
	case ModeOnlinePayment:
		return 1
	case ModeResultDelivery:
		return 2
	case ModeMobile:
		return 3
	case ModeAppointment:
		return 4
	case ModeConsultation:
		return 5
	case ModeProgressQuery:
		return 6
	case ModeEvaluation:
		return 7
	}
	return -1
}

// Valid reports whether m is on the mode checklist.
func (m Mode) Valid() bool { return m.Index() >= 0 }

// Element is one of the eight elements of a service guide.
type Element string

// The eight guide elements.
const (
	ElementBasis      Element = "basis"
	ElementConditions Element = "conditions"
	ElementMaterials  Element = "materials"
	ElementProcess    Element = "process"
	ElementTimeLimit  Element = "time_limit"
	ElementFees       Element = "fees"
	ElementLocation   Element = "location"
	ElementContact    Element = "contact"
)

// Elements returns the eight guide elements; [GuideAuditedData.Elements] is
// indexed in this order.
func Elements() []Element {
	return []Element{ElementBasis, ElementConditions, ElementMaterials, ElementProcess,
		ElementTimeLimit, ElementFees, ElementLocation, ElementContact}
}

// elementAt returns Elements()[k] without allocating.
func elementAt(k int) Element {
	return [...]Element{ElementBasis, ElementConditions, ElementMaterials, ElementProcess,
		ElementTimeLimit, ElementFees, ElementLocation, ElementContact}[k]
}

// Index returns the position of e in [Elements], or -1 when e is not valid.
func (e Element) Index() int {
	switch e {
	case ElementBasis:
		return 0
	case ElementConditions:
		return 1
	case ElementMaterials:
		return 2
	case ElementProcess:
		return 3
	case ElementTimeLimit:
		return 4
	case ElementFees:
		return 5
	case ElementLocation:
		return 6
	case ElementContact:
		return 7
	}
	return -1
}

// Valid reports whether e is one of the eight guide elements.
func (e Element) Valid() bool { return e.Index() >= 0 }

// Verdict is the audit result of one guide element.
type Verdict string

// The three verdicts.
const (
	Correct   Verdict = "correct"
	Missing   Verdict = "missing"
	Incorrect Verdict = "incorrect"
)

// Verdicts returns the three verdicts.
func Verdicts() []Verdict { return []Verdict{Correct, Missing, Incorrect} }

// Valid reports whether v is one of the three verdicts.
func (v Verdict) Valid() bool { return v == Correct || v == Missing || v == Incorrect }

// Channel is where a user gave feedback.
type Channel string

// The five feedback channels.
const (
	ChannelWeb     Channel = "web"
	ChannelMobile  Channel = "mobile"
	ChannelHall    Channel = "hall"
	ChannelHotline Channel = "hotline"
	ChannelKiosk   Channel = "kiosk"
)

// Channels returns the five feedback channels.
func Channels() []Channel {
	return []Channel{ChannelWeb, ChannelMobile, ChannelHall, ChannelHotline, ChannelKiosk}
}

// Valid reports whether c is one of the five channels.
func (c Channel) Valid() bool {
	switch c {
	case ChannelWeb, ChannelMobile, ChannelHall, ChannelHotline, ChannelKiosk:
		return true
	}
	return false
}

// Outcome is how an application ended.
type Outcome string

// The three outcomes.
const (
	Completed Outcome = "completed"
	Abandoned Outcome = "abandoned"
	Rejected  Outcome = "rejected"
)

// Outcomes returns the three outcomes.
func Outcomes() []Outcome { return []Outcome{Completed, Abandoned, Rejected} }

// Valid reports whether o is one of the three outcomes.
func (o Outcome) Valid() bool { return o == Completed || o == Abandoned || o == Rejected }

// Decision is the outcome of an appeal against a review.
type Decision string

// The two decisions.
const (
	Upheld         Decision = "upheld"   // the appeal succeeds: the review is void
	RejectedAppeal Decision = "rejected" // the appeal fails: the review stands
)

// Valid reports whether d is upheld or rejected.
func (d Decision) Valid() bool { return d == Upheld || d == RejectedAppeal }
