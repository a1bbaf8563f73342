package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// stage is the DLQ stage of this service.
const stage = natsjs.StageIngest

// ReasonTooLarge is the rejection reason of an event whose message would
// exceed the payload limit of the NATS server.
const ReasonTooLarge = "too_large"

// headerOverhead is a bound on the bytes the publish headers add to an
// event message (Nats-Msg-Id with a 128-character id, Nats-Expected-Stream,
// Govpulse-Event-Time).
const headerOverhead = 512

// maxHeaderValue cuts dead-letter header values.
const maxHeaderValue = 1024

// ReasonForbidden is the rejection reason of an event outside the scope of
// the request's token (its region or its family).
const ReasonForbidden = "forbidden"

// Reasons of dead letters for requests refused as a whole.
const (
	ReasonContentType   = "content_type"    // 415
	ReasonBodyTooLarge  = "body_too_large"  // 413, the body limit
	ReasonTooManyEvents = "too_many_events" // 413, the events limit
	ReasonEmptyBody     = "empty_body"      // 400, no element at all
	ReasonReadBody      = "read_body"       // 400, the body could not be read
	// ReasonBusy refuses a request (503) whose body does not fit in the
	// memory left for request bodies; it is counted, not dead-lettered.
	ReasonBusy = "busy"
)

