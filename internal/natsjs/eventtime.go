package natsjs

import "time"

// EventTimeHeader is the header ingest sets on every message of the EVENTS stream: the event's
// time, as FormatEventTime writes it. Every aggregator partition reads the time of every message
// of the stream, so that all partitions follow one watermark; from this header it gets the time
// of another partition's event without decoding its payload. A message without the header (from
// a producer that writes to the stream directly) is decoded instead.
const EventTimeHeader = "Govpulse-Event-Time"

// FormatEventTime returns t as the value of EventTimeHeader: RFC 3339 in UTC with as many
// fraction digits as needed (nanoseconds at most).
func FormatEventTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseEventTime returns the time in a value of EventTimeHeader, and false when v is not an RFC
// 3339 time.
func ParseEventTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
