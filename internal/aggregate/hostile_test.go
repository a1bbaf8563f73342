package aggregate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

// deadLetters returns the messages of the DLQ stream.
func deadLetters(ctx context.Context, js jetstream.JetStream) ([]*jetstream.RawStreamMsg, error) {
	stream, err := js.Stream(ctx, natsjs.DefaultDLQStream)
	if err != nil {
		return nil, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// waitDeadLetter waits until the DLQ holds a dead letter of the aggregator with the given reason
// code (any when empty) for the given stream sequence.
func waitDeadLetter(t *testing.T, js jetstream.JetStream, code string, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	var found *jetstream.RawStreamMsg
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		msgs, err := deadLetters(t.Context(), js)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if (code == "" || m.Subject == "govpulse.dlq.aggregate."+code) && m.Header.Get("Govpulse-Stream-Seq") == fmt.Sprint(seq) {
				found = m
				return nil
			}
		}
		return fmt.Errorf("no dead letter %s for sequence %d among %d", code, seq, len(msgs))
	})
	return found
}

// zhejiangScore waits until Zhejiang's latest score is at version and returns it.
func zhejiangScore(t *testing.T, store *chstore.Store, version uint64) chstore.ScoreRow {
	t.Helper()
	var row chstore.ScoreRow
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		rows, err := store.LatestScores(t.Context())
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Region == "330000" {
				if row = r; r.Version == version {
					return nil
				}
				return fmt.Errorf("Zhejiang at version %d, want %d", r.Version, version)
			}
		}
		return errors.New("no score for Zhejiang")
	})
	return row
}

// metricValue returns the value of the gauge or counter name (without labels) gathered from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func rating(id string, at time.Time, r int) *events.Event {
	return &events.Event{ID: id, Type: events.FeedbackRated, Region: "330000", Time: at, Source: "test",
		Data: &events.FeedbackRatedData{Rating: r, Channel: events.ChannelWeb}}
}

