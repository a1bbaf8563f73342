package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// ceilingResult holds the figures of one run of the JetStream ceiling.
type ceilingResult struct {
	events     int
	publishers int
	total      time.Duration // first publish to the last message consumed
	published  time.Duration // first publish to the last acknowledgement
}

func (c ceilingResult) String() string {
	return fmt.Sprintf("%d events, %d publishers, 1 ordered consumer: %.0f events/s published and consumed (%s), "+
		"publishing alone %.0f events/s (%s)",
		c.events, c.publishers, rate(c.events, c.total), c.total.Round(time.Millisecond),
		rate(c.events, c.published), c.published.Round(time.Millisecond))
}

// ceiling measures what JetStream alone does with the events of the replay, in the manner of
// `nats bench js pub --multisubject` with a consumer running at the same time: a JetStream server
// configured as the replay's (file storage in a fresh folder, default sync interval, the EVENTS
// stream of natsjs.EnsureStreams) takes evs from publishers publishers, each on a NATS connection
// of its own publishing asynchronously its share of the replay's requests (as the feeders divide
// them) as ingest publishes them: the event's subject, its canonical JSON, its Nats-Msg-Id and
// event-time header, the expected stream. Meanwhile one ordered pull consumer, configured as the
// aggregator's (all event subjects, the aggregator's default prefetch), reads every message on a
// connection of its own. The messages are encoded before the clock starts: the ceiling is the
// server's and the client library's, not the encoder's. It returns the time from the first publish
// to the last message consumed, and fails unless the consumer read every event once, in order.
func ceiling(b *testing.B, evs []*events.Event, publishers int) ceilingResult {
	b.StopTimer()
	ctx, cancel := context.WithTimeout(b.Context(), replayTimeout)
	defer cancel()

	names := natsjs.Names{}.WithDefaults()
	srv := startNATS(b, false)
	var pubErrs natsjs.AsyncErrors
	onErr := pubErrs.Handler()
	pubs := make([]jetstream.JetStream, publishers)
	for f := range pubs {
		pubs[f] = connect(b, srv, fmt.Sprintf("govpulse-bench-ceiling-pub-%d", f), onErr)
	}
	subJS := connect(b, srv, "govpulse-bench-ceiling-sub")
	if err := natsjs.EnsureStreams(ctx, pubs[0], names, natsjs.StreamOptions{}); err != nil {
		b.Fatal(err)
	}

	// Each publisher's messages, in the order its feeder would send them.
	base := names.EventSubjectBase()
	type outMsg struct {
		msg *nats.Msg
		id  string
	}
	shares := make([][]outMsg, publishers)
	for f := range shares {
		for ev := range share(evs, f, publishers) {
			payload, err := ev.AppendJSON(nil)
			if err != nil {
				b.Fatalf("encode event %s: %v", ev.ID, err)
			}
			msg := &nats.Msg{Subject: ev.Subject(base), Data: payload, Header: nats.Header{}}
			msg.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(ev.Time))
			shares[f] = append(shares[f], outMsg{msg: msg, id: ev.Key().String()})
		}
	}

	// The consumer starts before the first publish and waits for the stream's first message.
	cons, err := subJS.OrderedConsumer(ctx, names.EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{names.EventsSubjects()},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		b.Fatalf("ordered consumer: %v", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(aggregate.Config{}.WithDefaults().Prefetch))
	if err != nil {
		b.Fatalf("consume: %v", err)
	}
	defer it.Stop()

	var lastConsumed time.Time
	consumed := make(chan error, 1)
	go func() {
		var seq uint64
		for range len(evs) {
			msg, err := it.Next()
			if err != nil {
				consumed <- fmt.Errorf("after %d messages: %w", seq, err)
				return
			}
			md, err := msg.Metadata()
			if err != nil {
				consumed <- fmt.Errorf("message metadata: %w", err)
				return
			}
			if md.Sequence.Stream != seq+1 {
				consumed <- fmt.Errorf("stream sequence %d after %d", md.Sequence.Stream, seq)
				return
			}
			seq = md.Sequence.Stream
		}
		lastConsumed = time.Now()
		consumed <- nil
	}()

	b.StartTimer()
	start := time.Now()
	acked := make([]time.Time, publishers)
	g, gctx := errgroup.WithContext(ctx)
	for f, js := range pubs {
		g.Go(func() error {
			for i, m := range shares[f] {
				_, err := js.PublishMsgAsync(m.msg, jetstream.WithMsgID(m.id),
					jetstream.WithExpectStream(names.EventsStream), jetstream.WithStallWait(time.Minute))
				if err != nil {
					return fmt.Errorf("publisher %d, message %d: %w", f, i, err)
				}
			}
			select {
			case <-js.PublishAsyncComplete():
				acked[f] = time.Now()
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	if err := pubErrs.Err(); err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-consumed:
		if err != nil {
			b.Fatalf("consumer: %v", err)
		}
	case <-ctx.Done():
		b.Fatalf("waiting for the consumer: %v", ctx.Err())
	}
	b.StopTimer()

	st, err := pubs[0].Stream(ctx, names.EventsStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if info.State.Msgs != uint64(len(evs)) {
		b.Fatalf("stream %s holds %d messages, want %d", names.EventsStream, info.State.Msgs, len(evs))
	}
	var lastAck time.Time
	for _, t := range acked {
		if t.After(lastAck) {
			lastAck = t
		}
	}
	return ceilingResult{
		events:     len(evs),
		publishers: publishers,
		total:      lastConsumed.Sub(start),
		published:  lastAck.Sub(start),
	}
}
