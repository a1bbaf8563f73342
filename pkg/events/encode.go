package events

import (
	"strconv"
	"time"
)

// MarshalJSON returns the canonical JSON form of e (see the package
// documentation). It validates e first and returns the [*Error] of
// [Event.Validate] when e is invalid. Note that encoding/json calls it only
// for an *Event or an addressable Event.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 320))
}

// AppendJSON appends the canonical JSON form of e to dst and returns the
// extended slice. It validates e first; when e is invalid it returns dst
// unchanged and the [*Error] of [Event.Validate].
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	if err := e.validate(); err != nil {
		return dst, err
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, string(e.Type))
	dst = append(dst, `,"region":`...)
	dst = appendString(dst, e.Region)
	dst = append(dst, `,"time":"`...)
	dst = e.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"data":{`...)
	switch d := e.Data.(type) {
	case *CatalogItemData:
		dst = appendItem(dst, d.ItemCode, d.Level)
		dst = append(dst, `,"required":`...)
		dst = strconv.AppendBool(dst, d.Required)
	case *ServicePublishedData:
		dst = appendItem(dst, d.ItemCode, d.Level)
		dst = append(dst, `,"name":`...)
		dst = appendString(dst, d.Name)
		dst = append(dst, `,"department":`...)
		dst = appendString(dst, d.Department)
		dst = append(dst, `,"modes":`...)
		dst = appendList(dst, d.Modes)
		dst = append(dst, `,"maturity":`...)
		dst = strconv.AppendInt(dst, int64(d.Maturity), 10)
		dst = appendPortal(dst, d.Portal)
	case *ServiceWithdrawnData:
		dst = appendItem(dst, d.ItemCode, d.Level)
		dst = appendPortal(dst, d.Portal)
	case *GuideAuditedData:
		dst = appendItem(dst, d.ItemCode, d.Level)
		dst = append(dst, `,"elements":{`...)
		for k, v := range d.Elements {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, string(elementAt(k)))
			dst = append(dst, ':')
			dst = appendString(dst, string(v))
		}
		dst = append(dst, `},"consistent":`...)
		dst = strconv.AppendBool(dst, d.Consistent)
		dst = appendPortal(dst, d.Portal)
	case *PlatformUpdatedData:
		dst = append(dst, `"integrated":`...)
		dst = strconv.AppendBool(dst, d.Integrated)
		dst = append(dst, `,"levels":`...)
		dst = appendList(dst, d.Levels)
		dst = append(dst, `,"portals":`...)
		dst = strconv.AppendInt(dst, int64(d.Portals), 10)
	case *FeedbackRatedData:
		dst = append(dst, `"rating":`...)
		dst = strconv.AppendInt(dst, int64(d.Rating), 10)
		dst = append(dst, `,"channel":`...)
		dst = appendString(dst, string(d.Channel))
		if d.ItemCode != "" {
			dst = append(dst, ',')
			dst = appendItem(dst, d.ItemCode, d.Level)
		}
		if d.CaseNumber != "" {
			dst = append(dst, `,"case_number":`...)
			dst = appendString(dst, d.CaseNumber)
		}
		if d.ItemVersion != "" {
			dst = append(dst, `,"item_version":`...)
			dst = appendString(dst, d.ItemVersion)
		}
		if len(d.DetailCodes) > 0 {
			dst = append(dst, `,"detail_codes":`...)
			dst = appendList(dst, d.DetailCodes)
		}
		if d.Comment != "" {
			dst = append(dst, `,"comment":`...)
			dst = appendString(dst, d.Comment)
		}
	case *ApplicationCompletedData:
		dst = appendItem(dst, d.ItemCode, d.Level)
		dst = append(dst, `,"outcome":`...)
		dst = appendString(dst, string(d.Outcome))
		dst = append(dst, `,"online":`...)
		dst = strconv.AppendBool(dst, d.Online)
		dst = append(dst, `,"visits":`...)
		dst = strconv.AppendInt(dst, int64(d.Visits), 10)
		if d.Timed {
			dst = append(dst, `,"promised_days":`...)
			dst = strconv.AppendInt(dst, int64(d.PromisedDays), 10)
			dst = append(dst, `,"took_days":`...)
			dst = strconv.AppendInt(dst, int64(d.TookDays), 10)
		}
	case *FeedbackAppealedData:
		dst = appendReview(dst, d.ReviewID)
		dst = append(dst, `,"reason":`...)
		dst = appendString(dst, d.Reason)
	case *FeedbackAppealDecidedData:
		dst = appendReview(dst, d.ReviewID)
		dst = append(dst, `,"decision":`...)
		dst = appendString(dst, string(d.Decision))
	case *RectificationOpenedData:
		dst = appendReview(dst, d.ReviewID)
		dst = append(dst, `,"deadline_days":`...)
		dst = strconv.AppendInt(dst, int64(d.DeadlineDays), 10)
	case *RectificationClosedData:
		dst = appendReview(dst, d.ReviewID)
		dst = append(dst, `,"resolved":`...)
		dst = strconv.AppendBool(dst, d.Resolved)
		if d.Rating != 0 {
			dst = append(dst, `,"rating":`...)
			dst = strconv.AppendInt(dst, int64(d.Rating), 10)
		}
	}
	return append(dst, "}}"...), nil
}

func appendReview(dst []byte, id string) []byte {
	dst = append(dst, `"review_id":`...)
	return appendString(dst, id)
}

func appendItem(dst []byte, code string, level Level) []byte {
	dst = append(dst, `"item_code":`...)
	dst = appendString(dst, code)
	dst = append(dst, `,"level":`...)
	return appendString(dst, string(level))
}

// appendPortal appends the portal member, which is absent for the main
// portal.
func appendPortal(dst []byte, portal string) []byte {
	if portal == "" {
		return dst
	}
	dst = append(dst, `,"portal":`...)
	return appendString(dst, portal)
}

func appendList[T ~string](dst []byte, l []T) []byte {
	dst = append(dst, '[')
	for i, s := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, string(s))
	}
	return append(dst, ']')
}

// appendString appends s as a JSON string. Only the quote, the backslash
// and control characters are escaped; s is valid UTF-8 (validated).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
