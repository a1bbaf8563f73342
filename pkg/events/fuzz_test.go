package events_test

import (
	"errors"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/govpulse/govpulse/pkg/events"
)

// FuzzDecode checks that Decode never panics, that whatever it accepts is
// valid JSON to an independent strict parser (no duplicate names, valid
// UTF-8), that it rejects as malformed only what that parser rejects too,
// and that accepted events survive the canonical round trip.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases() {
		if len(tc.in) <= 4096 {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := events.Decode(b)
		if err != nil {
			if e != nil {
				t.Fatalf("event and error returned")
			}
			var ee *events.Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *events.Error", err)
			}
			switch ee.Reason {
			case events.ReasonSyntax, events.ReasonInvalidUTF8, events.ReasonTrailingData, events.ReasonEmpty:
				if ee.Field == "body" && jsontext.Value(b).IsValid() {
					t.Fatalf("Decode rejected valid JSON as %s: %q", ee.Reason, b)
				}
			}
			return
		}
		if !jsontext.Value(b).IsValid() {
			t.Fatalf("Decode accepted input that is not strictly valid JSON: %q", b)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded event does not validate: %v", err)
		}
		assertRoundTrip(t, e)
	})
}
