package aggregate

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/testwait"
)

// The 2019 scenario through the aggregator of `make run SCENARIO=2019` (methods 2022 then 2017):
// the key-city ranking stored in group_rankings, published on govpulse.grouprankings.key-cities and
// put under group.key-cities is the 2020 report's, in its order and with its composites, under
// method 2022; so is the stored ranking of the provincial units, with the XPCC last.
func TestScenario2019KeyCities(t *testing.T) {
	if testing.Short() {
		t.Skip("short: 88,000 events through the aggregator")
	}
	// The explanation tables are left out: they change no ranking and would take a third of the time.
	svc, js, store := setupService(t, Config{FlushInterval: 2 * time.Second, MaxBatch: 50000, NoExplain: true,
		Methods: []string{scenario.Method2019, scoring.Method}})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan *nats.Msg, 1<<16)
	sub, err := js.Conn().ChanSubscribe(natsjs.Names{}.GroupRankingsSubject(groups.KeyCities), msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	// The scenario in order, 1,000 messages in flight at most.
	evs := scenario.Generate2019(scenario.Options{})
	for i := range evs {
		data, err := evs[i].MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishAsync(evs[i].Subject(""), data, jetstream.WithMsgID(evs[i].Key().String())); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 || i == len(evs)-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(time.Minute):
				t.Fatalf("publishing the scenario stalled after %d events", i+1)
			}
		}
	}
	testwait.Run(t, "aggregator", svc.Run)

	var rows []groupRow
	testwait.For(t, 5*time.Minute, 200*time.Millisecond, func() error {
		stored, err := store.LatestGroupRanking(ctx, groups.KeyCities, scenario.Method2019)
		if err != nil {
			return err
		}
		rows = rows[:0]
		for _, r := range stored {
			rows = append(rows, groupRow{r.Region, r.Composite, int(r.Rank), r.Version})
		}
		return checkRows(rows, scenario.Report2019KeyCities())
	})
	version := rows[0].version

	// The message of that version on the subject, and the same ranking in the bucket.
	// (A later version may only come with the same ranking: the final composites are the report's.)
	checkMessage := func(data []byte) error {
		var rk scoring.Ranking
		if err := json.Unmarshal(data, &rk); err != nil {
			return err
		}
		if rk.Method != scenario.Method2019 || rk.Version < version {
			return fmt.Errorf("ranking of method %s at version %d, want %s at %d or later", rk.Method, rk.Version, scenario.Method2019, version)
		}
		var got []groupRow
		for _, e := range rk.Entries {
			got = append(got, groupRow{e.Region, e.Composite, e.Rank, rk.Version})
		}
		return checkRows(got, scenario.Report2019KeyCities())
	}
	deadline := time.After(time.Minute)
	for found := false; !found; {
		select {
		case m := <-msgs:
			var head struct{ Version uint64 }
			if err := json.Unmarshal(m.Data, &head); err != nil {
				t.Fatal(err)
			}
			if head.Version == version {
				if err := checkMessage(m.Data); err != nil {
					t.Fatalf("message on %s: %v", m.Subject, err)
				}
				found = true
			}
		case <-deadline:
			t.Fatalf("no key-city ranking at version %d on NATS", version)
		}
	}
	// The bucket is written after the message is published.
	testwait.For(t, time.Minute, 100*time.Millisecond, func() error {
		entry, err := kv.Get(ctx, natsjs.GroupRankingKey(groups.KeyCities))
		if err != nil {
			return err
		}
		if err := checkMessage(entry.Value()); err != nil {
			return fmt.Errorf("bucket key %s: %w", natsjs.GroupRankingKey(groups.KeyCities), err)
		}
		return nil
	})

	// The ranking of the provincial units under method 2022: the report's order, the XPCC last.
	testwait.For(t, time.Minute, 200*time.Millisecond, func() error {
		ranking, err := store.LatestMethodRanking(ctx, scenario.Method2019)
		if err != nil {
			return err
		}
		var got []groupRow
		for _, r := range ranking {
			got = append(got, groupRow{r.Region, r.Composite, int(r.Rank), r.Version})
		}
		if len(got) != 32 || got[31].region != "660000" || got[31].composite != 0 {
			return fmt.Errorf("provincial ranking: %v", got)
		}
		return checkRows(got[:31], scenario.Report2019Provinces())
	})
}

// groupRow is one rank of a stored or published ranking.
type groupRow struct {
	region    string
	composite float64
	rank      int
	version   uint64
}

// checkRows reports the first difference between a ranking and the report's list.
func checkRows(got []groupRow, want []scenario.Published) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d ranks, want %d", len(got), len(want))
	}
	for i, p := range want {
		if g := got[i]; g.region != p.Region || g.composite != p.Composite || g.rank != i+1 {
			return fmt.Errorf("rank %d: %s %v (rank %d), want %s %.2f", i+1, g.region, g.composite, g.rank, p.Region, p.Composite)
		}
	}
	return nil
}
