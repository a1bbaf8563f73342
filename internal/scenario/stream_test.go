package scenario

import (
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/engine"
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

// TestStreamLifecycle checks the stream with the lifecycle of reviews: every event type, the
// number of events asked for, and, through the engine, alerts raised and ended by the bursts and
// reviews voided on appeal.
func TestStreamLifecycle(t *testing.T) {
	const n = 20000
	opts := StreamOptions{Events: n, Step: time.Minute, Lifecycle: true}
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	types := map[events.Type]int{}
	seq := uint64(0)
	for ev := range Stream(opts) {
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %s: %v", ev.ID, err)
		}
		ids[ev.ID] = true
		types[ev.Type]++
		seq++
		eng.Apply(seq, ev)
	}
	if len(ids) != n {
		t.Fatalf("%d events, want %d", len(ids), n)
	}
	for _, typ := range events.Types() {
		if types[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
	out := eng.Drain()
	states := map[string]int{}
	for _, a := range out.Alerts {
		states[a.State]++
	}
	if states["raised"] == 0 || states["ended"] == 0 || len(out.ReviewStats) == 0 {
		t.Errorf("alerts %v, %d review_stats rows", states, len(out.ReviewStats))
	}
	var upheld, overdue uint64
	for _, r := range out.ReviewStats {
		if r.Period == "day" {
			upheld += r.AppealsUpheld
			overdue += r.Overdue
		}
	}
	if upheld == 0 || overdue == 0 {
		t.Errorf("%d appeals upheld, %d rectifications overdue", upheld, overdue)
	}
}
