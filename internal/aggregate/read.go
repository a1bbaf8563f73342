package aggregate

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
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
	// progress is the service's Progress: the sequence of the last message read.
	progress *atomic.Uint64
	// stopAt is, for a re-scoring, the last stream sequence it reads.
	stopAt uint64

	eng          *engine.Engine
	lastSeq      uint64   // stream sequence of the last message read (applied or not)
	batch        *pending // read since the last cut
	cutReady     *flushJob
	snapshotSeq  uint64        // last sequence of the last snapshot handed to the flusher
	lastSnapshot time.Time     // when it was taken
	snapshotCost time.Duration // how long taking and encoding it took
	// pending is the number of messages of the consumer's subjects after the last message read,
	// when it was delivered; atEnd is pending == 0 (it was the newest of the stream).
	pending uint64
	atEnd   bool
	// jobs is the number of the last batch cut (flushJob.id); handOver is the service's.
	jobs     uint64
	handOver *handOver
	// subjectBase is the start of every event subject, "<prefix>.events.".
	subjectBase string
	// applied and duplicates are the counters of metrics.messages of the two outcomes nearly
	// every message has, looked up once rather than by label for every message.
	applied, duplicates prometheus.Counter
}

// newReader returns the reader of s, before its engine is restored.
func newReader(s *Service) *reader {
	return &reader{cfg: s.cfg, js: s.js, log: s.log, metrics: s.metrics, ready: &s.ready, progress: &s.progress,
		batch: &pending{}, handOver: &s.handOver,
		subjectBase: s.cfg.Names.EventSubjectBase() + ".",
		applied:     s.metrics.messages.WithLabelValues("applied"),
		duplicates:  s.metrics.messages.WithLabelValues("duplicate"),
	}
}

// handOver counts the batches the reader hands to the flusher (flushJob.id) and those the
// flusher's scores stage has passed on, their scores stored and published, to the rest stage.
// While the two are equal the flusher waits for a batch: a reader at the end of the stream then
// hands over what it has at once instead of waiting for FlushInterval. Only the reader writes
// handed, only the scores stage done.
type handOver struct{ handed, done atomic.Uint64 }

// free reports whether the flusher waits for a batch: it has passed on every batch handed to it.
func (h *handOver) free() bool { return h.done.Load() == h.handed.Load() }

// reasonSubject is the dead-letter reason code of a message whose subject does not name the unit
// of its event.
const reasonSubject = "subject"

