package aggregate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// setupWithConn is setupService that also returns the ClickHouse connection, for statements that
// provoke failures.
func setupWithConn(t *testing.T, cfg Config) (*Service, jetstream.JetStream, *chstore.Store, driver.Conn) {
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
	svc, err := New(cfg, js, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, js, store, conn
}

// rated returns a valid feedback event of Zhejiang at when.
func rated(id string, when time.Time, channel events.Channel) *events.Event {
	return &events.Event{ID: id, Type: events.FeedbackRated, Region: "330000", Time: when, Source: "test",
		Data: &events.FeedbackRatedData{Rating: 4, Channel: channel}}
}

// storeDeadLetters returns the dead letters with reason code "store": event id -> reason.
func storeDeadLetters(t *testing.T, js jetstream.JetStream) map[string]string {
	t.Helper()
	ctx := t.Context()
	cons, err := js.OrderedConsumer(ctx, natsjs.DefaultDLQStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{natsjs.Names{}.DLQSubject("aggregate", "store")},
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for msg := range batch.Messages() {
		out[msg.Headers().Get("Govpulse-Event-Id")] = msg.Headers().Get("Govpulse-Reason")
	}
	return out
}

// zhejiangRatings returns the ratings counted by Zhejiang's latest stored score (-1: none).
func zhejiangRatings(t *testing.T, store *chstore.Store) int {
	t.Helper()
	scores, err := store.LatestScores(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scores {
		if sc.Region == "330000" {
			return int(sc.Ratings)
		}
	}
	return -1
}

func storedIDs(t *testing.T, store *chstore.Store) []string {
	t.Helper()
	rows, err := store.Events(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

// A value ClickHouse refuses (here: a channel the narrowed column of the test database does not
// know) costs only its own event: it is dead-lettered with the ClickHouse error, the rest of the
// batch is stored, and the aggregator goes on consuming.
func TestRefusedRowsAreDeadLetteredAndTheRestStored(t *testing.T) {
	svc, js, store, conn := setupWithConn(t, Config{FlushInterval: 200 * time.Millisecond, RetryMaxInterval: 100 * time.Millisecond})
	ctx := t.Context()
	if err := conn.Exec(ctx, "ALTER TABLE `"+store.Database()+"`.events MODIFY COLUMN channel Enum8('' = 0, 'web' = 1, 'mobile' = 2)"); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 20 {
		channel := events.ChannelWeb
		if i == 7 || i == 12 {
			channel = events.ChannelHotline
		}
		publish(t, js, rated(fmt.Sprintf("r-%02d", i), when.Add(time.Duration(i)*time.Minute), channel))
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		if ids := storedIDs(t, store); len(ids) != 18 {
			return fmt.Errorf("%d events stored, want 18: %v", len(ids), ids)
		}
		return nil
	})
	var letters map[string]string
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		letters = storeDeadLetters(t, js)
		if len(letters) != 2 {
			return fmt.Errorf("store dead letters %v, want r-07 and r-12", letters)
		}
		return nil
	})
	for _, id := range []string{"r-07", "r-12"} {
		if !strings.Contains(letters[id], `unknown element "hotline"`) || !strings.Contains(letters[id], "events row") {
			t.Errorf("dead letter of %s: reason %q, want the ClickHouse error", id, letters[id])
		}
	}
	// The score reflects all 20 events (the engine applied them); it is stored and published.
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if got := zhejiangRatings(t, store); got != 20 {
			return fmt.Errorf("Zhejiang's latest score counts %d ratings, want 20", got)
		}
		return nil
	})
	// Consumption goes on.
	publish(t, js, rated("r-20", when.Add(time.Hour), events.ChannelMobile))
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if ids := storedIDs(t, store); !slices.Contains(ids, "r-20") {
			return fmt.Errorf("r-20 not stored after the refused rows: %v", ids)
		}
		return nil
	})
	if err := svc.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	stop()
}

// A derived row ClickHouse refuses (here: a score, refused by a materialized view of the test
// database) is not published, and the event behind it is dead-lettered; the other rows are stored.
func TestRefusedScoreIsNotPublishedAndItsEventDeadLettered(t *testing.T) {
	svc, js, store, conn := setupWithConn(t, Config{FlushInterval: 200 * time.Millisecond, RetryMaxInterval: 100 * time.Millisecond})
	ctx := t.Context()
	db := "`" + store.Database() + "`"
	for _, q := range []string{
		"CREATE TABLE " + db + ".score_sink (region String) ENGINE = MergeTree ORDER BY region",
		"CREATE MATERIALIZED VIEW " + db + ".score_check TO " + db + ".score_sink AS SELECT region FROM " + db +
			".method_scores WHERE throwIf(region = '520000') = 0",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	publish(t, js, rated("z-1", when, events.ChannelWeb))
	guizhou := rated("g-1", when.Add(time.Minute), events.ChannelWeb)
	guizhou.Region = "520000"
	publish(t, js, guizhou)
	stop := testwait.Run(t, "aggregator", svc.Run)
	var letters map[string]string
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		letters = storeDeadLetters(t, js)
		if _, ok := letters["g-1"]; !ok {
			return fmt.Errorf("store dead letters %v, want g-1", letters)
		}
		return nil
	})
	if !strings.Contains(letters["g-1"], "scores row") || !strings.Contains(letters["g-1"], "throwIf") {
		t.Errorf("dead letter of g-1: reason %q, want the refused score's ClickHouse error", letters["g-1"])
	}
	if _, ok := letters["z-1"]; ok {
		t.Errorf("z-1 dead-lettered: %q", letters["z-1"])
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if _, err := kv.Get(ctx, "scores.330000"); err != nil {
			return fmt.Errorf("Zhejiang's score not published: %v", err)
		}
		return nil
	})
	if _, err := kv.Get(ctx, "scores.520000"); err == nil {
		t.Error("Guizhou's refused score was published")
	}
	if ids := storedIDs(t, store); !slices.Equal(ids, []string{"g-1", "z-1"}) {
		t.Errorf("stored events %v, want both", ids)
	}
	stop()
}

