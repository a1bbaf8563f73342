package events

import "time"

// DefaultSubjectPrefix is the subject prefix of accepted events.
const DefaultSubjectPrefix = "govpulse.events"

// Event is one event: the envelope and its payload.
type Event struct {
	// ID is 1..128 characters of A-Z a-z 0-9 . _ : - and unique per event.
	ID string
	// Type is one of the eleven event types; it names the type of Data.
	Type Type
	// Region is a region code from [Regions].
	Region string
	// Time is the event time; [Decode] returns it in UTC.
	Time time.Time
	// Source is who produced the event: 1..200 code points of text.
	Source string
	// Data is the payload; its EventType must equal Type.
	Data Payload
}

// Payload is the data of an event. It is implemented by the pointer types
// *CatalogItemData, *ServicePublishedData, *ServiceWithdrawnData,
// *GuideAuditedData, *PlatformUpdatedData, *FeedbackRatedData,
// *ApplicationCompletedData, *FeedbackAppealedData,
// *FeedbackAppealDecidedData, *RectificationOpenedData and
// *RectificationClosedData; [Event.Validate] rejects any other
// implementation.
type Payload interface {
	// EventType returns the event type whose payload this is.
	EventType() Type
}

// CatalogItemData is the payload of catalog.item: whether the standard
// catalogue requires the item to be offered.
type CatalogItemData struct {
	ItemCode string // 1..64 of A-Z a-z 0-9 . _ -
	Level    Level
	Required bool
}

// ServicePublishedData is the payload of service.published: the item is
// offered online with these modes and this maturity.
type ServicePublishedData struct {
	ItemCode   string // 1..64 of A-Z a-z 0-9 . _ -
	Level      Level
	Name       string // 1..200 code points
	Department string // 1..200 code points
	Modes      []Mode // no repeats, may be empty
	Maturity   int    // 0..4
	// Portal is the portal that offers the item (1..200 code points, e.g.
	// its host name); "" is the unit's main portal.
	Portal string
}

// ServiceWithdrawnData is the payload of service.withdrawn: the item is no
// longer offered.
type ServiceWithdrawnData struct {
	ItemCode string // 1..64 of A-Z a-z 0-9 . _ -
	Level    Level
	// Portal is the portal that no longer offers the item; "" is the unit's
	// main portal.
	Portal string
}

// GuideAuditedData is the payload of guide.audited: the latest audit of an
// item's service guide.
type GuideAuditedData struct {
	ItemCode string // 1..64 of A-Z a-z 0-9 . _ -
	Level    Level
	// Elements holds the verdict of each guide element, indexed like
	// [Elements] (Elements[0] is the verdict on "basis").
	Elements   [8]Verdict
	Consistent bool
	// Portal is the portal whose guide was audited; "" is the unit's main
	// portal.
	Portal string
}

// Correct returns how many elements have the verdict [Correct].
func (d *GuideAuditedData) Correct() int {
	n := 0
	for _, v := range d.Elements {
		if v == Correct {
			n++
		}
	}
	return n
}

// PlatformUpdatedData is the payload of platform.updated: the region's
// platform.
type PlatformUpdatedData struct {
	Integrated bool
	Levels     []Level // the levels joined to the provincial platform, no repeats, may be empty
	Portals    int     // 1..1000
}

// FeedbackRatedData is the payload of feedback.rated. ItemCode and Level
// are both "" when the feedback names no item, or both set. The members
// after Level are the optional members of a review record of the 好差评
// system; "" and nil mean absent.
type FeedbackRatedData struct {
	Rating   int // 1..5, very dissatisfied .. very satisfied
	Channel  Channel
	ItemCode string
	Level    Level
	// CaseNumber is the case number of the application rated: 1..64 of
	// A-Z a-z 0-9 . _ -.
	CaseNumber string
	// ItemVersion is the version of the rated item: 1..32 of A-Z a-z 0-9 . _ -.
	ItemVersion string
	// DetailCodes are the detail codes the rater chose: at most 16 codes
	// of 1..64 of A-Z a-z 0-9 . _ -, no repeats.
	DetailCodes []string
	// Comment is the rater's free text: 1..500 code points.
	Comment string
}

// Bad reports whether the rating is a bad review (差评): 1 or 2.
func (d *FeedbackRatedData) Bad() bool { return d.Rating >= 1 && d.Rating <= 2 }

// FeedbackAppealedData is the payload of feedback.appealed: the rated
// office appeals against a review (申诉).
type FeedbackAppealedData struct {
	ReviewID string // the id of the feedback.rated event, as an event id
	Reason   string // 1..500 code points
}