// read applies one stream message: it decodes the event, checks its time, lets the engine judge
// and apply it, and queues its rows (the event itself; a too-late event also as a late event and a
// dead letter; an event over the item limit also as a dead letter). A message that does not decode,
// or whose time breaks ingest's rule, is queued as a dead letter only: producers that bypass ingest
// can neither stop the aggregator nor move its watermark.
//
// Every partition reads every message of the stream and follows one watermark (docs/method.md,
// rule 10). A message whose subject names a unit of another partition only moves the watermark,
// by its time (see messageTime); its owner applies it. The owner, or every partition for a
// subject that names no unit, moves the watermark by that same time before it judges the payload,
// so that all partitions agree whatever the payload holds.
func (s *reader) read(msg jetstream.Msg) {
	meta, err := messagePosition(msg)
	if err != nil {
		s.log.Error("message without metadata skipped", "subject", msg.Subject(), "error", err)
		s.metrics.messages.WithLabelValues("invalid").Inc()
		return
	}
	seq := meta.seq
	s.lastSeq = seq
	s.batch.messages++
	s.metrics.lastSeq.Set(float64(seq))
	s.metrics.lag.Set(float64(meta.pending))
	s.pending = meta.pending
	s.atEnd = meta.pending == 0

	data := msg.Data()
	region, known := s.subjectRegion(msg.Subject())
	if known && !s.owns(region) {
		if t, ok := messageTime(msg.Headers(), data); ok && s.checkTime(t, meta.stored) == nil {
			s.eng.Observe(seq, t)
		}
		s.metrics.messages.WithLabelValues("not_in_partition").Inc()
		return
	}
	header, hasHeader := headerTime(msg.Headers())
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
		if hasHeader && s.checkTime(header, meta.stored) == nil {
			s.eng.Observe(seq, header)
		}
		return
	}
	t := ev.Time
	if hasHeader {
		t = header
	}
	// Ingest's time rule, judged against the time the stream stored the message rather than the
	// clock, so that a replay judges every message as the first reading did.
	reason := ""
	if err := s.checkTime(t, meta.stored); err != nil {
		reason = fmt.Sprintf("%v (event time %s, stored by the stream at %s)", err,
			t.UTC().Format(time.RFC3339Nano), meta.stored.UTC().Format(time.RFC3339Nano))
	} else if !t.Equal(ev.Time) {
		reason = fmt.Sprintf("header %s %s differs from the event time %s", natsjs.EventTimeHeader,
			natsjs.FormatEventTime(t), ev.Time.UTC().Format(time.RFC3339Nano))
		s.eng.Observe(seq, t)
	}
	if reason != "" {
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: reason, code: events.ReasonBadTime, seq: seq, data: slices.Clone(data),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues(events.ReasonBadTime).Inc()
		s.log.Warn("stream message has an event time ingest would refuse", "sequence", seq, "subject", msg.Subject(), "reason", reason)
		return
	}
	if !known || ev.Region != region {
		// Its subject decides which partition applies it: an event under another unit's subject
		// would count in one partition and not in another.
		reason := fmt.Sprintf("subject %s does not name the unit of the event, %s", msg.Subject(), ev.Region)
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: reason, code: reasonSubject, seq: seq, data: slices.Clone(data),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues(reasonSubject).Inc()
		s.log.Warn("stream message under another unit's subject", "sequence", seq, "subject", msg.Subject(), "region", ev.Region)
		s.eng.Observe(seq, t)
		return
	}
	res := s.eng.Apply(seq, ev)
	if res.Outcome == engine.NotInPartition {
		s.metrics.messages.WithLabelValues("not_in_partition").Inc()
		return
	}
	payload := payloadString(data)
	s.batch.events = append(s.batch.events, eventRow(ev, seq, meta.stored, payload))
	switch res.Outcome {
	case engine.TooLate:
		wm, _ := s.eng.Watermark()
		s.batch.late = append(s.batch.late, lateRow(ev, seq, wm, res.Reason, payload, meta.stored))
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: res.Reason, code: "too_late", seq: seq, data: []byte(payload),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues("too_late").Inc()
	case engine.PastAppealHorizon:
		// Applied (the appeal counts in review_stats), but the review stays in the score: kept
		// where an operator finds the events whose effect came too late, with the reason.
		wm, _ := s.eng.Watermark()
		s.batch.late = append(s.batch.late, lateRow(ev, seq, wm, res.Reason, payload, meta.stored))
		s.metrics.messages.WithLabelValues(engine.PastAppealHorizon.String()).Inc()
	case engine.OverLimit:
		s.batch.deadLetters = append(s.batch.deadLetters, deadLetter{
			reason: res.Reason, code: events.ReasonLimit, seq: seq, data: []byte(payload),
			eventID: ev.ID, region: ev.Region, typ: string(ev.Type),
		})
		s.metrics.messages.WithLabelValues(events.ReasonLimit).Inc()
	case engine.Duplicate:
		s.duplicates.Inc()
	default:
		s.applied.Inc()
	}
}

// subjectRegion returns the unit named by an event subject ("<prefix>.events.<region>.<type>"),
// and false when the subject names no unit of the hierarchy.
func (s *reader) subjectRegion(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, s.subjectBase)
	if !ok {
		return "", false
	}
	region, _, _ := strings.Cut(rest, ".")
	if _, ok := events.LookupUnit(region); !ok {
		return "", false
	}
	return region, true
}

// owns reports whether region belongs to the partition.
func (s *reader) owns(region string) bool { return s.eng.Owns(region) }

// checkTime is ingest's rule for event times, judged against the time the stream stored the
// message.
func (s *reader) checkTime(t, stored time.Time) error {
	return events.CheckTime(t, stored, s.cfg.MaxAhead+s.cfg.ClockTolerance)
}

// headerTime returns the time in the message's natsjs.EventTimeHeader, and false when it has none
// that parses.
func headerTime(h nats.Header) (time.Time, bool) {
	v := h.Get(natsjs.EventTimeHeader)
	if v == "" {
		return time.Time{}, false
	}
	return natsjs.ParseEventTime(v)
}

// messageTime returns the time by which a stream message moves the watermark: its
// natsjs.EventTimeHeader, set by ingest, so that another partition's payload is not decoded; else,
// for a message written to the stream without it, the time of its decoded event. It returns false
// when the message has neither (a payload that is not a valid event).
func messageTime(h nats.Header, data []byte) (time.Time, bool) {
	if t, ok := headerTime(h); ok {
		return t, true
	}
	ev, err := events.Decode(data)
	if err != nil {
		return time.Time{}, false
	}
	return ev.Time, true
}

// payloadString returns a message's payload as a string that shares its bytes. nats.go hands
// every message a payload of its own (copied out of its read buffer, and never written to after),
// and the aggregator never writes to it either (a dead letter takes a copy), so the bytes cannot
// change under the string. The event row keeps them until its batch is stored, as a copy would; a
// copy costs an allocation and a copy of every payload, about a twentieth of the reader's time on
// a backlog.
func payloadString(data []byte) string {
	return unsafe.String(unsafe.SliceData(data), len(data))
}

// sortedKeys returns the keys of m in ascending order, for deterministic publication.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
