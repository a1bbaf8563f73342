package aggregate

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// A partition of some units scores only its units and publishes their partial ranking under its
// own key and subject, never as the ranking of all units.
func TestPartialPartition(t *testing.T) {
	svc, js, store := setupService(t, Config{Partition: "east", Regions: []string{"330000", "520000"}, FlushInterval: 10 * time.Millisecond})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, region := range []string{"330000", "520000", "110000"} {
		ev := &events.Event{ID: "p-" + region, Type: events.FeedbackRated, Region: region, Time: when.Add(time.Duration(i) * time.Minute),
			Source: "test", Data: &events.FeedbackRatedData{Rating: 5 - i, Channel: "web"}}
		publish(t, js, ev)
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ranking struct {
		Ranking []struct{ Region string } `json:"ranking"`
	}
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		entry, err := kv.Get(ctx, "ranking.east")
		if err == nil && json.Unmarshal(entry.Value(), &ranking) == nil && len(ranking.Ranking) == 2 {
			return nil
		}
		return fmt.Errorf("no partial ranking under ranking.east: %v", err)
	})
	stop()
	if ranking.Ranking[0].Region != "330000" || ranking.Ranking[1].Region != "520000" {
		t.Errorf("partial ranking %+v, want Zhejiang then Guizhou", ranking.Ranking)
	}
	if _, err := kv.Get(ctx, "ranking"); err == nil {
		t.Error("a partial partition wrote the ranking of all units")
	}
	if rows, err := store.LatestRanking(ctx); err != nil || len(rows) != 0 {
		t.Errorf("rankings table: %d rows (%v), want none from a partial partition", len(rows), err)
	}
	scores, err := store.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 2 {
		t.Errorf("%d latest scores, want the partition's 2 units", len(scores))
	}
}
