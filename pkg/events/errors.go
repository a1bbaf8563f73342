package events

import "errors"

// ErrInvalid is matched (with [errors.Is]) by every error that [Decode],
// [Event.Validate], [Event.MarshalJSON], [Event.AppendJSON] and [CheckTime]
// return for an event that breaks a rule.
var ErrInvalid = errors.New("events: invalid event")

// Reasons: the values of [Error.Reason]. Each is a short snake_case code that
// is a valid NATS subject token.
const (
	ReasonSyntax         = "syntax"          // the body is not well-formed JSON
	ReasonInvalidUTF8    = "invalid_utf8"    // the body is not valid UTF-8, or escapes a lone surrogate
	ReasonTooDeep        = "too_deep"        // objects and arrays nested deeper than MaxDepth
	ReasonTrailingData   = "trailing_data"   // something follows the JSON value
	ReasonEmpty          = "empty"           // an empty body or an empty string
	ReasonUnknownField   = "unknown_field"   // a member the type does not define
	ReasonDuplicateKey   = "duplicate_key"   // a member given twice
	ReasonMissingField   = "missing_field"   // a required member is absent
	ReasonWrongType      = "wrong_type"      // a JSON value of the wrong kind, or null
	ReasonNotInteger     = "not_integer"     // a number that is not an integer literal
	ReasonOutOfRange     = "out_of_range"    // an integer outside its range
	ReasonTooLong        = "too_long"        // a string over its length limit
	ReasonBadFormat      = "bad_format"      // a string with characters or a form not allowed
	ReasonControlChar    = "control_char"    // a text with a control character
	ReasonUnknownType    = "unknown_type"    // type is not one of the seven event types
	ReasonUnknownRegion  = "unknown_region"  // region is not one of the 32 regions
	ReasonUnknownValue   = "unknown_value"   // a level, mode, verdict, channel or outcome not defined
	ReasonDuplicateValue = "duplicate_value" // a value repeated in a list
	ReasonBadTime        = "bad_time"        // a time before 2000-01-01, after 9999 or too far ahead
)

// ReasonLimit is the reason code of a valid event that the aggregator does not apply because it
// would take a unit's state over a documented bound (the items per unit and level). It is a
// dead-letter reason, never the Reason of an [Error].
const ReasonLimit = "limit"

// Error describes why an event is invalid. It matches [ErrInvalid].
type Error struct {
	// Field is the member at fault as a path: "id", "data.rating",
	// "data.modes[2]", "data.elements.fees", or "body" for the input as a
	// whole.
	Field string
	// Rule is the rule that was broken, in words: "must be 1..5".
	Rule string
	// Reason is one of the Reason constants.
	Reason string
}

// Error returns "field <Field>: <Rule>", e.g. "field data.rating: must be 1..5".
func (e *Error) Error() string { return "field " + e.Field + ": " + e.Rule }

// Is reports whether target is [ErrInvalid].
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func newError(field, reason, rule string) *Error {
	return &Error{Field: field, Rule: rule, Reason: reason}
}
