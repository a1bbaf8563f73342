package aggregate

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/pkg/events"
)

// reader is Run's consuming side: it reads the stream, applies each message to the engine and
// cuts batches for the flusher. Everything in it is owned by the goroutine of Run; it hands a
// batch over by sending it on the jobs channel and keeps nothing of it. Of readiness it writes
// condConsuming only.
type reader struct {
	cfg     Config
	js      jetstream.JetStream
	log     *slog.Logger
	metrics *metrics
	ready   *readiness

	eng          *engine.Engine
	lastSeq      uint64   // stream sequence of the last message read (applied or not)
	batch        *pending // read since the last cut
	cutReady     *flushJob
	snapshotSeq  uint64    // last sequence of the last snapshot handed to the flusher
	lastSnapshot time.Time // when it was taken
}

// newReader returns the reader of s, before its engine is restored.
func newReader(s *Service) *reader {
	return &reader{cfg: s.cfg, js: s.js, log: s.log, metrics: s.metrics, ready: &s.ready, batch: &pending{}}
}

// read applies one stream message: it decodes the event, checks its time, lets the engine judge
// and apply it, and queues its rows (the event itself; a too-late event also as a late event and a
// dead letter; an event over the item limit also as a dead letter). A message that does not decode,
// or whose time breaks ingest's rule, is queued as a dead letter only: producers that bypass ingest
// can neither stop the aggregator nor move its watermark.
func (s *reader) read(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		s.log.Error("message without metadata skipped", "subject", msg.Subject(), "error", err)
		s.metrics.messages.WithLabelValues("invalid").Inc()
		return
	}
	seq := meta.Sequence.Stream
	s.lastSeq = seq
	s.batch.messages++
	s.metrics.lastSeq.Set(float64(seq))
	s.metrics.lag.Set(float64(meta.NumPending))

	data := msg.Data()
	ev, err := events.Decode(data)
	if err != nil {
		code := "invalid"
		if e, ok := errors.AsType[*events.Error](err); ok {
			code = e.Reason
		}
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: err.Error(), code: code, seq: seq, data: slices.Clone(data),
		})
		s.metrics.messages.WithLabelValues("invalid").Inc()
		s.log.Warn("stream message is not a valid event", "sequence", seq, "subject", msg.Subject(), "error", err)
		return
	}
	// Ingest's time rule, judged against the time the stream stored the message rather than the
	// clock, so that a replay judges every message as the first reading did.
	if err := events.CheckTime(ev.Time, meta.Timestamp, s.cfg.MaxAhead+s.cfg.ClockTolerance); err != nil {
		reason := fmt.Sprintf("%v (event time %s, stored by the stream at %s)", err,
			ev.Time.UTC().Format(time.RFC3339Nano), meta.Timestamp.UTC().Format(time.RFC3339Nano))
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: reason, code: events.ReasonBadTime, seq: seq, data: slices.Clone(data),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues(events.ReasonBadTime).Inc()
		s.log.Warn("stream message has an event time ingest would refuse", "sequence", seq, "subject", msg.Subject(), "reason", reason)
		return
	}
	res := s.eng.Apply(seq, ev)
	if res.Outcome == engine.NotInPartition {
		s.metrics.messages.WithLabelValues("not_in_partition").Inc()
		return
	}
	payload := string(data)
	s.batch.events = append(s.batch.events, eventRow(ev, seq, meta.Timestamp, payload))
	switch res.Outcome {
	case engine.TooLate:
		wm, _ := s.eng.Watermark()
		s.batch.late = append(s.batch.late, lateRow(ev, seq, wm, res.Reason, payload, meta.Timestamp))
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: res.Reason, code: "too_late", seq: seq, data: []byte(payload),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues("too_late").Inc()
	case engine.OverLimit:
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: res.Reason, code: events.ReasonLimit, seq: seq, data: []byte(payload),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues(events.ReasonLimit).Inc()
	case engine.Duplicate:
		s.metrics.messages.WithLabelValues("duplicate").Inc()
	default:
		s.metrics.messages.WithLabelValues("applied").Inc()
	}
}

// sortedKeys returns the keys of m in ascending order, for deterministic publication.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
