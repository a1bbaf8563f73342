package aggregate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
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
	testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		for _, key := range []string{"ranking", "scores.330000"} {
			var v struct {
				Version uint64 `json:"version"`
			}
			entry, err := kv.Get(ctx, key)
			if err != nil || json.Unmarshal(entry.Value(), &v) != nil || v.Version != 1 {
				return fmt.Errorf("%s still at version %d (%v), want the rebuilt version 1", key, v.Version, err)
			}
		}
		return nil
	})
}

// After a flush that advanced it, the partition's watermark is in the latest-value bucket under
// natsjs.WatermarkKey, with the allowed lateness and the regions of the partition (none listed
// for all units), so that ingest can answer too-late events at once.
func TestWatermarkInLatestBucket(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		regions []string
	}{
		{"all units", Config{}, nil},
		{"partition", Config{Partition: "west", Regions: []string{"520000", "330000"}, AllowedLateness: 48 * time.Hour}, []string{"330000", "520000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.FlushInterval = 10 * time.Millisecond
			svc, js, _ := setupService(t, tc.cfg)
			ctx := t.Context()
			if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
				t.Fatal(err)
			}
			when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
			publish(t, js, rating("w-1", when.Add(time.Hour), 5))
			publish(t, js, rating("w-2", when, 4)) // older: the watermark stays
			testwait.Run(t, "aggregator", svc.Run)
			kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			partition := cmp.Or(tc.cfg.Partition, "all")
			lateness := cmp.Or(tc.cfg.AllowedLateness, 7*24*time.Hour)
			want := natsjs.Watermark{Partition: partition, Regions: tc.regions, Watermark: when.Add(50 * time.Minute),
				AllowedLatenessSeconds: int64(lateness / time.Second), Version: 2}
			testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
				entry, err := kv.Get(ctx, natsjs.WatermarkKey(partition))
				if err != nil {
					return err
				}
				var got natsjs.Watermark
				if err := json.Unmarshal(entry.Value(), &got); err != nil {
					return err
				}
				// The watermark is put after the flush that moved it: w-1's, which is also w-2's
				// when both were read into one batch.
				if got.Version == 1 || got.Version == 2 {
					want.Version = got.Version
				}
				if !reflect.DeepEqual(got, want) {
					return fmt.Errorf("watermark %+v, want %+v", got, want)
				}
				if !got.Horizon().Equal(want.Watermark.Add(-lateness)) {
					return fmt.Errorf("horizon %v", got.Horizon())
				}
				return nil
			})
		})
	}
}
