package events

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits of the scoring specification.
const (
	maxIDLen       = 128
	maxItemCodeLen = 64
	maxTextLen     = 200 // code points
	maxLongTextLen = 500 // code points of a comment or an appeal's reason
	maxVersionLen  = 32
	maxDetailCodes = 16
	maxDeadline    = 60        // working days
	minUnix        = 946684800 // 2000-01-01T00:00:00Z
	maxYear        = 9999
)

// Field paths, shared by the decoder and Validate.
const (
	fData          = "data"
	fItemCode      = "data.item_code"
	fLevel         = "data.level"
	fRequired      = "data.required"
	fName          = "data.name"
	fDepartment    = "data.department"
	fModes         = "data.modes"
	fMaturity      = "data.maturity"
	fElements      = "data.elements"
	fConsistent    = "data.consistent"
	fIntegrated    = "data.integrated"
	fLevels        = "data.levels"
	fPortals       = "data.portals"
	fRating        = "data.rating"
	fChannel       = "data.channel"
	fOutcome       = "data.outcome"
	fOnline        = "data.online"
	fVisits        = "data.visits"
	fCaseNumber    = "data.case_number"
	fItemVersion   = "data.item_version"
	fDetailCodes   = "data.detail_codes"
	fComment       = "data.comment"
	fReviewID      = "data.review_id"
	fReason        = "data.reason"
	fDecision      = "data.decision"
	fDeadlineDays  = "data.deadline_days"
	fResolved      = "data.resolved"
	fPromisedDays  = "data.promised_days"
	fTookDays      = "data.took_days"
	fPortal        = "data.portal"
	elementsPrefix = "data.elements."
)

// Validate checks e against the rules of the scoring specification, in the
// order id, type, region, time, source, data, and the payload members in
// canonical order. It returns nil or the first failure as an [*Error] that
// matches [ErrInvalid]. The payload must be the one of e.Type (as a pointer);
// a nil payload is a missing_field error.
func (e *Event) Validate() error {
	if err := e.validate(); err != nil {
		return err
	}
	return nil
}

func (e *Event) validate() *Error {
	if err := checkEnvelope(e); err != nil {
		return err
	}
	return checkPayload(e.Type, e.Data)
}

// checkEnvelope checks the envelope values in canonical order.
func checkEnvelope(e *Event) *Error {
	if err := checkID(e.ID); err != nil {
		return err
	}
	if !e.Type.Valid() {
		return errUnknownType()
	}
	if _, ok := LookupUnit(e.Region); !ok {
		return errUnknownRegion()
	}
	if err := checkTimeValue(e.Time); err != nil {
		return err
	}
	return checkText("source", e.Source)
}

func errUnknownType() *Error {
	return newError("type", ReasonUnknownType, "must be one of the eleven event types")
}

func errUnknownRegion() *Error {
	return newError("region", ReasonUnknownRegion, "must be the code of a unit of GB/T 2260 (a provincial unit of the region list or a unit under one)")
}

// checkPayload checks that p is the payload of t and then its values.
func checkPayload(t Type, p Payload) *Error {
	missing := func() *Error { return newError(fData, ReasonMissingField, "is required") }
	if p == nil {
		return missing()
	}
	if p.EventType() != t {
		return newError(fData, ReasonWrongType, "must be the payload of type "+string(t))
	}
	switch d := p.(type) {
	case *CatalogItemData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *ServicePublishedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *ServiceWithdrawnData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *GuideAuditedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *PlatformUpdatedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *FeedbackRatedData:
		if d == nil {
			return missing()
		}
		return d.check(feedbackMembers(d))
	case *ApplicationCompletedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *FeedbackAppealedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *FeedbackAppealDecidedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *RectificationOpenedData:
		if d == nil {
			return missing()
		}
		return d.check()
	case *RectificationClosedData:
		if d == nil {
			return missing()
		}
		return d.check(d.Rating != 0)
	}
	return newError(fData, ReasonWrongType, "must be one of the payload types of this package")
}

func (d *CatalogItemData) check() *Error {
	if err := checkItemCode(fItemCode, d.ItemCode); err != nil {
		return err
	}
	return checkLevel(fLevel, d.Level)
}

func (d *ServicePublishedData) check() *Error {
	if err := checkItemCode(fItemCode, d.ItemCode); err != nil {
		return err
	}
	if err := checkLevel(fLevel, d.Level); err != nil {
		return err
	}
	if err := checkText(fName, d.Name); err != nil {
		return err
	}
	if err := checkText(fDepartment, d.Department); err != nil {
		return err
	}
	var seen uint8
	for i, m := range d.Modes {
		k := m.Index()
		if k < 0 {
			return newError(indexPath(fModes, i), ReasonUnknownValue, "must be a mode of the checklist")
		}
		if seen&(1<<k) != 0 {
			return newError(indexPath(fModes, i), ReasonDuplicateValue, "must not repeat a mode")
		}
		seen |= 1 << k
	}
	if err := checkRange(fMaturity, d.Maturity, 0, 4); err != nil {
		return err
	}
	return checkPortal(d.Portal)
}

