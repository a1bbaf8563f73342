package aggregate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// checkFor polls cond every 10ms until it returns nil, failing the test after timeout.
func checkFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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
// code for the given stream sequence.
func waitDeadLetter(t *testing.T, js jetstream.JetStream, code string, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	var found *jetstream.RawStreamMsg
	checkFor(t, 10*time.Second, func() error {
		msgs, err := deadLetters(t.Context(), js)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Subject == "govpulse.dlq.aggregate."+code && m.Header.Get("Govpulse-Stream-Seq") == fmt.Sprint(seq) {
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
	checkFor(t, 10*time.Second, func() error {
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
	runInBackground(t, svc)

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
	runInBackground(t, svc)
	m := waitDeadLetter(t, js, events.ReasonLimit, 3)
	if m.Header.Get("Govpulse-Event-Id") != "p-2" {
		t.Errorf("dead letter headers %v", m.Header)
	}
	if sc := zhejiangScore(t, store, 4); sc.PublishedItems != 2 {
		t.Errorf("%d published items, want 2 (C over the limit)", sc.PublishedItems)
	}
}
