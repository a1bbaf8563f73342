//go:build jsonv2

package events_test

import (
	"errors"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

// The tests and benchmark of this file compare Decode with the decoder built
// on json v2 (DecodeJSONv2); run them with -tags jsonv2. See "Decoding on
// json v2" in docs/benchmarks.md.

// TestDecodeJSONv2 checks that the json v2 decoder gives the same event, or
// the same field and reason, as Decode on every table case.
func TestDecodeJSONv2(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			sameDecode(t, []byte(tc.in))
		})
	}
}

// FuzzDecodeJSONv2 checks that the json v2 decoder accepts what Decode
// accepts, with an equal event, and rejects the rest.
func FuzzDecodeJSONv2(f *testing.F) {
	for _, tc := range decodeCases() {
		if len(tc.in) <= 4096 {
			f.Add([]byte(tc.in))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := events.Decode(b)
		got, gerr := events.DecodeJSONv2(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Decode: %v; DecodeJSONv2: %v; input %q", werr, gerr, b)
		}
		if werr == nil && !equalEvents(want, got) {
			t.Fatalf("events differ:\n%+v\n%+v", want, got)
		}
	})
}

func sameDecode(t *testing.T, b []byte) {
	t.Helper()
	want, werr := events.Decode(b)
	got, gerr := events.DecodeJSONv2(b)
	if werr == nil || gerr == nil {
		if werr != nil || gerr != nil {
			t.Fatalf("Decode: %v; DecodeJSONv2: %v", werr, gerr)
		}
		if !equalEvents(want, got) {
			t.Fatalf("events differ:\n%+v\n%+v", want, got)
		}
		return
	}
	var we, ge *events.Error
	if !errors.As(werr, &we) || !errors.As(gerr, &ge) {
		t.Fatalf("errors %v, %v are not *events.Error", werr, gerr)
	}
	if we.Field != ge.Field || we.Reason != ge.Reason {
		t.Errorf("Decode: field %s reason %s (%v); DecodeJSONv2: field %s reason %s (%v)",
			we.Field, we.Reason, werr, ge.Field, ge.Reason, gerr)
	}
}

// BenchmarkDecodeCompare runs Decode and DecodeJSONv2 alternately on the
// typical events, so that both are measured under the same load.
func BenchmarkDecodeCompare(b *testing.B) {
	impls := []struct {
		name   string
		decode func([]byte) (*events.Event, error)
	}{
		{"handwritten", events.Decode},
		{"jsonv2", events.DecodeJSONv2},
	}
	for _, tc := range typical() {
		for _, impl := range impls {
			b.Run("type="+tc.name+"/impl="+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(tc.in)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.decode(tc.in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
