// Package ingest is the govpulse HTTP API that producers send events to.
//
// # POST /v1/events
//
// The body is one JSON event, a JSON array of events (Content-Type
// application/json, a charset parameter of utf-8 allowed) or NDJSON, one
// event per line (application/x-ndjson; blank lines are skipped and do not
// count as elements). Any other content type is refused with 415.
//
// Each element is decoded strictly with events.Decode and its time checked
// with events.CheckTime against the clock (at most Config.MaxAhead in the
// future). A JSON array that is not well-formed as a whole is one rejected
// element (index 0, field "body", reason "syntax"); a broken NDJSON line is
// rejected on its own. Accepted events are published, in request order and
// asynchronously, to "<prefix>.events.<region>.<family>.<name>" with the
// canonical JSON as payload and Nats-Msg-Id set to the event id; the request
// waits for the acknowledgement of each of its events. The response lists
// every element:
//
//	{"accepted":N,"duplicates":N,"rejected":N,"unavailable":N,
//	 "results":[{"index":0,"id":"...","status":"accepted","error":"..."}]}
//
// with status "accepted" (stored by JetStream), "duplicate" (an event with
// that id was already stored within the duplicate window), "rejected" (with
// the error, e.g. "field data.rating: must be 1..5") or "unavailable" (not
// acknowledged). The status code is 202 when at least one event is accepted
// or a duplicate and none is unavailable, 400 when all are rejected (or the
// body or array is empty), and 503 with Retry-After when JetStream could not
// take some event (no responders, timeout, disconnected, stream full). A
// client that receives 503 retries the whole request: the events that were
// stored come back as duplicates, so nothing is counted twice. An event is
// never reported accepted unless JetStream acknowledged it.
//
// # Dead letters
//
// Every rejected element is published to the DLQ stream on
// "<prefix>.dlq.ingest.<reason>" (reason = events.Error.Reason, "syntax" for
// a broken body, "too_large" for an event over the NATS payload limit). The
// payload is the original bytes of the element, cut at 64 KiB
// (MaxDLQPayload); the headers are Govpulse-Reason (the error text),
// Govpulse-Reason-Code, Govpulse-Stage ("ingest"), Govpulse-Source (the
// remote address: requests are unauthenticated), Govpulse-Received-At
// (RFC 3339 with nanoseconds), Govpulse-Event-Id, Govpulse-Region and
// Govpulse-Type when the event decoded, and Govpulse-Truncated: true when
// the payload was cut. A failed dead-letter publish is logged and counted
// (govpulse_ingest_dlq_failures_total); it never changes the response.
//
// # Limits
//
// The body is at most 4 MiB (413), a request carries at most 10,000 events
// (413); reading the headers may take 5 s and the whole request 30 s, and a
// request waits at most 10 s for its acknowledgements. Config documents each
// limit and its default.
//
// # Authentication
//
// Tokens are not supported yet: the server accepts unauthenticated requests
// and therefore refuses to listen on anything but a loopback address, and it
// logs a warning that says so.
//
// # Other endpoints
//
// GET /healthz answers 200 while the process runs. GET /readyz answers 200
// when the NATS connection is up and the EVENTS stream exists, else 503 with
// the reason. GET /metrics serves the Prometheus registry given to New (when
// it is also a prometheus.Gatherer).
package ingest