func (d *ServiceWithdrawnData) check() *Error {
	if err := checkItemCode(fItemCode, d.ItemCode); err != nil {
		return err
	}
	if err := checkLevel(fLevel, d.Level); err != nil {
		return err
	}
	return checkPortal(d.Portal)
}

// checkPortal checks the optional portal of a payload: "" (absent, the
// main portal) or 1..200 code points.
func checkPortal(p string) *Error {
	if p == "" {
		return nil
	}
	return checkText(fPortal, p)
}

func (d *GuideAuditedData) check() *Error {
	if err := checkItemCode(fItemCode, d.ItemCode); err != nil {
		return err
	}
	if err := checkLevel(fLevel, d.Level); err != nil {
		return err
	}
	for i, v := range d.Elements {
		if !v.Valid() {
			return newError(elementsPrefix+string(elementAt(i)), ReasonUnknownValue,
				"must be correct, missing or incorrect")
		}
	}
	return checkPortal(d.Portal)
}

func (d *PlatformUpdatedData) check() *Error {
	var seen uint8
	for i, l := range d.Levels {
		k := l.Index()
		if k < 0 {
			return newError(indexPath(fLevels, i), ReasonUnknownValue,
				"must be province, city, county or township")
		}
		if seen&(1<<k) != 0 {
			return newError(indexPath(fLevels, i), ReasonDuplicateValue, "must not repeat a level")
		}
		seen |= 1 << k
	}
	return checkRange(fPortals, d.Portals, 1, 1000)
}

// Bits of the optional members of feedback.rated, by their position in the
// canonical order.
const (
	hasItem        = 1 << 2
	hasLevel       = 1 << 3
	hasCaseNumber  = 1 << 4
	hasItemVersion = 1 << 5
	hasDetailCodes = 1 << 6
	hasComment     = 1 << 7
	feedbackOpt    = hasItem | hasLevel | hasCaseNumber | hasItemVersion | hasDetailCodes | hasComment
)

// feedbackMembers returns the bits of the optional members of d that are
// set: "" and nil are absent.
func feedbackMembers(d *FeedbackRatedData) uint {
	var m uint
	set := func(bit uint, ok bool) {
		if ok {
			m |= bit
		}
	}
	set(hasItem, d.ItemCode != "")
	set(hasLevel, d.Level != "")
	set(hasCaseNumber, d.CaseNumber != "")
	set(hasItemVersion, d.ItemVersion != "")
	set(hasDetailCodes, d.DetailCodes != nil)
	set(hasComment, d.Comment != "")
	return m
}

// check checks the feedback values; has holds the bits of the optional
// members that were given.
func (d *FeedbackRatedData) check(has uint) *Error {
	if err := d.checkItem(has&hasItem != 0, has&hasLevel != 0); err != nil {
		return err
	}
	if has&hasCaseNumber != 0 {
		if err := checkItemCode(fCaseNumber, d.CaseNumber); err != nil {
			return err
		}
	}
	if has&hasItemVersion != 0 {
		if err := checkCode(fItemVersion, d.ItemVersion, maxVersionLen); err != nil {
			return err
		}
	}
	if has&hasDetailCodes != 0 {
		if len(d.DetailCodes) > maxDetailCodes {
			return newError(fDetailCodes, ReasonTooLong, "must hold at most 16 codes")
		}
		for i, c := range d.DetailCodes {
			if err := checkItemCode(indexPath(fDetailCodes, i), c); err != nil {
				return err
			}
			for _, prev := range d.DetailCodes[:i] {
				if prev == c {
					return newError(indexPath(fDetailCodes, i), ReasonDuplicateValue, "must not repeat a code")
				}
			}
		}
	}
	if has&hasComment != 0 {
		return checkLongText(fComment, d.Comment)
	}
	return nil
}

// checkItem checks the rating, the channel and the item of a feedback;
// hasItem and hasLevel tell whether the optional members were given.
func (d *FeedbackRatedData) checkItem(hasItem, hasLevel bool) *Error {
	if err := checkRange(fRating, d.Rating, 1, 5); err != nil {
		return err
	}
	if !d.Channel.Valid() {
		return newError(fChannel, ReasonUnknownValue, "must be web, mobile, hall, hotline or kiosk")
	}
	switch {
	case hasItem:
		if err := checkItemCode(fItemCode, d.ItemCode); err != nil {
			return err
		}
	case hasLevel:
		return newError(fItemCode, ReasonMissingField, "must be given together with data.level")
	}
	switch {
	case hasLevel:
		return checkLevel(fLevel, d.Level)
	case hasItem:
		return newError(fLevel, ReasonMissingField, "must be given together with data.item_code")
	}
	return nil
}

func (d *ApplicationCompletedData) check() *Error {
	if err := checkItemCode(fItemCode, d.ItemCode); err != nil {
		return err
	}
	if err := checkLevel(fLevel, d.Level); err != nil {
		return err
	}
	if !d.Outcome.Valid() {
		return newError(fOutcome, ReasonUnknownValue, "must be completed, abandoned or rejected")
	}
	if err := checkRange(fVisits, d.Visits, 0, 20); err != nil {
		return err
	}
	if !d.Timed {
		if d.PromisedDays != 0 || d.TookDays != 0 {
			return newError(fPromisedDays, ReasonOutOfRange, "must be 0 unless Timed (promised_days and took_days are given together)")
		}
		return nil
	}
	if err := checkRange(fPromisedDays, d.PromisedDays, 0, MaxPromisedDays); err != nil {
		return err
	}
	return checkRange(fTookDays, d.TookDays, 0, MaxTookDays)
}

