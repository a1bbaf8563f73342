package engine

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
)

// FuzzRestore feeds arbitrary bytes to Restore: it must return an error or an engine, never panic
// or allocate without bound, and an engine it accepts must encode back to the same bytes.
func FuzzRestore(f *testing.F) {
	cfg := Config{Regions: []string{"330000", "520000"}}
	e, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(e.AppendSnapshot(nil))
	e.Apply(1, published("p1", "330000", atMin(0), "A", 3, events.ModeOnlineApply, events.ModeMobile))
	e.Apply(2, rated("r1", "330000", atMin(5), 4))
	e.Apply(3, app("a1", "520000", atMin(9), events.Completed, true))
	f.Add(e.AppendSnapshot(nil))
	e.Drain()
	e.Apply(4, rated("r2", "520000", atMin(24*60+1), 2))
	f.Add(e.AppendSnapshot(nil))
	e.Apply(5, rated("r3", "330106", atMin(24*60+5), 5))
	e.Apply(6, rated("r4", "330100", atMin(24*60+6), 3))
	e.Apply(7, rated("r5", "520100", atMin(24*60+7), 4))
	f.Add(e.AppendSnapshot(nil))
	e.Drain()
	e.Apply(8, rated("r6", "330106", atMin(24*60+8), 1))
	f.Add(e.AppendSnapshot(nil))
	// The lifecycle of reviews: a review voided, a void before its review, a rectification.
	for i, d := range []events.Payload{
		&events.FeedbackAppealDecidedData{ReviewID: "r6", Decision: events.Upheld},
		&events.FeedbackAppealDecidedData{ReviewID: "r9", Decision: events.Upheld},
		&events.RectificationOpenedData{ReviewID: "r2", DeadlineDays: 5},
	} {
		region := "330106"
		if i == 2 {
			region = "520000"
		}
		e.Apply(uint64(9+i), &events.Event{ID: fmt.Sprint("l", i), Type: d.EventType(), Region: region,
			Time: atMin(24*60 + 10 + i), Source: "fuzz", Data: d})
	}
	e.Apply(12, rated("r9", "330106", atMin(24*60+9), 2))
	f.Add(e.AppendSnapshot(nil))
	f.Add([]byte("gpe\x01"))
	f.Add([]byte("gpe\x02"))
	f.Add([]byte("gpe\x04"))
	f.Add([]byte("gpe\x05"))
	f.Add([]byte("gpe\x07"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Restore(cfg, data)
		if err != nil {
			return
		}
		if again := r.AppendSnapshot(nil); !bytes.Equal(again, data) {
			t.Fatalf("restored engine encodes to %d other bytes", len(again))
		}
	})
}
