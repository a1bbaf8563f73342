package events_test

import (
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

// typical holds one typical event of each type.
func typical() []struct {
	name string
	in   []byte
} {
	return []struct {
		name string
		in   []byte
	}{
		{"catalog.item", []byte(catalog(`{"item_code":"330000-XK-00123","level":"county","required":true}`))},
		{"service.published", []byte(pub("", ""))},
		{"service.withdrawn", []byte(withdrawn(`{"item_code":"330000-XK-00123","level":"city"}`))},
		{"guide.audited", []byte(elems(allElements))},
		{"platform.updated", []byte(platform(`{"integrated":true,"levels":["province","city","county"],"portals":112}`))},
		{"feedback.rated", []byte(feedback(`{"rating":4,"channel":"mobile","item_code":"330000-XK-00123","level":"city"}`))},
		{"application.completed", []byte(application(`{"item_code":"330000-XK-00123","level":"county","outcome":"completed","online":true,"visits":0}`))},
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, tc := range typical() {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := events.Decode(tc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	for _, tc := range typical() {
		e, err := events.Decode(tc.in)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				if buf, err = e.AppendJSON(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