// FeedbackAppealDecidedData is the payload of feedback.appeal_decided: the
// review of an appeal (复核) decided it; [Upheld] voids the review.
type FeedbackAppealDecidedData struct {
	ReviewID string // the id of the feedback.rated event, as an event id
	Decision Decision
}

// RectificationOpenedData is the payload of rectification.opened: a bad
// review is put on the ledger to be fixed within DeadlineDays working
// days of the event time.
type RectificationOpenedData struct {
	ReviewID     string // the id of the feedback.rated event, as an event id
	DeadlineDays int    // 1..60 working days
}

// RectificationClosedData is the payload of rectification.closed: the
// rectification of a review ended, resolved or not; Rating is the rater's
// follow-up rating of the fix, 1..5, or 0 when absent.
type RectificationClosedData struct {
	ReviewID string // the id of the feedback.rated event, as an event id
	Resolved bool
	Rating   int
}

// ApplicationCompletedData is the payload of application.completed.
type ApplicationCompletedData struct {
	ItemCode string // 1..64 of A-Z a-z 0-9 . _ -
	Level    Level
	Outcome  Outcome
	Online   bool // handled entirely online
	Visits   int  // 0..20 visits in person
	// Timed is true when the event gives promised_days and took_days
	// (optional, always together): the time limit the service promises
	// and the time the application took, in calendar days.
	Timed        bool
	PromisedDays int // 0..365, when Timed
	TookDays     int // 0..3650, when Timed
}

// OnTime reports whether a timed application took no longer than the time
// it was promised; false when it is not timed.
func (d *ApplicationCompletedData) OnTime() bool { return d.Timed && d.TookDays <= d.PromisedDays }

// EventType returns [CatalogItem].
func (*CatalogItemData) EventType() Type { return CatalogItem }

// EventType returns [ServicePublished].
func (*ServicePublishedData) EventType() Type { return ServicePublished }

// EventType returns [ServiceWithdrawn].
func (*ServiceWithdrawnData) EventType() Type { return ServiceWithdrawn }

// EventType returns [GuideAudited].
func (*GuideAuditedData) EventType() Type { return GuideAudited }

// EventType returns [PlatformUpdated].
func (*PlatformUpdatedData) EventType() Type { return PlatformUpdated }

// EventType returns [FeedbackRated].
func (*FeedbackRatedData) EventType() Type { return FeedbackRated }

// EventType returns [ApplicationCompleted].
func (*ApplicationCompletedData) EventType() Type { return ApplicationCompleted }

// EventType returns [FeedbackAppealed].
func (*FeedbackAppealedData) EventType() Type { return FeedbackAppealed }

// EventType returns [FeedbackAppealDecided].
func (*FeedbackAppealDecidedData) EventType() Type { return FeedbackAppealDecided }

// EventType returns [RectificationOpened].
func (*RectificationOpenedData) EventType() Type { return RectificationOpened }

// EventType returns [RectificationClosed].
func (*RectificationClosedData) EventType() Type { return RectificationClosed }

// ReviewOf returns the id of the review (feedback.rated event) that a
// lifecycle payload names, and false for any other payload.
func ReviewOf(p Payload) (string, bool) {
	switch d := p.(type) {
	case *FeedbackAppealedData:
		return d.ReviewID, true
	case *FeedbackAppealDecidedData:
		return d.ReviewID, true
	case *RectificationOpenedData:
		return d.ReviewID, true
	case *RectificationClosedData:
		return d.ReviewID, true
	}
	return "", false
}

// Subject returns the NATS subject of e: "<prefix>.<region>.<family>.<name>",
// e.g. "govpulse.events.330000.feedback.rated". An empty prefix means
// [DefaultSubjectPrefix]. The result is a valid subject only for a valid
// event.
func (e *Event) Subject(prefix string) string {
	if prefix == "" {
		prefix = DefaultSubjectPrefix
	}
	return prefix + "." + e.Region + "." + string(e.Type)
}

// SubjectFilter returns the subject filter of the events of one region,
// "<prefix>.<region>.>", or of all regions, "<prefix>.>", when region is "".
// An empty prefix means [DefaultSubjectPrefix].
func SubjectFilter(prefix, region string) string {
	if prefix == "" {
		prefix = DefaultSubjectPrefix
	}
	if region == "" {
		return prefix + ".>"
	}
	return prefix + "." + region + ".>"
}