// An event published straight to the stream with a time in 9999, which ingest would have refused,
// is a dead letter with reason bad_time: it never moves the watermark, and later events are scored
// as if it had not been there.
func TestEventFromTheFarFutureIsADeadLetter(t *testing.T) {
	svc, js, store := setupService(t, Config{FlushInterval: 10 * time.Millisecond})
	if err := natsjs.EnsureStreams(t.Context(), js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	publish(t, js, rating("r-1", when, 5))
	publish(t, js, rating("r-future", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1))
	publish(t, js, rating("r-2", when.Add(time.Hour), 3))
	testwait.Run(t, "aggregator", svc.Run)

	m := waitDeadLetter(t, js, events.ReasonBadTime, 2)
	if m.Header.Get("Govpulse-Event-Id") != "r-future" || m.Header.Get("Govpulse-Reason-Code") != events.ReasonBadTime {
		t.Errorf("dead letter headers %v", m.Header)
	}
	sc := zhejiangScore(t, store, 3)
	if want := when.Add(time.Hour - 10*time.Minute); !sc.AsOf.Equal(want) || sc.Ratings != 2 || sc.RatingSum != 8 {
		t.Errorf("score after the far-future event: as of %v with %d ratings summing to %d; want as of %v, 2 ratings summing to 8",
			sc.AsOf, sc.Ratings, sc.RatingSum, want)
	}
	if counts, err := store.EventCounts(t.Context()); err != nil || counts["330000"] != 2 {
		t.Errorf("stored events %v (%v), want the 2 valid ones", counts, err)
	}
}

// A producer that invents item codes fills its unit's state only up to the limit: the change that
// would add one more item is a dead letter with reason limit, and changes of items already held
// still apply.
func TestItemsOverTheLimitAreDeadLetters(t *testing.T) {
	svc, js, store := setupService(t, Config{FlushInterval: 10 * time.Millisecond, MaxItemsPerLevel: 2})
	if err := natsjs.EnsureStreams(t.Context(), js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, code := range []string{"A", "B", "C", "A"} {
		publish(t, js, &events.Event{ID: fmt.Sprintf("p-%d", i), Type: events.ServicePublished, Region: "330000",
			Time: when.Add(time.Duration(i) * time.Minute), Source: "test",
			Data: &events.ServicePublishedData{ItemCode: code, Level: events.LevelProvince, Name: "n", Department: "d", Maturity: 4}})
	}
	testwait.Run(t, "aggregator", svc.Run)
	m := waitDeadLetter(t, js, events.ReasonLimit, 3)
	if m.Header.Get("Govpulse-Event-Id") != "p-2" {
		t.Errorf("dead letter headers %v", m.Header)
	}
	if sc := zhejiangScore(t, store, 4); sc.PublishedItems != 2 {
		t.Errorf("%d published items, want 2 (C over the limit)", sc.PublishedItems)
	}
}

// With EVENTS present but the DLQ stream deleted, the first invalid message makes the aggregator
// create the DLQ stream again and write its dead letter there; the valid events after it are
// scored, and the service stays ready.
func TestMissingDLQStreamIsCreatedAgain(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc, js, store := setupServiceWith(t, Config{FlushInterval: 10 * time.Millisecond}, reg)
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, natsjs.DefaultDLQStream); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	publish(t, js, rating("r-1", when, 5))
	if _, err := js.Publish(ctx, "govpulse.events.330000.feedback.rated", []byte(`{"id":"no-type"}`)); err != nil {
		t.Fatal(err)
	}
	publish(t, js, rating("r-2", when.Add(time.Minute), 3))
	testwait.Run(t, "aggregator", svc.Run)

	m := waitDeadLetter(t, js, "", 2)
	if m.Header.Get("Govpulse-Stage") != "aggregate" || m.Header.Get("Govpulse-Reason") == "" || string(m.Data) != `{"id":"no-type"}` {
		t.Errorf("dead letter %s %v", m.Data, m.Header)
	}
	if sc := zhejiangScore(t, store, 3); sc.Ratings != 2 {
		t.Errorf("%d ratings after the invalid message, want 2", sc.Ratings)
	}
	testwait.For(t, 5*time.Second, 10*time.Millisecond, svc.Ready)
	if n := metricValue(t, reg, "govpulse_aggregate_dlq_stream_created_total"); n != 1 {
		t.Errorf("DLQ stream created %v times, want 1", n)
	}
	if n := metricValue(t, reg, "govpulse_aggregate_dead_letters_pending"); n != 0 {
		t.Errorf("%v dead letters pending, want 0", n)
	}
}

// A DLQ stream that exists but takes no dead letters (here: it no longer listens on the DLQ
// subjects) does not stop the aggregator: valid events are still scored, the dead letters wait in
// the backlog, /readyz and the pending metric say so, and no checkpoint covers an unwritten dead
// letter. Once the stream takes them again they are written, readiness returns and the final
// checkpoint covers everything.
func TestUnwritableDLQHoldsBackCheckpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	svc, js, store := setupServiceWith(t, Config{FlushInterval: 10 * time.Millisecond, CheckpointInterval: time.Nanosecond, DeadLetterBacklog: 2}, reg)
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	dlq := natsjs.DLQConfig(natsjs.Names{}, natsjs.StreamOptions{})
	broken := dlq
	broken.Subjects = []string{"elsewhere.>"}
	if _, err := js.UpdateStream(ctx, broken); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC)
	invalid := func() {
		t.Helper()
		if _, err := js.Publish(ctx, "govpulse.events.330000.feedback.rated", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, js, rating("r-1", when, 5))                  // 1
	invalid()                                               // 2
	publish(t, js, rating("r-2", when.Add(time.Minute), 3)) // 3
	stop := testwait.Run(t, "aggregator", svc.Run)

	if sc := zhejiangScore(t, store, 3); sc.Ratings != 2 {
		t.Errorf("%d ratings, want 2: valid events are scored while dead letters wait", sc.Ratings)
	}
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		err := svc.Ready()
		if err == nil || !strings.Contains(err.Error(), "dead letters: 1 not written to the DLQ stream (oldest: sequence 2)") {
			return fmt.Errorf("ready: %v", err)
		}
		if n := metricValue(t, reg, "govpulse_aggregate_dead_letters_pending"); n != 1 {
			return fmt.Errorf("%v dead letters pending, want 1", n)
		}
		return nil
	})
	obj, err := natsjs.EnsureCheckpointStore(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkpointSeq := func() uint64 {
		t.Helper()
		data, err := obj.GetBytes(ctx, "partition-all")
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		c, err := decodeCheckpoint(data)
		if err != nil {
			t.Fatal(err)
		}
		return c.lastSeq
	}
	if seq := checkpointSeq(); seq >= 2 {
		t.Fatalf("checkpoint covers sequence %d, past the unwritten dead letter of sequence 2", seq)
	}
	// More invalid messages fill the backlog (2): consumption pauses until they are written. The
	// batch that fills it holds 4 alone, or 4 and 5 when both were read before it was cut.
	invalid()                                                 // 4
	invalid()                                                 // 5
	publish(t, js, rating("r-3", when.Add(2*time.Minute), 4)) // 6
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := metricValue(t, reg, "govpulse_aggregate_dead_letters_pending"); n < 2 {
			return fmt.Errorf("%v dead letters pending, want the backlog full (2 or 3)", n)
		}
		return nil
	})
	if _, err := js.UpdateStream(ctx, dlq); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{2, 4, 5} {
		waitDeadLetter(t, js, "", seq)
	}
	zhejiangScore(t, store, 6)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, svc.Ready)
	stop()
	if seq := checkpointSeq(); seq != 6 {
		t.Errorf("final checkpoint covers sequence %d, want 6", seq)
	}
}

// The backlog keeps at most 64 KiB of each dead letter and is full at its count or at 64 MiB.
func TestDeadLetterBacklogBounds(t *testing.T) {
	s := &flusher{cfg: Config{DeadLetterBacklog: 3}.WithDefaults(), metrics: mustMetrics(t)}
	s.queueDeadLetters([]deadLetter{{seq: 1, data: make([]byte, 1<<20)}, {seq: 2, data: []byte("x")}})
	if len(s.backlog[0].data) != maxDeadLetterData || !s.backlog[0].truncated || s.backlog[1].truncated {
		t.Fatalf("first letter %d bytes (truncated %v), second truncated %v", len(s.backlog[0].data), s.backlog[0].truncated, s.backlog[1].truncated)
	}
	if s.backlogFull() {
		t.Fatal("2 letters of 3 make the backlog full")
	}
	s.queueDeadLetters([]deadLetter{{seq: 3}})
	if !s.backlogFull() {
		t.Fatal("3 letters of 3 do not make the backlog full")
	}
	big := &flusher{cfg: Config{}.WithDefaults(), metrics: mustMetrics(t)}
	for i := range maxBacklogBytes / maxDeadLetterData {
		if big.backlogFull() {
			t.Fatalf("full after %d letters of 64 KiB", i)
		}
		big.queueDeadLetters([]deadLetter{{seq: uint64(i), data: make([]byte, maxDeadLetterData)}})
	}
	if !big.backlogFull() {
		t.Fatal("64 MiB of dead letters do not make the backlog full")
	}
}

// mustMetrics returns unregistered metrics for a Service built by hand.
func mustMetrics(t *testing.T) *metrics {
	t.Helper()
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
