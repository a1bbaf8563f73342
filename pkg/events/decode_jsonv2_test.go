//go:build jsonv2

package events

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// This file holds a decoder built on jsontext (json v2), kept to compare it
// with the hand-written decoder: see "Decoding on json v2" in
// docs/benchmarks.md. It reads the envelope and the payload token by token
// (a payload that comes before the type member is read afterwards from its
// bytes) and, on any error, checks the whole body again so that syntax
// errors come first. TestDecodeJSONv2 checks that it gives the same event,
// or the same field and reason, as [Decode] on every table case.

// DecodeJSONv2 is the json v2 decoder, for the tests and benchmarks of
// package events_test.
func DecodeJSONv2(b []byte) (*Event, error) {
	e, err := decodeV2(b)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// v2Decoder reads one event with a [jsontext.Decoder], which checks the JSON
// syntax and UTF-8 as it reads; the decoder itself checks the members.
// Decoders are reused through v2Decoders.
type v2Decoder struct {
	rd  bytes.Buffer // aliases the input, so that values read alias it too
	dec jsontext.Decoder
}

var v2Decoders = sync.Pool{New: func() any { return new(v2Decoder) }}

// v2Options lets jsontext accept repeated names: the decoder reports
// them itself, as duplicate_key errors of the member.
var v2Options = jsontext.AllowDuplicateNames(true)

func (d *v2Decoder) reset(b []byte) {
	d.rd = *bytes.NewBuffer(b)
	d.dec.Reset(&d.rd, v2Options)
}

// peek returns the first byte of the next token, after white space and a
// comma or colon, without reading it; 0 at the end of the input. It checks
// nothing: the read that follows does.
func (d *v2Decoder) peek() byte {
	b := d.dec.UnreadBuffer()
	i := skipWS(b, 0)
	if i < len(b) && (b[i] == ',' || b[i] == ':') {
		i = skipWS(b, i+1)
	}
	if i < len(b) {
		return b[i]
	}
	return 0
}

// Envelope members, indexes into v2EnvelopeNames.
const (
	v2ID = iota
	v2Type
	v2Region
	v2Time
	v2Source
	v2Data
)

var v2EnvelopeNames = []string{"id", "type", "region", "time", "source", "data"}

func decodeV2(b []byte) (*Event, *Error) {
	d := v2Decoders.Get().(*v2Decoder)
	e, err := d.event(b)
	if err != nil {
		// The syntax of the whole body comes first: the decoder stops at
		// the first error it meets, which may come before a syntax error.
		if serr := d.v2CheckBody(b); serr != nil {
			err = serr
		}
		e = nil
	}
	v2Decoders.Put(d)
	return e, err
}

// event decodes the envelope in one pass. The payload is decoded as it is
// read when type came before it, else afterwards from its raw bytes; its
// errors are reported after those of the envelope.
func (d *v2Decoder) event(b []byte) (*Event, *Error) {
	d.reset(b)
	var (
		vals    [v2Data][]byte
		typ     Type
		typOK   bool
		data    Payload
		rawData []byte
		dataErr *Error
	)
	seen, err := d.object("", v2EnvelopeNames, func(k int) *Error {
		var err *Error
		switch {
		case k != v2Data:
			vals[k], err = d.str(v2EnvelopeNames[k])
			if k == v2Type && err == nil {
				typ, typOK = internType(vals[k])
			}
		case d.peek() != '{':
			err = newError(fData, ReasonWrongType, "must be a JSON object")
		case typOK:
			if data, dataErr = d.payload(typ); dataErr != nil && d.skipTo(1) != nil {
				err = v2ErrSyntax
			}
		default:
			// The bytes of a value read from rd alias b.
			v, rerr := d.dec.ReadValue()
			if rerr != nil {
				err = v2ErrSyntax
			}
			rawData = v
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if skipWS(b, int(d.dec.InputOffset())) != len(b) {
		return nil, v2ErrSyntax // trailing data, which v2CheckBody reports
	}
	for k, n := range v2EnvelopeNames {
		if seen&(1<<k) == 0 {
			return nil, newError(n, ReasonMissingField, "is required")
		}
	}

	e := &Event{ID: string(vals[v2ID])}
	if err := checkID(e.ID); err != nil {
		return nil, err
	}
	if !typOK {
		return nil, errUnknownType()
	}
	e.Type = typ
	var ok bool
	if e.Region, ok = internRegion(vals[v2Region]); !ok {
		return nil, errUnknownRegion()
	}
	if e.Time, err = parseTime(vals[v2Time]); err != nil {
		return nil, err
	}
	e.Source = string(vals[v2Source])
	if err := checkText("source", e.Source); err != nil {
		return nil, err
	}
	if rawData != nil {
		d.reset(rawData)
		data, dataErr = d.payload(typ)
	}
	if dataErr != nil {
		return nil, dataErr
	}
	e.Data = data
	return e, nil
}

// v2ErrSyntax stands for a syntax error that v2CheckBody describes.
var v2ErrSyntax = newError("body", ReasonSyntax, "must be valid JSON")

// v2CheckBody checks that b is valid UTF-8 and exactly one JSON value,
// surrounded by optional white space and nested at most MaxDepth levels.
// It returns the first failure in document order, or nil.
func (d *v2Decoder) v2CheckBody(b []byte) *Error {
	d.reset(b)
	dec := &d.dec
	for n := 0; ; n++ {
		_, err := dec.ReadToken()
		switch {
		case err == io.EOF && n == 0:
			return newError("body", ReasonEmpty, "must be a JSON object")
		case err != nil:
			return v2BodyError(b, err)
		case dec.StackDepth() > MaxDepth:
			return newError("body", ReasonTooDeep,
				"must not nest objects and arrays deeper than "+strconv.Itoa(MaxDepth)+" levels")
		case dec.StackDepth() == 0:
			// jsontext reads a stream of values; the body is one.
			if i := int(dec.InputOffset()); skipWS(b, i) != len(b) {
				return newError("body", ReasonTrailingData,
					"must be exactly one JSON value: data after offset "+strconv.Itoa(skipWS(b, i)))
			}
			return nil
		}
	}
}

// v2BodyError maps a syntax error of jsontext to an [*Error] of the body.
func v2BodyError(b []byte, err error) *Error {
	if err == io.ErrUnexpectedEOF {
		return newError("body", ReasonSyntax, "must be valid JSON: unexpected end of input")
	}
	off := v2OffsetOf(err)
	msg := err.Error()
	var serr *jsontext.SyntacticError
	if errors.As(err, &serr) && serr.Err != nil {
		msg = serr.Err.Error()
		if serr.Err == io.ErrUnexpectedEOF {
			msg = "unexpected end of input"
		}
	}
	if i := int(off); i < len(b) && (b[i] >= utf8.RuneSelf || b[i] == '\\' && v2LoneSurrogate(b[i:])) {
		if r, _ := utf8.DecodeRune(b[i:]); r == utf8.RuneError || b[i] == '\\' {
			return newError("body", ReasonInvalidUTF8, "must be valid UTF-8: invalid text at offset "+strconv.Itoa(i))
		}
	}
	return newError("body", ReasonSyntax, "must be valid JSON: "+msg+" at offset "+strconv.Itoa(int(off)))
}

func v2OffsetOf(err error) int64 {
	var serr *jsontext.SyntacticError
	if errors.As(err, &serr) {
		return serr.ByteOffset
	}
	return 0
}

// v2LoneSurrogate reports whether b starts with an escaped UTF-16 surrogate
// that is not the first half of an escaped pair.
func v2LoneSurrogate(b []byte) bool {
	r, ok := v2Hex4(b, 2)
	switch {
	case !ok || r < 0xD800 || r >= 0xE000:
		return false
	case r >= 0xDC00:
		return true
	}
	r2, ok := v2Hex4(b, 8)
	return !ok || b[6] != '\\' || b[7] != 'u' || r2 < 0xDC00 || r2 >= 0xE000
}

// skipTo reads tokens until the decoder is back at the given depth.
func (d *v2Decoder) skipTo(depth int) error {
	for d.dec.StackDepth() > depth {
		if _, err := d.dec.ReadToken(); err != nil {
			return err
		}
	}
	return nil
}

// name reads a member name and returns its index in paths, which are
// member paths that start with prefix; paths[hint] is tried first.
func (d *v2Decoder) name(prefix string, paths []string, hint int) (int, *Error) {
	v, rerr := d.dec.ReadValue()
	if rerr != nil {
		return -1, v2ErrSyntax
	}
	key := v[1 : len(v)-1]
	if hint < len(paths) && string(key) == paths[hint][len(prefix):] {
		return hint, nil
	}
	key = v2Unquote(v)
	for k, p := range paths {
		if string(key) == p[len(prefix):] {
			return k, nil
		}
	}
	return -1, unknownField(prefix, key)
}

// v2Unquote returns the content of the JSON string v, unescaped; without
// escapes the result aliases v.
func v2Unquote(v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1]
	}
	s, _ := jsontext.AppendUnquote(nil, v) // v is valid: jsontext has read it
	return s
}

func (d *v2Decoder) str(field string) ([]byte, *Error) {
	v, rerr := d.dec.ReadValue()
	if rerr != nil {
		return nil, v2ErrSyntax
	}
	if v[0] != '"' {
		return nil, newError(field, ReasonWrongType, "must be a string")
	}
	return v2Unquote(v), nil
}

// int reads an integer literal. Integers beyond the int range are clamped
// to it; every range check then rejects them.
func (d *v2Decoder) int(field string) (int, *Error) {
	const rule = "must be an integer"
	v, rerr := d.dec.ReadValue()
	if rerr != nil {
		return 0, v2ErrSyntax
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, newError(field, ReasonWrongType, rule)
	}
	if bytes.ContainsAny(v, ".eE") {
		return 0, newError(field, ReasonNotInteger, rule)
	}
	neg := v[0] == '-'
	digits := v
	if neg {
		digits = v[1:]
	}
	switch {
	case neg && string(digits) == "0":
		return 0, newError(field, ReasonNotInteger, rule+" (-0 is not allowed)")
	case len(digits) > 18 && neg:
		return math.MinInt, nil
	case len(digits) > 18:
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

func (d *v2Decoder) bool(field string) (bool, *Error) {
	v, rerr := d.dec.ReadValue()
	if rerr != nil {
		return false, v2ErrSyntax
	}
	switch v[0] {
	case 't':
		return true, nil
	case 'f':
		return false, nil
	}
	return false, newError(field, ReasonWrongType, "must be true or false")
}

// list reads an array of strings; an empty array gives nil.
func v2List[T ~string](d *v2Decoder, field string, intern func([]byte) T) ([]T, *Error) {
	v, err := d.dec.ReadValue()
	switch {
	case err != nil:
		return nil, v2ErrSyntax
	case v[0] != '[':
		return nil, newError(field, ReasonWrongType, "must be an array")
	}
	// jsontext has checked v: walk its elements.
	var buf [8]T
	out := buf[:0]
	for i, n := skipWS(v, 1), 0; v[i] != ']'; n++ {
		if v[i] != '"' {
			return nil, newError(indexPath(field, n), ReasonWrongType, "must be a string")
		}
		j := i + 1
		for ; v[j] != '"'; j++ {
			if v[j] == '\\' {
				j++
			}
		}
		out = append(out, intern(v2Unquote(v[i:j+1])))
		if i = skipWS(v, j+1); v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return slices.Clone(out), nil
}

// object reads the object that starts at the next token: for each member it
// calls f with the member's index in paths (member paths that start with
// prefix), f reads the value. Members are not repeated. It returns the bit
// set of the members present.
func (d *v2Decoder) object(prefix string, paths []string, f func(k int) *Error) (uint, *Error) {
	dec := &d.dec
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		// Only the body can fail here: payload objects have been peeked.
		return 0, newError("body", ReasonWrongType, "must be a JSON object")
	}
	var seen uint
	for hint := 0; d.peek() == '"'; {
		k, err := d.name(prefix, paths, hint)
		if err != nil {
			return seen, err
		}
		hint = k + 1
		if seen&(1<<k) != 0 {
			return seen, newError(paths[k], ReasonDuplicateKey, "must not be repeated")
		}
		seen |= 1 << k
		if err := f(k); err != nil {
			return seen, err
		}
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return seen, v2ErrSyntax
	}
	return seen, nil
}

// payload decodes the payload of type t, an object at the next token.
func (d *v2Decoder) payload(t Type) (Payload, *Error) {
	switch t {
	case CatalogItem:
		return d.catalogItem()
	case ServicePublished:
		return d.servicePublished()
	case ServiceWithdrawn:
		return d.serviceWithdrawn()
	case GuideAudited:
		return d.guideAudited()
	case PlatformUpdated:
		return d.platformUpdated()
	case FeedbackRated:
		return d.feedbackRated()
	case FeedbackAppealed:
		return d.feedbackAppealed()
	case FeedbackAppealDecided:
		return d.feedbackAppealDecided()
	case RectificationOpened:
		return d.rectificationOpened()
	case RectificationClosed:
		return d.rectificationClosed()
	}
	return d.applicationCompleted()
}

// members decodes the members of a payload object. paths lists the
// members' field paths in canonical order; set decodes the value of member
// k. Members whose bit is in optional may be absent. It returns the bit set
// of the members present.
func (d *v2Decoder) members(paths []string, optional uint, set func(k int) *Error) (uint, *Error) {
	seen, err := d.object("data.", paths, set)
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
func (d *v2Decoder) itemKey(k int, code *string, level *Level) *Error {
	if k == 0 {
		s, err := d.str(fItemCode)
		*code = string(s)
		return err
	}
	s, err := d.str(fLevel)
	*level = internLevel(s)
	return err
}

var (
	v2catalogPaths     = []string{fItemCode, fLevel, fRequired}
	v2publishedPaths   = []string{fItemCode, fLevel, fName, fDepartment, fModes, fMaturity, fPortal}
	v2withdrawnPaths   = []string{fItemCode, fLevel, fPortal}
	v2guidePaths       = []string{fItemCode, fLevel, fElements, fConsistent, fPortal}
	v2platformPaths    = []string{fIntegrated, fLevels, fPortals}
	v2feedbackPaths    = []string{fRating, fChannel, fItemCode, fLevel, fCaseNumber, fItemVersion, fDetailCodes, fComment}
	v2applicationPaths = []string{fItemCode, fLevel, fOutcome, fOnline, fVisits, fPromisedDays, fTookDays}
	v2elementPaths     = func() []string {
		p := make([]string, len(GuideAuditedData{}.Elements))
		for k := range p {
			p[k] = elementsPrefix + string(elementAt(k))
		}
		return p
	}()
)

func (d *v2Decoder) catalogItem() (*CatalogItemData, *Error) {
	p := &CatalogItemData{}
	_, err := d.members(v2catalogPaths, 0, func(k int) *Error {
		if k < 2 {
			return d.itemKey(k, &p.ItemCode, &p.Level)
		}
		var err *Error
		p.Required, err = d.bool(fRequired)
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *v2Decoder) servicePublished() (*ServicePublishedData, *Error) {
	p := &ServicePublishedData{}
	seen, err := d.members(v2publishedPaths, 1<<6, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0, 1:
			return d.itemKey(k, &p.ItemCode, &p.Level)
		case 2:
			s, err = d.str(fName)
			p.Name = string(s)
		case 3:
			s, err = d.str(fDepartment)
			p.Department = string(s)
		case 4:
			p.Modes, err = v2List(d, fModes, internMode)
		case 5:
			p.Maturity, err = d.int(fMaturity)
		case 6:
			s, err = d.str(fPortal)
			p.Portal = string(s)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, presentPortal(err, seen&(1<<6) != 0, p.Portal)
}

func (d *v2Decoder) serviceWithdrawn() (*ServiceWithdrawnData, *Error) {
	p := &ServiceWithdrawnData{}
	seen, err := d.members(v2withdrawnPaths, 1<<2, func(k int) *Error {
		if k == 2 {
			s, err := d.str(fPortal)
			p.Portal = string(s)
			return err
		}
		return d.itemKey(k, &p.ItemCode, &p.Level)
	})
	if err == nil {
		err = p.check()
	}
	return p, presentPortal(err, seen&(1<<2) != 0, p.Portal)
}

func (d *v2Decoder) guideAudited() (*GuideAuditedData, *Error) {
	p := &GuideAuditedData{}
	var elemSeen uint
	seen, err := d.members(v2guidePaths, 1<<4, func(k int) *Error {
		var err *Error
		switch k {
		case 0, 1:
			return d.itemKey(k, &p.ItemCode, &p.Level)
		case 2:
			if d.peek() != '{' {
				return newError(fElements, ReasonWrongType, "must be a JSON object")
			}
			elemSeen, err = d.object(elementsPrefix, v2elementPaths, func(k int) *Error {
				s, err := d.str(v2elementPaths[k])
				p.Elements[k] = internVerdict(s)
				return err
			})
		case 3:
			p.Consistent, err = d.bool(fConsistent)
		case 4:
			var s []byte
			s, err = d.str(fPortal)
			p.Portal = string(s)
		}
		return err
	})
	if err != nil {
		return p, err
	}
	for k, path := range v2elementPaths {
		if elemSeen&(1<<k) == 0 {
			return p, newError(path, ReasonMissingField, "is required")
		}
	}
	return p, presentPortal(p.check(), seen&(1<<4) != 0, p.Portal)
}

func (d *v2Decoder) platformUpdated() (*PlatformUpdatedData, *Error) {
	p := &PlatformUpdatedData{}
	_, err := d.members(v2platformPaths, 0, func(k int) *Error {
		var err *Error
		switch k {
		case 0:
			p.Integrated, err = d.bool(fIntegrated)
		case 1:
			p.Levels, err = v2List(d, fLevels, internLevel)
		case 2:
			p.Portals, err = d.int(fPortals)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *v2Decoder) feedbackRated() (*FeedbackRatedData, *Error) {
	p := &FeedbackRatedData{}
	seen, err := d.members(v2feedbackPaths, feedbackOpt, func(k int) *Error {
		var err *Error
		var s []byte
		switch k {
		case 0:
			p.Rating, err = d.int(fRating)
		case 1:
			s, err = d.str(fChannel)
			p.Channel = internChannel(s)
		case 2, 3:
			return d.itemKey(k-2, &p.ItemCode, &p.Level)
		case 4:
			s, err = d.str(fCaseNumber)
			p.CaseNumber = string(s)
		case 5:
			s, err = d.str(fItemVersion)
			p.ItemVersion = string(s)
		case 6:
			p.DetailCodes, err = v2List(d, fDetailCodes, func(b []byte) string { return string(b) })
			if err == nil && p.DetailCodes == nil {
				p.DetailCodes = []string{}
			}
		case 7:
			s, err = d.str(fComment)
			p.Comment = string(s)
		}
		return err
	})
	if err == nil {
		err = p.check(seen)
	}
	if err == nil && len(p.DetailCodes) == 0 {
		p.DetailCodes = nil
	}
	return p, err
}

func (d *v2Decoder) feedbackAppealed() (*FeedbackAppealedData, *Error) {
	p := &FeedbackAppealedData{}
	_, err := d.members([]string{fReviewID, fReason}, 0, func(k int) *Error {
		s, err := d.str([]string{fReviewID, fReason}[k])
		if k == 0 {
			p.ReviewID = string(s)
		} else {
			p.Reason = string(s)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *v2Decoder) feedbackAppealDecided() (*FeedbackAppealDecidedData, *Error) {
	p := &FeedbackAppealDecidedData{}
	_, err := d.members([]string{fReviewID, fDecision}, 0, func(k int) *Error {
		s, err := d.str([]string{fReviewID, fDecision}[k])
		if k == 0 {
			p.ReviewID = string(s)
		} else {
			p.Decision = internDecision(s)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *v2Decoder) rectificationOpened() (*RectificationOpenedData, *Error) {
	p := &RectificationOpenedData{}
	_, err := d.members([]string{fReviewID, fDeadlineDays}, 0, func(k int) *Error {
		var err *Error
		if k == 0 {
			var s []byte
			s, err = d.str(fReviewID)
			p.ReviewID = string(s)
		} else {
			p.DeadlineDays, err = d.int(fDeadlineDays)
		}
		return err
	})
	if err == nil {
		err = p.check()
	}
	return p, err
}

func (d *v2Decoder) rectificationClosed() (*RectificationClosedData, *Error) {
	p := &RectificationClosedData{}
	seen, err := d.members([]string{fReviewID, fResolved, fRating}, 1<<2, func(k int) *Error {
		var err *Error
		switch k {
		case 0:
			var s []byte
			s, err = d.str(fReviewID)
			p.ReviewID = string(s)
		case 1:
			p.Resolved, err = d.bool(fResolved)
		case 2:
			p.Rating, err = d.int(fRating)
		}
		return err
	})
	if err == nil {
		err = p.check(seen&(1<<2) != 0)
	}
	return p, err
}

func (d *v2Decoder) applicationCompleted() (*ApplicationCompletedData, *Error) {
	p := &ApplicationCompletedData{}
	seen, err := d.members(v2applicationPaths, 1<<5|1<<6, func(k int) *Error {
		var err *Error
		switch k {
		case 0, 1:
			return d.itemKey(k, &p.ItemCode, &p.Level)
		case 2:
			var s []byte
			s, err = d.str(fOutcome)
			p.Outcome = internOutcome(s)
		case 3:
			p.Online, err = d.bool(fOnline)
		case 4:
			p.Visits, err = d.int(fVisits)
		case 5:
			p.PromisedDays, err = d.int(fPromisedDays)
		case 6:
			p.TookDays, err = d.int(fTookDays)
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

// v2Hex4 parses the 4 hex digits at b[i:] of an escape \uXXXX.
func v2Hex4(b []byte, i int) (rune, bool) {
	if len(b) < i+4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return rune(n), err == nil
}
