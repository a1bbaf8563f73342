package events

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Decode decodes one event strictly and validates it (see the package
// documentation for the rules and the order in which they are checked). On
// failure it returns a nil event and an [*Error] that matches [ErrInvalid].
// The event does not retain b.
func Decode(b []byte) (*Event, error) {
	e, err := decode(b)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// UnmarshalJSON decodes b with [Decode] into e, so that an Event can be a
// member of a value decoded by encoding/json. On failure e is unchanged.
func (e *Event) UnmarshalJSON(b []byte) error {
	d, err := decode(b)
	if err != nil {
		return err
	}
	*e = *d
	return nil
}

func decode(b []byte) (*Event, *Error) {
	if err := checkSyntax(b); err != nil {
		return nil, err
	}
	// From here on b is known to be well-formed JSON.
	d := decoder{b: b}
	d.ws()
	if b[d.i] != '{' {
		return nil, newError("body", ReasonWrongType, "must be a JSON object")
	}
	var (
		id, typ, region, tm, source []byte
		dataAt                      int
		seen                        uint8
	)
	names := [...]string{"id", "type", "region", "time", "source", "data"}
	err := d.object(func(key []byte) *Error {
		k := -1
		for j, n := range names {
			if string(key) == n {
				k = j
				break
			}
		}
		if k < 0 {
			return unknownField("", key)
		}
		if seen&(1<<k) != 0 {
			return newError(names[k], ReasonDuplicateKey, "must not be repeated")
		}
		seen |= 1 << k
		if k == 5 {
			if d.b[d.i] != '{' {
				return newError(fData, ReasonWrongType, "must be a JSON object")
			}
			dataAt = d.i
			d.skip()
			return nil
		}
		s, err := d.stringValue(names[k])
		if err != nil {
			return err
		}
		switch k {
		case 0:
			id = s
		case 1:
			typ = s
		case 2:
			region = s
		case 3:
			tm = s
		case 4:
			source = s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, n := range names {
		if seen&(1<<k) == 0 {
			return nil, newError(n, ReasonMissingField, "is required")
		}
	}

	e := &Event{ID: string(id)}
	if err := checkID(e.ID); err != nil {
		return nil, err
	}
	var ok bool
	if e.Type, ok = internType(typ); !ok {
		return nil, errUnknownType()
	}
	if e.Region, ok = internRegion(region); !ok {
		return nil, errUnknownRegion()
	}
	if e.Time, err = parseTime(tm); err != nil {
		return nil, err
	}
	e.Source = string(source)
	if err := checkText("source", e.Source); err != nil {
		return nil, err
	}

	d.i = dataAt
	switch e.Type {
	case CatalogItem:
		e.Data, err = d.catalogItem()
	case ServicePublished:
		e.Data, err = d.servicePublished()
	case ServiceWithdrawn:
		e.Data, err = d.serviceWithdrawn()
	case GuideAudited:
		e.Data, err = d.guideAudited()
	case PlatformUpdated:
		e.Data, err = d.platformUpdated()
	case FeedbackRated:
		e.Data, err = d.feedbackRated()
	case ApplicationCompleted:
		e.Data, err = d.applicationCompleted()
	case FeedbackAppealed:
		e.Data, err = d.feedbackAppealed()
	case FeedbackAppealDecided:
		e.Data, err = d.feedbackAppealDecided()
	case RectificationOpened:
		e.Data, err = d.rectificationOpened()
	case RectificationClosed:
		e.Data, err = d.rectificationClosed()
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// decoder reads JSON that checkSyntax has accepted, so it does not check
// well-formedness again.
type decoder struct {
	b []byte
	i int
}

func (d *decoder) ws() { d.i = skipWS(d.b, d.i) }

// object calls f for each member of the object at d.i, with d.i at the
// member's value; f must consume the value. It stops at the first error.
func (d *decoder) object(f func(key []byte) *Error) *Error {
	d.i++
	d.ws()
	if d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		key := d.str()
		d.ws()
		d.i++ // ':'
		d.ws()
		if err := f(key); err != nil {
			return err
		}
		d.ws()
		if d.b[d.i] == ',' {
			d.i++
			d.ws()
			continue
		}
		d.i++ // '}'
		return nil
	}
}

// skip consumes the object or array at d.i.
func (d *decoder) skip() {
	depth := 0
	for {
		switch d.b[d.i] {
		case '"':
			d.skipString()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		d.i++
		if depth == 0 {
			return
		}
	}
}

func (d *decoder) skipString() {
	j := d.i + 1
	for {
		for plainString[d.b[j]] {
			j++
		}
		switch d.b[j] {
		case '"':
			d.i = j + 1
			return
		case '\\':
			j += 2
		default:
			j++
		}
	}
}

// str returns the content of the string at d.i, unescaped, and consumes it.
// Without escapes the result aliases d.b.
func (d *decoder) str() []byte {
	start := d.i + 1
	for j := start; ; j++ {
		for plainString[d.b[j]] {
			j++
		}
		switch d.b[j] {
		case '"':
			d.i = j + 1
			return d.b[start:j]
		case '\\':
			return d.strEscaped(start, j)
		}
	}
}

func (d *decoder) strEscaped(start, j int) []byte {
	b := d.b
	out := make([]byte, j-start, j-start+16)
	copy(out, b[start:j])
	for {
		c := b[j]
		switch c {
		case '"':
			d.i = j + 1
			return out
		case '\\':
			switch e := b[j+1]; e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, _ := hex4(b[j+2:])
				j += 6
				if utf16.IsSurrogate(r) {
					r2, _ := hex4(b[j+2:])
					r = utf16.DecodeRune(r, r2)
					j += 6
				}
				out = utf8.AppendRune(out, r)
				continue
			default: // '"', '\\', '/'
				out = append(out, e)
			}
			j += 2
		default:
			out = append(out, c)
			j++
		}
	}
}

func (d *decoder) stringValue(field string) ([]byte, *Error) {
	if d.b[d.i] != '"' {
		return nil, newError(field, ReasonWrongType, "must be a string")
	}
	return d.str(), nil
}

// intValue reads an integer literal. Integers beyond the int range are
// clamped to it; every range check then rejects them.
func (d *decoder) intValue(field string) (int, *Error) {
	const rule = "must be an integer"
	c := d.b[d.i]
	if c != '-' && !isDigit(c) {
		return 0, newError(field, ReasonWrongType, rule)
	}
	neg := c == '-'
	if neg {
		d.i++
	}
	start := d.i
	for d.i < len(d.b) && isDigit(d.b[d.i]) {
		d.i++
	}
	digits := d.b[start:d.i]
	if d.i < len(d.b) {
		if c := d.b[d.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, newError(field, ReasonNotInteger, rule)
		}
	}
	if neg && len(digits) == 1 && digits[0] == '0' {
		return 0, newError(field, ReasonNotInteger, rule+" (-0 is not allowed)")
	}
	if len(digits) > 18 {
		if neg {
			return math.MinInt, nil
		}
		return math.MaxInt, nil
	}
	n := 0
	for _, c := range digits {
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

func (d *decoder) boolValue(field string) (bool, *Error) {
	switch d.b[d.i] {
	case 't':
		d.i += 4
		return true, nil
	case 'f':
		d.i += 5
		return false, nil
	}
	return false, newError(field, ReasonWrongType, "must be true or false")
}

// list reads an array of strings; an empty array gives nil.
func list[T ~string](d *decoder, field string, intern func([]byte) T) ([]T, *Error) {
	if d.b[d.i] != '[' {
		return nil, newError(field, ReasonWrongType, "must be an array")
	}
	d.i++
	d.ws()
	if d.b[d.i] == ']' {
		d.i++
		return nil, nil
	}
	var buf [8]T
	out := buf[:0]
	for n := 0; ; n++ {
		if d.b[d.i] != '"' {
			return nil, newError(indexPath(field, n), ReasonWrongType, "must be a string")
		}
		out = append(out, intern(d.str()))
		d.ws()
		if d.b[d.i] == ',' {
			d.i++
			d.ws()
			continue
		}
		d.i++ // ']'
		return slices.Clone(out), nil
	}
}

// payload decodes the members of the payload object at d.i. paths lists the
// members' field paths in canonical order; set decodes the value of member
// k. Members whose bit is in optional may be absent. It returns the bit set
// of the members present.
func (d *decoder) payload(paths []string, optional uint, set func(k int) *Error) (uint, *Error) {
	var seen uint
	err := d.object(func(key []byte) *Error {
		k := -1
		for j, p := range paths {
			if string(key) == p[len("data."):] {
				k = j
				break
			}
		}
		if k < 0 {
			return unknownField("data.", key)
		}
		if seen&(1<<k) != 0 {
			return newError(paths[k], ReasonDuplicateKey, "must not be repeated")
		}
		seen |= 1 << k
		return set(k)
	})
	if err != nil {
		return seen, err
	}
	for k, p := range paths {
		if seen&(1<<k) == 0 && optional&(1<<k) == 0 {
			return seen, newError(p, ReasonMissingField, "is required")
		}
	}
	return seen, nil
}

// itemKey decodes item_code (k == 0) and level (k == 1).
func (d *decoder) itemKey(k int, code *string, level *Level) *Error {
	if k == 0 {
		s, err := d.stringValue(fItemCode)
		*code = string(s)
		return err
	}
	s, err := d.stringValue(fLevel)
	*level = internLevel(s)
	return err
}

func (d *decoder) catalogItem() (*CatalogItemData, *Error) {
	p := &CatalogItemData{}
	_, err := d.payload([]string{fItemCode, fLevel, fRequired}, 0, func(k int) *Error {
		if k < 2 {
			return d.itemKey(k, &p.ItemCode, &p.Level)
		}
		var err *Error
		p.Required, err = d.boolValue(fRequired)
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *decoder) servicePublished() (*ServicePublishedData, *Error) {
	p := &ServicePublishedData{}
	seen, err := d.payload([]string{fItemCode, fLevel, fName, fDepartment, fModes, fMaturity, fPortal}, 1<<6,
		func(k int) *Error {
			var err *Error
			var s []byte
			switch k {
			case 0, 1:
				return d.itemKey(k, &p.ItemCode, &p.Level)
			case 2:
				s, err = d.stringValue(fName)
				p.Name = string(s)
			case 3:
				s, err = d.stringValue(fDepartment)
				p.Department = string(s)
			case 4:
				p.Modes, err = list(d, fModes, internMode)
			case 5:
				p.Maturity, err = d.intValue(fMaturity)
			case 6:
				p.Portal, err = d.portal()
			}
			return err
		})
	if err == nil {
		err = p.check()
	}
	return p, presentPortal(err, seen&(1<<6) != 0, p.Portal)
}

// portal decodes the optional portal member.
func (d *decoder) portal() (string, *Error) {
	s, err := d.stringValue(fPortal)
	return string(s), err
}

// presentPortal returns err, or the failure of a portal member present but
// empty (check takes "" for an absent portal).
func presentPortal(err *Error, present bool, portal string) *Error {
	if err == nil && present && portal == "" {
		return checkText(fPortal, portal)
	}
	return err
}

func (d *decoder) serviceWithdrawn() (*ServiceWithdrawnData, *Error) {
	p := &ServiceWithdrawnData{}
	seen, err := d.payload([]string{fItemCode, fLevel, fPortal}, 1<<2, func(k int) *Error {
		if k == 2 {
			var err *Error
			p.Portal, err = d.portal()
			return err
		}
		return d.itemKey(k, &p.ItemCode, &p.Level)
	})
	if err == nil {
		err = p.check()
	}
	return p, presentPortal(err, seen&(1<<2) != 0, p.Portal)
}

func (d *decoder) guideAudited() (*GuideAuditedData, *Error) {
	p := &GuideAuditedData{}
	var elemSeen uint8
	seen, err := d.payload([]string{fItemCode, fLevel, fElements, fConsistent, fPortal}, 1<<4, func(k int) *Error {
		var err *Error
		switch k {
		case 0, 1:
			return d.itemKey(k, &p.ItemCode, &p.Level)
		case 2:
			elemSeen, err = d.elements(&p.Elements)
		case 3:
			p.Consistent, err = d.boolValue(fConsistent)
		case 4:
			p.Portal, err = d.portal()
		}
		return err
	})
	if err != nil {
		return p, err
	}
	for k := range p.Elements {
		if elemSeen&(1<<k) == 0 {
			return p, newError(elementsPrefix+string(elementAt(k)), ReasonMissingField, "is required")
		}
	}
	return p, presentPortal(p.check(), seen&(1<<4) != 0, p.Portal)
}

// elements decodes the elements object into v and returns the bit set of
// the elements present.
func (d *decoder) elements(v *[8]Verdict) (uint8, *Error) {
	if d.b[d.i] != '{' {
		return 0, newError(fElements, ReasonWrongType, "must be a JSON object")
	}
	var seen uint8
	err := d.object(func(key []byte) *Error {
		k := internElement(key)
		if k < 0 {
			return unknownField(elementsPrefix, key)
		}
		if seen&(1<<k) != 0 {
			return newError(elementsPrefix+string(elementAt(k)), ReasonDuplicateKey, "must not be repeated")
		}
		seen |= 1 << k
		if d.b[d.i] != '"' {
			return newError(elementsPrefix+string(elementAt(k)), ReasonWrongType, "must be a string")
		}
		v[k] = internVerdict(d.str())
		return nil
	})
	return seen, err
}

func (d *decoder) platformUpdated() (*PlatformUpdatedData, *Error) {
	p := &PlatformUpdatedData{}
	_, err := d.payload([]string{fIntegrated, fLevels, fPortals}, 0, func(k int) *Error {
		var err *Error
		switch k {
		case 0:
			p.Integrated, err = d.boolValue(fIntegrated)
		case 1:
			p.Levels, err = list(d, fLevels, internLevel)
		case 2:
			p.Portals, err = d.intValue(fPortals)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *decoder) feedbackRated() (*FeedbackRatedData, *Error) {
	p := &FeedbackRatedData{}
	paths := []string{fRating, fChannel, fItemCode, fLevel, fCaseNumber, fItemVersion, fDetailCodes, fComment}
	seen, err := d.payload(paths, feedbackOpt, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0:
			p.Rating, err = d.intValue(fRating)
		case 1:
			s, err = d.stringValue(fChannel)
			p.Channel = internChannel(s)
		case 2, 3:
			return d.itemKey(k-2, &p.ItemCode, &p.Level)
		case 4:
			s, err = d.stringValue(fCaseNumber)
			p.CaseNumber = string(s)
		case 5:
			s, err = d.stringValue(fItemVersion)
			p.ItemVersion = string(s)
		case 6:
			p.DetailCodes, err = list(d, fDetailCodes, func(b []byte) string { return string(b) })
			if err == nil && p.DetailCodes == nil {
				p.DetailCodes = []string{}
			}
		case 7:
			s, err = d.stringValue(fComment)
			p.Comment = string(s)
		}
		return err
	})
	if err == nil {
		err = p.check(seen)
	}
	if err == nil && len(p.DetailCodes) == 0 {
		p.DetailCodes = nil // an empty list is no list
	}
	return p, err
}

func (d *decoder) feedbackAppealed() (*FeedbackAppealedData, *Error) {
	p := &FeedbackAppealedData{}
	_, err := d.payload([]string{fReviewID, fReason}, 0, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0:
			s, err = d.stringValue(fReviewID)
			p.ReviewID = string(s)
		case 1:
			s, err = d.stringValue(fReason)
			p.Reason = string(s)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *decoder) feedbackAppealDecided() (*FeedbackAppealDecidedData, *Error) {
	p := &FeedbackAppealDecidedData{}
	_, err := d.payload([]string{fReviewID, fDecision}, 0, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0:
			s, err = d.stringValue(fReviewID)
			p.ReviewID = string(s)
		case 1:
			s, err = d.stringValue(fDecision)
			p.Decision = internDecision(s)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *decoder) rectificationOpened() (*RectificationOpenedData, *Error) {
	p := &RectificationOpenedData{}
	_, err := d.payload([]string{fReviewID, fDeadlineDays}, 0, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0:
			s, err = d.stringValue(fReviewID)
			p.ReviewID = string(s)
		case 1:
			p.DeadlineDays, err = d.intValue(fDeadlineDays)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *decoder) rectificationClosed() (*RectificationClosedData, *Error) {
	p := &RectificationClosedData{}
	seen, err := d.payload([]string{fReviewID, fResolved, fRating}, 1<<2, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0:
			s, err = d.stringValue(fReviewID)
			p.ReviewID = string(s)
		case 1:
			p.Resolved, err = d.boolValue(fResolved)
		case 2:
			p.Rating, err = d.intValue(fRating)
		}
		return err
	})
	if err == nil {
		err = p.check(seen&(1<<2) != 0)
	}
	return p, err
}

// timed applies the rule of the two times of an application, promised_days and took_days: they
// come together or not at all. It reports whether they came.
func timed(hasPromised, hasTook bool) (bool, *Error) {
	switch {
	case hasPromised && !hasTook:
		return false, newError(fTookDays, ReasonMissingField, "must be given together with data.promised_days")
	case hasTook && !hasPromised:
		return false, newError(fPromisedDays, ReasonMissingField, "must be given together with data.took_days")
	}
	return hasPromised, nil
}

func (d *decoder) applicationCompleted() (*ApplicationCompletedData, *Error) {
	p := &ApplicationCompletedData{}
	seen, err := d.payload([]string{fItemCode, fLevel, fOutcome, fOnline, fVisits, fPromisedDays, fTookDays}, 1<<5|1<<6, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0, 1:
			return d.itemKey(k, &p.ItemCode, &p.Level)
		case 2:
			s, err = d.stringValue(fOutcome)
			p.Outcome = internOutcome(s)
		case 3:
			p.Online, err = d.boolValue(fOnline)
		case 4:
			p.Visits, err = d.intValue(fVisits)
		case 5:
			p.PromisedDays, err = d.intValue(fPromisedDays)
		case 6:
			p.TookDays, err = d.intValue(fTookDays)
		}
		return err
	})
	if err == nil {
		p.Timed, err = timed(seen&(1<<5) != 0, seen&(1<<6) != 0)
	}
	if err == nil {
		err = p.check()
	}
	return p, err
}

// unknownField reports an unknown member. Names that are not plain
// identifiers are quoted and cut to 64 bytes so that the error stays
// readable.
func unknownField(prefix string, key []byte) *Error {
	plain := len(key) > 0 && len(key) <= 64
	for _, c := range key {
		if !isAlnum(c) && c != '_' && c != '-' {
			plain = false
			break
		}
	}
	name := string(key)
	if !plain {
		if len(name) > 64 {
			cut := 64
			for cut > 0 && !utf8.RuneStart(name[cut]) {
				cut--
			}
			name = name[:cut] + "..."
		}
		name = strconv.Quote(name)
	}
	return newError(prefix+name, ReasonUnknownField, "is not a member of this type")
}

// The intern functions map decoded bytes to the package's constants without
// allocating; unknown values are copied so that validation can reject them.

func internType(b []byte) (Type, bool) {
	switch string(b) {
	case "catalog.item":
		return CatalogItem, true
	case "service.published":
		return ServicePublished, true
	case "service.withdrawn":
		return ServiceWithdrawn, true
	case "guide.audited":
		return GuideAudited, true
	case "platform.updated":
		return PlatformUpdated, true
	case "feedback.rated":
		return FeedbackRated, true
	case "application.completed":
		return ApplicationCompleted, true
	case "feedback.appealed":
		return FeedbackAppealed, true
	case "feedback.appeal_decided":
		return FeedbackAppealDecided, true
	case "rectification.opened":
		return RectificationOpened, true
	case "rectification.closed":
		return RectificationClosed, true
	}
	return "", false
}

func internDecision(b []byte) Decision {
	switch string(b) {
	case "upheld":
		return Upheld
	case "rejected":
		return RejectedAppeal
	}
	return Decision(b)
}

func internLevel(b []byte) Level {
	switch string(b) {
	case "province":
		return LevelProvince
	case "city":
		return LevelCity
	case "county":
		return LevelCounty
	case "township":
		return LevelTownship
	}
	return Level(b)
}

func internMode(b []byte) Mode {
	switch string(b) {
	case "online_apply":
		return ModeOnlineApply
	case "online_payment":
		return ModeOnlinePayment
	case "result_delivery":
		return ModeResultDelivery
	case "mobile":
		return ModeMobile
	case "appointment":
		return ModeAppointment
	case "consultation":
		return ModeConsultation
	case "progress_query":
		return ModeProgressQuery
	case "evaluation":
		return ModeEvaluation
	}
	return Mode(b)
}

func internElement(b []byte) int {
	switch string(b) {
	case "basis":
		return 0
	case "conditions":
		return 1
	case "materials":
		return 2
	case "process":
		return 3
	case "time_limit":
		return 4
	case "fees":
		return 5
	case "location":
		return 6
	case "contact":
		return 7
	}
	return -1
}

func internVerdict(b []byte) Verdict {
	switch string(b) {
	case "correct":
		return Correct
	case "missing":
		return Missing
	case "incorrect":
		return Incorrect
	}
	return Verdict(b)
}

func internChannel(b []byte) Channel {
	switch string(b) {
	case "web":
		return ChannelWeb
	case "mobile":
		return ChannelMobile
	case "hall":
		return ChannelHall
	case "hotline":
		return ChannelHotline
	case "kiosk":
		return ChannelKiosk
	}
	return Channel(b)
}

func internOutcome(b []byte) Outcome {
	switch string(b) {
	case "completed":
		return Completed
	case "abandoned":
		return Abandoned
	case "rejected":
		return Rejected
	}
	return Outcome(b)
}

// PeekID returns the id of an event that may not decode, so that a rejection can name it: the
// value of the top-level "id" member when b is a JSON object and that value is a valid event id,
// else "". It validates nothing else; use Decode to judge an event.
func PeekID(b []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	// A type error elsewhere in the object still fills ID; a syntax error leaves it empty.
	_ = json.Unmarshal(b, &v)
	if checkID(v.ID) != nil {
		return ""
	}
	return v.ID
}