// A column dropped during a run is a schema fault: the batch is retried, /readyz says why, and
// once the fault has lasted SchemaFaultGrace the events it refuses are dead-lettered and the rest
// of the batch is stored; when the column is back, events are stored again.
func TestSchemaFaultIsRetriedForItsGraceThenDeadLettered(t *testing.T) {
	// Long enough that a loaded machine's retries and bisection of one batch (a few seconds)
	// cannot be mistaken for another grace period.
	const grace = 6 * time.Second
	svc, js, store, conn := setupWithConn(t, Config{FlushInterval: 50 * time.Millisecond, RetryMaxInterval: 100 * time.Millisecond,
		SchemaFaultGrace: grace})
	ctx := t.Context()
	table := "`" + store.Database() + "`.events"
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	publish(t, js, rated("s-1", when, events.ChannelWeb))
	stop := testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		if ids := storedIDs(t, store); len(ids) != 1 {
			return fmt.Errorf("stored %v, want s-1", ids)
		}
		return nil
	})

	if err := conn.Exec(ctx, "ALTER TABLE "+table+" DROP COLUMN channel"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	publish(t, js, rated("s-2", when.Add(time.Minute), events.ChannelWeb))
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if err := svc.Ready(); err == nil || !strings.Contains(err.Error(), "schema fault") {
			return fmt.Errorf("Ready() = %v, want not ready with a schema fault", err)
		}
		return nil
	})
	var letters map[string]string
	testwait.For(t, grace+20*time.Second, 20*time.Millisecond, func() error {
		letters = storeDeadLetters(t, js)
		if _, ok := letters["s-2"]; !ok {
			return fmt.Errorf("store dead letters %v, want s-2", letters)
		}
		return nil
	})
	if waited := time.Since(start); waited < grace {
		t.Errorf("s-2 dead-lettered after %s, before the grace of %s", waited, grace)
	}
	if !strings.Contains(letters["s-2"], "No such column channel") {
		t.Errorf("dead letter of s-2: reason %q, want the ClickHouse error", letters["s-2"])
	}
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if got := zhejiangRatings(t, store); got != 2 {
			return fmt.Errorf("Zhejiang's latest score counts %d ratings, want 2", got)
		}
		if err := svc.Ready(); err != nil {
			return fmt.Errorf("Ready() = %v after the rows were dead-lettered", err)
		}
		return nil
	})

	// While the fault lasts, later events do not wait for another grace period.
	publish(t, js, rated("s-3", when.Add(2*time.Minute), events.ChannelWeb))
	start = time.Now()
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if _, ok := storeDeadLetters(t, js)["s-3"]; !ok {
			return errors.New("s-3 not dead-lettered")
		}
		return nil
	})
	if waited := time.Since(start); waited > grace {
		t.Errorf("s-3 waited %s, another grace period", waited)
	}

	// The column is back: events are stored again.
	if err := conn.Exec(ctx, "ALTER TABLE "+table+" ADD COLUMN channel String AFTER rating"); err != nil {
		t.Fatal(err)
	}
	publish(t, js, rated("s-4", when.Add(3*time.Minute), events.ChannelWeb))
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		if ids := storedIDs(t, store); !slices.Equal(ids, []string{"s-1", "s-4"}) {
			return fmt.Errorf("stored %v, want s-1 and s-4", ids)
		}
		return nil
	})
	if _, ok := storeDeadLetters(t, js)["s-4"]; ok {
		t.Error("s-4 dead-lettered after the column came back")
	}
	stop()
}

// 101 valid events in 101 months are stored: the store keeps every INSERT block within 100
// partitions (current releases refuse more).
func TestBatchOf101Months(t *testing.T) {
	svc, js, store, conn := setupWithConn(t, Config{FlushInterval: time.Second})
	ctx := t.Context()
	for i := range 101 {
		publish(t, js, rated(fmt.Sprintf("m-%03d", i), time.Date(2008, time.Month(1+i), 1, 10, 0, 0, 0, time.UTC), events.ChannelWeb))
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 60*time.Second, 20*time.Millisecond, func() error {
		if ids := storedIDs(t, store); len(ids) != 101 {
			return fmt.Errorf("%d events stored, want 101", len(ids))
		}
		return nil
	})
	var months uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(toYYYYMM(time)) FROM `"+store.Database()+"`.events").Scan(&months); err != nil {
		t.Fatal(err)
	}
	if months != 101 {
		t.Errorf("events span %d months, want 101", months)
	}
	if letters := storeDeadLetters(t, js); len(letters) != 0 {
		t.Errorf("dead letters %v, want none", letters)
	}
	stop()
}
