package scenario

import (
	"reflect"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

func TestStream(t *testing.T) {
	const n = 20000
	ids := map[string]bool{}
	types := map[events.Type]int{}
	var first []*events.Event
	for ev := range Stream(StreamOptions{Events: n}) {
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %s: %v", ev.ID, err)
		}
		if ids[ev.ID] {
			t.Fatalf("id %s repeated", ev.ID)
		}
		ids[ev.ID] = true
		types[ev.Type]++
		if len(first) < 100 {
			first = append(first, ev)
		}
	}
	if len(ids) != n {
		t.Fatalf("%d events, want %d", len(ids), n)
	}
	for _, typ := range events.Types() {
		if types[typ] == 0 && !typ.Lifecycle() { // the 2017 scenarios have no review lifecycle
			t.Errorf("no %s events", typ)
		}
	}
	var again []*events.Event
	for ev := range Stream(StreamOptions{Events: 100}) {
		again = append(again, ev)
	}
	if !reflect.DeepEqual(first, again) {
		t.Error("two streams with equal options differ")
	}
}

func TestStreamStops(t *testing.T) {
	n := 0
	for range Stream(StreamOptions{}) {
		n++
		if n == 10 {
			break
		}
	}
	if n != 10 {
		t.Fatalf("got %d events", n)
	}
}

func BenchmarkStream(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for ev := range Stream(StreamOptions{Events: b.N}) {
		_ = ev
		n++
	}
	if n != b.N {
		b.Fatalf("%d events, want %d", n, b.N)
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Generate(Options{})
	}
}
