package aggregate

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// Events of cities and counties are scored on their own, and the rankings of their groups are
// stored in ClickHouse and put in the latest-value bucket (and published) under the group's name;
// the ranking of the provincial units holds the 32 provincial units only.
func TestGroupRankingsStoredAndPublished(t *testing.T) {
	svc, js, store := setupService(t, Config{FlushInterval: 10 * time.Millisecond})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2019, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, region := range []string{"440300", "330106", "330000"} {
		publish(t, js, &events.Event{ID: fmt.Sprintf("r-%d", i), Type: events.FeedbackRated, Region: region,
			Time: at.Add(time.Duration(i) * time.Minute), Source: "test",
			Data: &events.FeedbackRatedData{Rating: 5, Channel: events.ChannelWeb}})
	}
	testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		// The version of a group's ranking is the event that last changed a member's composite.
		for group, version := range map[string]uint64{groups.KeyCities: 1, groups.CitiesOf("440000"): 1, groups.CountiesOf("330100"): 2} {
			rows, err := store.LatestGroupRanking(ctx, group, scoring.Method)
			if err != nil || len(rows) == 0 {
				return fmt.Errorf("group %s: %d rows, %v", group, len(rows), err)
			}
			entry, err := kv.Get(ctx, natsjs.GroupRankingKey(group))
			if err != nil {
				return fmt.Errorf("group %s: %v", group, err)
			}
			var rk scoring.Ranking
			if err := json.Unmarshal(entry.Value(), &rk); err != nil {
				return err
			}
			g, _ := groups.Lookup(group)
			if rows[0].Version != version {
				return fmt.Errorf("group %s: version %d", group, rows[0].Version)
			}
			if len(rk.Entries) != len(g.Members) || len(rows) != len(g.Members) || rows[0].Region != rk.Entries[0].Region {
				return fmt.Errorf("group %s: %d entries, %d rows, want %d", group, len(rk.Entries), len(rows), len(g.Members))
			}
		}
		return nil
	})
	rows, err := store.LatestGroupRanking(ctx, groups.KeyCities, scoring.Method)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Region != "440300" || rows[0].Composite <= 0 || rows[1].Composite != 0 {
		t.Errorf("key cities: first %+v, second %+v; want Shenzhen, the one with events, first", rows[0], rows[1])
	}
	ranking, err := store.LatestRanking(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranking) != 32 || ranking[0].Region != "330000" {
		t.Errorf("ranking of the provincial units: %d rows, first %+v", len(ranking), ranking[0])
	}
	scores, err := store.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range scores {
		found = found || s.Region == "330106"
	}
	if !found {
		t.Errorf("no score of 330106 stored")
	}
}
