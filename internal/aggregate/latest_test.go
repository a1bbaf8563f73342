package aggregate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// Latest values left over from a stream that was deleted and created anew (their versions lie
// beyond the new stream's end) do not hold back the rebuilt ones.
func TestStaleLatestValuesOfAnOldStreamAreReplaced(t *testing.T) {
	svc, js, _ := setupService(t, Config{FlushInterval: 10 * time.Millisecond})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ranking", "scores.330000"} {
		if _, err := kv.Put(ctx, key, []byte(`{"version":1000000}`)); err != nil {
			t.Fatal(err)
		}
	}
	ev := &events.Event{ID: "r-1", Type: events.FeedbackRated, Region: "330000",
		Time: time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC), Source: "test", Data: &events.FeedbackRatedData{Rating: 5, Channel: "web"}}
	publish(t, js, ev)
	runInBackground(t, svc)
	deadline := time.Now().Add(10 * time.Second)
	for _, key := range []string{"ranking", "scores.330000"} {
		for {
			var v struct {
				Version uint64 `json:"version"`
			}
			entry, err := kv.Get(ctx, key)
			if err == nil && json.Unmarshal(entry.Value(), &v) == nil && v.Version == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still at version %d (%v), want the rebuilt version 1", key, v.Version, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
