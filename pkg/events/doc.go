// Package events is the govpulse event vocabulary: the envelope, the eleven
// event types and their payloads, strict decoding and validation, canonical
// encoding, NATS subject names and the 32 assessed regions.
//
// # Decoding
//
// [Decode] accepts exactly one JSON object and rejects everything the scoring
// specification does not allow. Every failure is an [*Error] that matches
// [ErrInvalid] with [errors.Is]; its Field names the offending member
// (`id`, `data.rating`, `data.modes[2]`, or `body` for the input as a whole)
// and its Reason is a short snake_case code that can be used as a NATS
// subject token (see the Reason constants).
//
// The rules, beyond the payload tables of the scoring specification:
//
//   - The input must be valid UTF-8 and exactly one JSON value, an object,
//     optionally surrounded by JSON white space; a byte order mark, trailing
//     data or nesting deeper than [MaxDepth] is rejected. Escaped lone
//     surrogates (`\ud800`) are invalid UTF-8.
//   - Member names are compared after unescaping; a repeated name is a
//     duplicate_key error, a name the type does not define is unknown_field.
//   - null is never a value: not for required members and not for the
//     optional item_code and level of feedback.rated (omit them instead).
//   - Integers are JSON integer literals: `3.0`, `3e0` and `-0` are
//     not_integer; an integer beyond the int range is out_of_range.
//   - Text members (name, department, source) are 1..200 Unicode code points
//     (comment and reason 1..500)
//     and may contain no C0 control character (U+0000..U+001F, which includes
//     NUL and tab) and no DEL (U+007F).
//   - Times are RFC 3339 date-times with upper-case T and Z (or a numeric
//     offset), a 4-digit year, 0..59 seconds (no leap second) and at most 9
//     fraction digits, not before 2000-01-01T00:00:00Z. Decode returns them in
//     UTC; the producer's offset is not kept.
//   - Empty lists (`"modes": []`, `"levels": []`, `"detail_codes": []`)
//     decode to nil slices.
//   - The optional members of feedback.rated and the optional rating of
//     rectification.closed must have a valid value when present; in the Go
//     types "", nil and 0 mean absent.
//
// # Error order
//
// When an input breaks several rules, the first in this order is reported:
// (1) the body's syntax; (2) envelope members in document order (unknown,
// duplicate, wrong JSON type, data not an object); (3) missing envelope
// members in the order id, type, region, time, source, data; (4) envelope
// values in that order; (5) payload members in document order, including
// the members of elements; (6) missing payload members in canonical order,
// then missing guide elements in the order of [Elements]; (7) payload values
// in canonical order, where a feedback item_code without level (or the
// reverse) is reported at the position of the absent member. Steps 4 and 7
// are the checks of [Event.Validate] (step 4 also parses the time).
//
// # Encoding
//
// [Event.MarshalJSON] and [Event.AppendJSON] write the canonical form: members
// in the order id, type, region, time, source, data; the time in UTC with
// [time.RFC3339Nano]; payload members in the order of the payload struct
// fields; absent optional members omitted. Decoding the canonical form gives
// an equal event.
//
// All functions are safe for concurrent use; an [Event] is a plain value that
// is not synchronised.
package events
