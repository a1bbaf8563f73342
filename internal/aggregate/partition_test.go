package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scenario"
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
		t.Errorf("rankings view: %d rows (%v), want none from a partial partition", len(rows), err)
	}
	scores, err := store.LatestScores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 2 {
		t.Errorf("%d latest scores, want the partition's 2 units", len(scores))
	}
}

// side is one deployment under test: a NATS server and a ClickHouse database of its own.
type side struct {
	js    jetstream.JetStream
	store *chstore.Store
}

func newSide(t *testing.T) side {
	t.Helper()
	conn, database := chtest.Open(t)
	store := chstore.New(conn, database, nil)
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	if err := natsjs.EnsureStreams(t.Context(), js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return side{js: js, store: store}
}

// run starts an aggregator of cfg on the side until the test ends.
func (s side) run(t *testing.T, cfg Config) {
	t.Helper()
	svc, err := New(cfg, s.js, s.store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Run(t, "aggregator "+cfg.Partition, svc.Run)
}

// stored is what a side stored, without the times at which its NATS server stored the messages.
type stored struct {
	scores  []chstore.ScoreRow
	windows []chstore.WindowRow
	events  []chstore.EventRow
	late    []chstore.LateEventRow
	ranking []chstore.RankingRow
	pushed  string // the ranking under the key "ranking"
	letters uint64 // messages in the DLQ stream
}

func (s side) stored(ctx context.Context) (stored, error) {
	var (
		out stored
		err error
	)
	if out.scores, err = s.store.LatestScores(ctx); err != nil {
		return out, err
	}
	if out.windows, err = s.store.Windows(ctx, ""); err != nil {
		return out, err
	}
	if out.events, err = s.store.Events(ctx, ""); err != nil {
		return out, err
	}
	for i := range out.events {
		out.events[i].IngestTime = time.Time{}
	}
	if out.late, err = s.store.LateEvents(ctx, ""); err != nil {
		return out, err
	}
	for i := range out.late {
		out.late[i].RecordedAt = time.Time{}
	}
	if out.ranking, err = s.store.LatestRanking(ctx); err != nil {
		return out, err
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, s.js, natsjs.Names{}, 1)
	if err != nil {
		return out, err
	}
	if entry, err := kv.Get(ctx, "ranking"); err == nil {
		out.pushed = string(entry.Value())
	}
	info, err := s.js.Stream(ctx, natsjs.DefaultDLQStream)
	if err != nil {
		return out, err
	}
	out.letters = info.CachedInfo().State.Msgs
	return out, nil
}

// partitionStream returns the messages of a synthetic stream over the 32 units, most with the
// event-time header ingest sets and some without, days passing and events up to nine days out of
// order, and among them messages that break the rules of read: an event under another unit's
// subject, a header that contradicts the payload, an invalid payload whose header moves the
// watermark, and messages under subjects that name no unit. It also returns how many events are
// stored.
func partitionStream(t *testing.T, n int) ([]*nats.Msg, int) {
	t.Helper()
	var (
		msgs  []*nats.Msg
		valid int
		last  time.Time
	)
	add := func(subject string, data []byte, header time.Time, id string) {
		m := nats.NewMsg(subject)
		m.Data = data
		if !header.IsZero() {
			m.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(header))
		}
		m.Header.Set(jetstream.MsgIDHeader, id)
		msgs = append(msgs, m)
	}
	i := 0
	for ev := range scenario.Stream(scenario.StreamOptions{Seed: 16, Events: n, Step: 15 * time.Minute, Jitter: 9 * 24 * time.Hour}) {
		i++
		data, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		header := ev.Time
		if i%5 == 0 {
			header = time.Time{} // written to the stream without ingest: decoded
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
		switch i {
		case n / 6: // under another unit's subject
			other := *ev
			other.Region = "110000"
			if ev.Region == other.Region {
				other.Region = "120000"
			}
			add(other.Subject(""), data, header, "subject-"+ev.ID)
			continue
		case 2 * n / 6: // the header contradicts the payload: its time moves the watermark
			add(ev.Subject(""), data, ev.Time.Add(2*24*time.Hour), "header-"+ev.ID)
			continue
		case 3 * n / 6: // not an event, but its header moves the watermark
			add(ev.Subject(""), []byte(`{"id":"broken"}`), last.Add(3*24*time.Hour), "broken")
		case 4 * n / 6: // no unit in the subject
			add("govpulse.events.999999.feedback.rated", data, header, "nowhere-"+ev.ID)
			add("govpulse.events.999999.feedback.rated", []byte(`{}`), time.Time{}, "nowhere")
			continue
		}
		valid++
		add(ev.Subject(""), data, header, ev.Key().String())
	}
	return msgs, valid
}

// Rule 10: two aggregator partitions that split the units, against one NATS server and one
// database, store what one aggregator stores against another from the same stream: every latest
// score with its version, every window, event and late event, the same dead letters, and the same
// latest ranking of all units, stored and under the key "ranking".
func TestPartitionsStoreWhatOneAggregatorStores(t *testing.T) {
	ctx := t.Context()
	msgs, valid := partitionStream(t, 600)
	single, parted := newSide(t), newSide(t)
	for _, s := range []side{single, parted} {
		for _, m := range msgs {
			if _, err := s.js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	var east, west []string
	for i, r := range events.Regions() {
		if i%3 == 0 {
			east = append(east, r.Code)
		} else {
			west = append(west, r.Code)
		}
	}
	single.run(t, Config{FlushInterval: 20 * time.Millisecond, MaxBatch: 250})
	parted.run(t, Config{Partition: "east", Regions: east, FlushInterval: 20 * time.Millisecond, MaxBatch: 90})
	parted.run(t, Config{Partition: "west", Regions: west, FlushInterval: 10 * time.Millisecond, MaxBatch: 400})

	testwait.For(t, 60*time.Second, 200*time.Millisecond, func() error {
		for _, s := range []side{single, parted} {
			counts, err := s.store.EventCounts(ctx)
			if err != nil {
				return err
			}
			n := uint64(0)
			for _, c := range counts {
				n += c
			}
			if n != uint64(valid) {
				return fmt.Errorf("%d events stored, want %d", n, valid)
			}
		}
		return nil
	})
	testwait.For(t, 30*time.Second, 200*time.Millisecond, func() error {
		want, err := single.stored(ctx)
		if err != nil {
			return err
		}
		got, err := parted.stored(ctx)
		if err != nil {
			return err
		}
		switch {
		case len(want.scores) != 32:
			return fmt.Errorf("%d latest scores", len(want.scores))
		case !reflect.DeepEqual(want.scores, got.scores):
			return fmt.Errorf("latest scores differ:\n%+v\n%+v", want.scores, got.scores)
		case !reflect.DeepEqual(want.windows, got.windows):
			return fmt.Errorf("windows differ: %d and %d rows", len(want.windows), len(got.windows))
		case len(want.late) == 0 || !reflect.DeepEqual(want.late, got.late):
			return fmt.Errorf("late events differ: %d and %d rows", len(want.late), len(got.late))
		case !reflect.DeepEqual(want.events, got.events):
			return errors.New("events differ")
		case want.letters != got.letters:
			return fmt.Errorf("%d and %d dead letters", want.letters, got.letters)
		case len(want.ranking) != 32 || !reflect.DeepEqual(want.ranking, got.ranking):
			return fmt.Errorf("latest rankings differ:\n%+v\n%+v", want.ranking, got.ranking)
		case want.pushed == "" || want.pushed != got.pushed:
			return fmt.Errorf("rankings under the key differ:\n%s\n%s", want.pushed, got.pushed)
		}
		return nil
	})
	// Both explain every score they stored; one aggregator the changes of its rankings too (the
	// ranker of partitions may have stored a single ranking: it merges the newest cut it has).
	testwait.For(t, 30*time.Second, 200*time.Millisecond, func() error {
		for name, s := range map[string]side{"one aggregator": single, "partitions": parted} {
			history, err := s.store.ScoreHistory(ctx, "")
			if err != nil {
				return err
			}
			changes, err := s.store.ScoreChanges(ctx, "")
			if err != nil {
				return err
			}
			if err := explain.Verify(history, changes); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			ranks, err := s.store.RankChanges(ctx, time.Time{}, time.Now())
			if err != nil {
				return err
			}
			if len(ranks) == 0 && name == "one aggregator" {
				return fmt.Errorf("%s: no rank changes stored", name)
			}
		}
		return nil
	})
}

// Messages whose subject or header contradicts their event are dead letters: an event under
// another unit's subject (reason subject) and a Govpulse-Event-Time header that is not the event's
// time (reason bad_time). Neither is stored; the header's time still moves the watermark.
func TestSubjectAndHeaderMustMatchTheEvent(t *testing.T) {
	svc, js, store := setupService(t, Config{FlushInterval: 10 * time.Millisecond})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	send := func(subject string, ev *events.Event, header time.Time) {
		t.Helper()
		data, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(header))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	ev := rating("m-1", when, 5)
	send("govpulse.events.110000.feedback.rated", ev, when)              // 1: Zhejiang's event under Beijing's subject
	send(ev.Subject(""), rating("m-2", when, 4), when.Add(48*time.Hour)) // 2: the header says two days later
	send(ev.Subject(""), rating("m-3", when.Add(time.Hour), 3), when.Add(time.Hour))
	testwait.Run(t, "aggregator", svc.Run)
	waitDeadLetter(t, js, reasonSubject, 1)
	waitDeadLetter(t, js, events.ReasonBadTime, 2)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		evs, err := store.Events(ctx, "")
		if err != nil {
			return err
		}
		if len(evs) != 1 || evs[0].ID != "m-3" {
			return fmt.Errorf("stored events %+v, want m-3 only", evs)
		}
		return nil
	})
	// m-3's score is computed at the watermark the header of sequence 2 moved.
	if row := zhejiangScore(t, store, 3); !row.AsOf.Equal(when.Add(48*time.Hour - 10*time.Minute)) {
		t.Errorf("score as of %v, want the watermark of the header of sequence 2", row.AsOf)
	}
}