// handleEvents answers POST /v1/events. A refusal (401, 403, 413, 415,
// 429) closes the connection after a lingering read of the unread body (see
// linger).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	code, resp := s.ingest(w, r)
	switch code {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", s.retryAfter())
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="govpulse"`)
	}
	closing := closes(code) || resp.close
	if closing {
		w.Header().Set("Connection", "close")
		// Read the rest of the body after answering (HTTP/1: not before).
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	s.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	writeJSON(w, code, resp)
	if closing {
		s.linger(w, r)
	}
}

// refuse returns the answer for a request refused as a whole.
func refuse(code int, msg string) (int, *Response) {
	return code, &Response{Results: []Result{}, Error: msg}
}

// ingest handles one request and returns the status code and the response.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) (int, *Response) {
	sc, code, msg := s.authenticate(r)
	if sc == nil {
		return refuse(code, msg)
	}
	if ok, d := s.limits.allow(sc, time.Now()); !ok {
		s.metrics.rateLimited.WithLabelValues(sc.metricSource()).Inc()
		w.Header().Set("Retry-After", seconds(d))
		return refuse(http.StatusTooManyRequests,
			fmt.Sprintf("rate limit: at most %g requests per second (bursts of %d); retry after the Retry-After delay", s.cfg.RateLimit, s.cfg.RateBurst))
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.PublishTimeout)
	defer cancel()
	b := &batch{
		s:        s,
		ctx:      ctx,
		scope:    sc,
		received: s.cfg.Now(),
		resp:     &Response{},
	}
	// While the connection is down, publishes would only be buffered until
	// the request times out: answer 503 at once instead.
	if st := s.js.Conn().Status(); st != nats.CONNECTED {
		b.offline = true
		b.stop(fmt.Errorf("nats connection %s", st))
	}

	f, err := parseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		head, _ := io.ReadAll(io.LimitReader(r.Body, MaxDLQPayload+1))
		return b.refuse(http.StatusUnsupportedMediaType, ReasonContentType,
			err.Error()+" (got "+strconv.Quote(headerValue(r.Header.Get("Content-Type")))+")", head)
	}
	tooLarge := "body over " + strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + " bytes"
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return b.refuse(http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, tooLarge, nil)
	}
	var held int64 // bytes of s.bodyMem this request holds
	defer func() {
		s.bodyMem.Release(held)
		s.metrics.bodyBytes.Sub(float64(held))
	}()
	body, err := readBody(r.Body, s.cfg.MaxBodyBytes, func(n int64) bool {
		if !s.bodyMem.TryAcquire(n) {
			return false
		}
		held += n
		s.metrics.bodyBytes.Add(float64(n))
		return true
	})
	switch {
	case errors.Is(err, errBusy):
		s.metrics.refused.WithLabelValues(ReasonBusy, sc.metricSource()).Inc()
		s.log.Warn("request refused: the memory for request bodies is in use", "max_body_memory", s.cfg.MaxBodyMemory, "source", sc.source)
		w.Header().Set("Retry-After", s.retryAfter())
		code, resp := refuse(http.StatusServiceUnavailable,
			fmt.Sprintf("busy: the request bodies in hand use the %d bytes allowed to them; retry after the Retry-After delay", s.cfg.MaxBodyMemory))
		resp.close = true
		return code, resp
	case errors.Is(err, errBodyTooLarge):
		return b.refuse(http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, tooLarge, body)
	case err != nil:
		return b.refuse(http.StatusBadRequest, ReasonReadBody, "read body: "+err.Error(), body)
	}
	elems, bodyErr, err := split(f, body, s.cfg.MaxEvents)
	switch {
	case errors.Is(err, errTooMany):
		return b.refuse(http.StatusRequestEntityTooLarge, ReasonTooManyEvents, fmt.Sprintf("more than %d events", s.cfg.MaxEvents), body)
	case err != nil:
		return b.refuse(http.StatusBadRequest, ReasonEmptyBody, err.Error(), body)
	}

	b.resp.Results = make([]Result, len(elems))
	for i, raw := range elems {
		b.resp.Results[i].Index = i
		if bodyErr != nil {
			b.reject(i, raw, nil, bodyErr)
			continue
		}
		if len(raw) > s.cfg.MaxEventBytes {
			b.reject(i, raw, nil, &events.Error{
				Field:  "body",
				Rule:   fmt.Sprintf("an event must be at most %d bytes", s.cfg.MaxEventBytes),
				Reason: ReasonTooLarge,
			})
			continue
		}
		ev, err := events.Decode(raw)
		if err == nil {
			err = events.CheckTime(ev.Time, b.received, s.cfg.MaxAhead)
		}
		if err != nil {
			b.reject(i, raw, ev, err)
			continue
		}
		b.resp.Results[i].ID = ev.ID
		if field, rule := sc.allows(ev.Region, ev.Type); rule != "" {
			b.reject(i, raw, ev, &events.Error{Field: field, Rule: rule, Reason: ReasonForbidden})
			continue
		}
		if err := s.tooLate(ev); err != nil {
			b.reject(i, raw, ev, err)
			continue
		}
		if sc.token {
			ev.Source = sc.source // the token says who sends, not the body
		}
		b.publish(i, raw, ev)
	}
	b.wait()
	b.resp.count()
	code = b.resp.code()
	if code == http.StatusServiceUnavailable {
		b.resp.Error = "the stream cannot take events now; retry the whole request (stored events come back as duplicates)"
	}
	s.log.Debug("events", "source", sc.source, "code", code, "accepted", b.resp.Accepted,
		"duplicates", b.resp.Duplicates, "rejected", b.resp.Rejected, "unavailable", b.resp.Unavailable)
	return code, b.resp
}

// refuse refuses the request as a whole: it counts the refusal, writes one
// dead letter with (the start of) the body and returns the answer.
func (b *batch) refuse(code int, reason, msg string, body []byte) (int, *Response) {
	b.s.metrics.refused.WithLabelValues(reason, b.scope.metricSource()).Inc()
	b.deadLetter(body, nil, "", reason, msg)
	b.wait()
	return refuse(code, msg)
}

// batch is the work of one request.
type batch struct {
	s        *Server
	ctx      context.Context
	scope    *scope
	received time.Time
	resp     *Response

	pending  []pendingEvent
	dlq      []jetstream.PubAckFuture
	stopped  error     // the first publish failure; later events are not published
	offline  bool      // the NATS connection was down: nothing is published
	firstPub time.Time // when the first event was published
	letters  int       // dead letters admitted for this request
	dropped  dropped   // dead letters over the bounds, summed up in one letter
}

type pendingEvent struct {
	index int
	raw   []byte
	ev    *events.Event
	fut   jetstream.PubAckFuture
}

// stallWait returns how long a publish may wait for room among the
// outstanding publishes, or an error when the request has no time left.
func (b *batch) stallWait() (time.Duration, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	d := time.Second
	if dl, ok := b.ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	if d <= 0 {
		return 0, context.DeadlineExceeded
	}
	return d, nil
}

// publish sends an accepted event to the EVENTS stream.
func (b *batch) publish(i int, raw []byte, ev *events.Event) {
	if b.stopped != nil {
		b.unavailable(i, b.stopped)
		return
	}
	payload, err := ev.AppendJSON(make([]byte, 0, len(raw)+64))
	if err != nil {
		b.reject(i, raw, ev, err)
		return
	}
	if limit := b.s.js.Conn().MaxPayload(); int64(len(payload)+headerOverhead) > limit {
		b.reject(i, raw, ev, &events.Error{
			Field:  "body",
			Rule:   fmt.Sprintf("must encode to at most %d bytes", limit-headerOverhead),
			Reason: ReasonTooLarge,
		})
		return
	}
	wait, err := b.stallWait()
	if err != nil {
		b.stop(err)
		b.unavailable(i, err)
		return
	}
	msg := &nats.Msg{Subject: ev.Subject(b.s.prefix), Data: payload, Header: nats.Header{}}
	msg.Header.Set(natsjs.EventTimeHeader, natsjs.FormatEventTime(ev.Time)) // the partitions' watermark
	fut, err := b.s.js.PublishMsgAsync(msg,
		jetstream.WithMsgID(ev.Key().String()),
		jetstream.WithExpectStream(b.s.cfg.Names.EventsStream),
		// No resend after "no responders": a resend could overtake later
		// events and break the request order. The client retries instead.
		jetstream.WithRetryAttempts(0),
		jetstream.WithStallWait(wait),
	)
	if err != nil {
		b.stop(err)
		b.unavailable(i, err)
		return
	}
	if len(b.pending) == 0 {
		b.firstPub = time.Now()
	}
	b.s.metrics.pending.Inc()
	b.pending = append(b.pending, pendingEvent{index: i, raw: raw, ev: ev, fut: fut})
}

// stop records the first publish failure of the request.
func (b *batch) stop(err error) {
	if b.stopped == nil {
		b.stopped = err
		b.s.log.Warn("publish failed; the request is answered 503", "error", err, "source", b.scope.source)
	}
}

// unavailable marks element i as not stored.
func (b *batch) unavailable(i int, err error) {
	res := &b.resp.Results[i]
	res.Status = StatusUnavailable
	res.Error = "not stored: " + err.Error()
	b.s.metrics.events.WithLabelValues(StatusUnavailable, "", b.scope.metricSource()).Inc()
}

// wait collects the acknowledgements of the events, then of the dead
// letters, until the request's publish deadline.
func (b *batch) wait() {
	for _, p := range b.pending {
		res := &b.resp.Results[p.index]
		select {
		case ack := <-p.fut.Ok():
			if ack.Duplicate {
				res.Status = StatusDuplicate
			} else {
				res.Status = StatusAccepted
			}
			b.s.metrics.events.WithLabelValues(res.Status, "", b.scope.metricSource()).Inc()
		case err := <-p.fut.Err():
			if errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
				b.reject(p.index, p.raw, p.ev, &events.Error{
					Field:  "body",
					Rule:   "must not exceed the maximum message size of the stream",
					Reason: ReasonTooLarge,
				})
				break
			}
			b.stop(err)
			b.unavailable(p.index, err)
		case <-b.ctx.Done():
			err := fmt.Errorf("no acknowledgement within %s", b.s.cfg.PublishTimeout)
			b.stop(err)
			b.unavailable(p.index, err)
		}
		b.s.metrics.pending.Dec()
	}
	if len(b.pending) > 0 {
		b.s.metrics.publish.Observe(time.Since(b.firstPub).Seconds())
	}
	b.summarizeDropped()
	for _, fut := range b.dlq {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			b.dlqFailed(fut.Msg().Subject, err)
		case <-b.ctx.Done():
			b.dlqFailed(fut.Msg().Subject, errors.New("no acknowledgement in time"))
		}
	}
}

// reject marks element i as rejected and writes it to the DLQ. ev is the
// decoded event when the element decoded, else nil. A failed dead letter is
// logged and counted; the element stays rejected.
func (b *batch) reject(i int, raw []byte, ev *events.Event, err error) {
	reason := "invalid"
	var ee *events.Error
	if errors.As(err, &ee) {
		reason = ee.Reason
	}
	res := &b.resp.Results[i]
	switch {
	case res.ID != "":
	case ev != nil:
		res.ID = ev.ID
	default:
		res.ID = events.PeekID(raw) // name the event in the answer even when it did not decode
	}
	res.Status = StatusRejected
	res.Reason = reason
	res.Error = err.Error()
	if reason == ReasonForbidden {
		b.resp.forbidden++
	}
	b.s.metrics.events.WithLabelValues(StatusRejected, reason, b.scope.metricSource()).Inc()
	b.deadLetter(raw, ev, res.ID, reason, res.Error)
}

// deadLetter publishes raw (cut at MaxDLQPayload) to the DLQ stream with
// the reason and what is known of the event, unless the request or its
// source is over its dead-letter bounds: then it only counts the letter for
// the request's summary (see summarizeDropped).
func (b *batch) deadLetter(raw []byte, ev *events.Event, id, reason, text string) {
	if !b.admitDeadLetter(reason) {
		return
	}
	data, truncated := raw, false
	if len(data) > MaxDLQPayload {
		data, truncated = data[:MaxDLQPayload], true
	}
	h := b.letterHeader(reason, text)
	if ev != nil {
		h.Set(natsjs.HeaderEventID, ev.ID)
		h.Set(natsjs.HeaderRegion, ev.Region)
		h.Set(natsjs.HeaderType, string(ev.Type))
	} else if id != "" {
		h.Set(natsjs.HeaderEventID, id)
	}
	if truncated {
		h.Set(natsjs.HeaderTruncated, "true")
	}
	b.publishLetter(reason, data, h)
}

// letterHeader returns the headers every dead letter of the request has.
func (b *batch) letterHeader(reason, text string) nats.Header {
	h := nats.Header{}
	h.Set(natsjs.HeaderReason, headerValue(text))
	h.Set(natsjs.HeaderReasonCode, headerValue(reason))
	h.Set(natsjs.HeaderStage, stage)
	h.Set(natsjs.HeaderSource, headerValue(b.scope.source))
	h.Set(natsjs.HeaderReceivedAt, b.received.UTC().Format(time.RFC3339Nano))
	return h
}

// publishLetter publishes one dead letter asynchronously; wait collects its
// acknowledgement.
func (b *batch) publishLetter(reason string, data []byte, h nats.Header) {
	subject := b.s.cfg.Names.DLQSubject(stage, reason)
	if b.offline {
		b.dlqFailed(subject, b.stopped)
		return
	}
	wait, werr := b.stallWait()
	if werr != nil {
		b.dlqFailed(subject, werr)
		return
	}
	fut, perr := b.s.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data, Header: h},
		jetstream.WithExpectStream(b.s.cfg.Names.DLQStream),
		jetstream.WithRetryAttempts(0),
		jetstream.WithStallWait(wait),
	)
	if perr != nil {
		b.dlqFailed(subject, perr)
		return
	}
	b.dlq = append(b.dlq, fut)
}

func (b *batch) dlqFailed(subject string, err error) {
	b.s.metrics.dlqFailures.Inc()
	b.s.log.LogAttrs(b.ctx, slog.LevelError, "dead letter not written",
		slog.String("subject", subject), slog.String("error", err.Error()), slog.String("source", b.scope.source))
}

// headerValue makes s safe as a NATS header value: control characters become
// spaces and the value is cut at maxHeaderValue bytes.
func headerValue(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		buf := []byte(s)
		for i, c := range buf {
			if c < 0x20 || c == 0x7f {
				buf[i] = ' '
			}
		}
		s = string(buf)
	}
	if len(s) > maxHeaderValue {
		s = s[:maxHeaderValue]
	}
	return s
}