func (d *FeedbackAppealedData) check() *Error {
	if err := checkReviewID(d.ReviewID); err != nil {
		return err
	}
	return checkLongText(fReason, d.Reason)
}

func (d *FeedbackAppealDecidedData) check() *Error {
	if err := checkReviewID(d.ReviewID); err != nil {
		return err
	}
	if !d.Decision.Valid() {
		return newError(fDecision, ReasonUnknownValue, "must be upheld or rejected")
	}
	return nil
}

func (d *RectificationOpenedData) check() *Error {
	if err := checkReviewID(d.ReviewID); err != nil {
		return err
	}
	return checkRange(fDeadlineDays, d.DeadlineDays, 1, maxDeadline)
}

// check checks the values; hasRating tells whether the optional rating was
// given.
func (d *RectificationClosedData) check(hasRating bool) *Error {
	if err := checkReviewID(d.ReviewID); err != nil {
		return err
	}
	if hasRating {
		return checkRange(fRating, d.Rating, 1, 5)
	}
	return nil
}

// checkReviewID checks the id of a review: the rules of an event id.
func checkReviewID(s string) *Error {
	if err := checkID(s); err != nil {
		err.Field = fReviewID
		return err
	}
	return nil
}

// Limits of the optional times of application.completed, in days.
const (
	MaxPromisedDays = 365  // a promised time limit of at most a year
	MaxTookDays     = 3650 // an application handled within ten years
)

func indexPath(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

func checkRange(field string, v, lo, hi int) *Error {
	if v < lo || v > hi {
		return newError(field, ReasonOutOfRange, "must be "+strconv.Itoa(lo)+".."+strconv.Itoa(hi))
	}
	return nil
}

func checkLevel(field string, l Level) *Error {
	if !l.Valid() {
		return newError(field, ReasonUnknownValue, "must be province, city, county or township")
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func checkID(s string) *Error {
	const rule = "must be 1..128 characters of A-Z a-z 0-9 . _ : -"
	switch {
	case s == "":
		return newError("id", ReasonEmpty, rule)
	case len(s) > maxIDLen:
		return newError("id", ReasonTooLong, rule)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return newError("id", ReasonBadFormat, rule)
		}
	}
	return nil
}

func checkItemCode(field, s string) *Error { return checkCode(field, s, maxItemCodeLen) }

// checkCode checks a code: 1..max characters of A-Z a-z 0-9 . _ -.
func checkCode(field, s string, max int) *Error {
	rule := func() string { return "must be 1.." + strconv.Itoa(max) + " characters of A-Z a-z 0-9 . _ -" }
	switch {
	case s == "":
		return newError(field, ReasonEmpty, rule())
	case len(s) > max:
		return newError(field, ReasonTooLong, rule())
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return newError(field, ReasonBadFormat, rule())
		}
	}
	return nil
}

// checkText checks a text member: 1..200 code points of valid UTF-8 without
// C0 control characters or DEL.
func checkText(field, s string) *Error { return checkTextMax(field, s, maxTextLen) }

// checkLongText checks a comment or a reason: 1..500 code points, as
// checkText.
func checkLongText(field, s string) *Error { return checkTextMax(field, s, maxLongTextLen) }

func checkTextMax(field, s string, max int) *Error {
	rule := func() string { return "must be 1.." + strconv.Itoa(max) + " characters" }
	if s == "" {
		return newError(field, ReasonEmpty, rule())
	}
	n := 0
	for i := 0; i < len(s); n++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return newError(field, ReasonControlChar, "must not contain control characters")
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return newError(field, ReasonInvalidUTF8, "must be valid UTF-8")
		}
		i += size
	}
	if n > max {
		return newError(field, ReasonTooLong, rule())
	}
	return nil
}

// checkTimeValue checks that an event time is within 2000-01-01T00:00:00Z
// and the end of year 9999 (UTC).
func checkTimeValue(t time.Time) *Error {
	if t.Unix() < minUnix {
		return newError("time", ReasonBadTime, "must not be before 2000-01-01T00:00:00Z")
	}
	if t.UTC().Year() > maxYear {
		return newError("time", ReasonBadTime, "must be before the year 10000")
	}
	return nil
}

// CheckTime applies the ingest clock rule: t must not be before
// 2000-01-01T00:00:00Z and not more than maxAhead after now. It returns nil
// or an [*Error] with Field "time" and Reason "bad_time".
func CheckTime(t, now time.Time, maxAhead time.Duration) error {
	if err := checkTimeValue(t); err != nil {
		return err
	}
	if t.After(now.Add(maxAhead)) {
		return newError("time", ReasonBadTime, fmt.Sprintf("must not be more than %v ahead of the clock", maxAhead))
	}
	return nil
}
