// Package ingest is the govpulse HTTP API that producers send events to.
//
// # Tokens
//
// With a tokens file (Config.TokensFile, see ParseTokens) every request
// needs "Authorization: Bearer <token>"; a missing, malformed or unknown
// token is answered 401 before the body is read. The file stores the
// SHA-256 of each token (HashToken), never the token; a presented token is
// hashed and compared with every entry in constant time. Each token names a
// source and the regions and event families it may send. An event outside
// the scope is rejected with reason "forbidden" (the other events of the
// request are judged on their own; a request whose events are all rejected,
// some of them forbidden, is answered 403). The source of an accepted event
// is the token's source, whatever the body says. Server.Reload reads the
// tokens file (and the TLS certificate) again; on an error the old ones stay.
// Without a tokens file the server accepts unauthenticated requests and
// refuses to listen on anything but a loopback address.
//
// Requests are rate limited per token (without tokens they are not limited)
// with a token bucket of Config.RateLimit requests per second and bursts of
// Config.RateBurst; a request over the rate gets 429 with Retry-After. The
// token and the rate are checked before the body is read.
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
// future). A user-experience event older than the horizon (watermark minus
// allowed lateness) of the aggregator partition that holds its region is
// rejected with reason "too_late", the watermark and horizon in the error:
// Run watches the natsjs.WatermarkKeys of the latest-value bucket, waiting
// for the bucket while it does not exist; without a known watermark, or with
// Config.AcceptLate, events are accepted as before and the aggregator
// decides. A JSON array that is not well-formed as a whole is one rejected
// element (index 0, field "body", reason "syntax"); a broken NDJSON line is
// rejected on its own. Accepted events are published, in request order and
// asynchronously, to "<subject prefix>.events.<region>.<family>.<name>" with the
// canonical JSON as payload and Nats-Msg-Id set to the event's identity,
// "<region>/<id>" (events.Key), so that units never share ids; the request
// waits for the acknowledgement of each of its events. The response lists
// every element:
//
//	{"accepted":N,"duplicates":N,"rejected":N,"unavailable":N,
//	 "results":[{"index":0,"id":"...","status":"rejected","reason":"out_of_range",
//	             "error":"field data.rating: must be 1..5"}]}
//
// with status "accepted" (stored by JetStream), "duplicate" (an event with
// that region and id was already stored within the duplicate window),
// "rejected" (with the reason code and the error, e.g. "field data.rating:
// must be 1..5") or "unavailable" (not acknowledged). The status code is 202 when at least one
// event is accepted or a duplicate and none is unavailable, 403 when all are
// rejected and some for their scope, 400 when all are rejected (or the body
// or array is empty), and 503 with Retry-After when JetStream could not
// take some event (no responders, timeout, disconnected, stream full). A
// client that receives 503 retries the whole request: the events that were
// stored come back as duplicates, so nothing is counted twice. An event is
// never reported accepted unless JetStream acknowledged it.
//
// The refusals 401, 403, 413, 415 and 429 close the connection. Before
// closing, the handler reads and discards the rest of the body (at most
// twice Config.MaxBodyBytes, for at most 2 s), so that a client that sends
// its whole body before reading receives the answer instead of a reset.
//
// # Dead letters
//
// Every rejected element is published to the DLQ stream on
// "<subject prefix>.dlq.ingest.<reason>" (reason = events.Error.Reason, "syntax" for
// a broken body, "too_large" for an event over Config.MaxEventBytes or the
// NATS payload limit, "forbidden" outside the token's scope). A request
// refused as a whole after authentication (415, 413, an empty body) is one
// dead letter with reason content_type, body_too_large, too_many_events or
// empty_body and the start of the body; 401 and 429 write none. The
// payload is the original bytes of the element, cut at 64 KiB
// (MaxDLQPayload); the headers are Govpulse-Reason (the error text),
// Govpulse-Reason-Code, Govpulse-Stage ("ingest"), Govpulse-Source (the
// token's source, or the remote address without tokens), Govpulse-Received-At
// (RFC 3339 with nanoseconds), Govpulse-Event-Id, Govpulse-Region and
// Govpulse-Type when the event decoded, and Govpulse-Truncated: true when
// the payload was cut. A failed dead-letter publish is logged and counted
// (govpulse_ingest_dlq_failures_total); it never changes the response.
//
// Dead letters are bounded: at most Config.MaxDeadLetters per request and
// Config.DeadLetterRate per second per source (bursts of DeadLetterBurst).
// Beyond them a request writes one more letter, reason
// "dead_letters_dropped", whose body (a Summary) counts the letters not
// written by cause and reason; the responses are not affected. The DLQ
// stream itself is bounded by age and size (natsjs.StreamOptions).
//
// # Limits
//
// The body is at most 4 MiB (413), a request carries at most 10,000 events
// (413), an event is at most 64 KiB (rejected, too_large), the headers at
// most 64 KiB; reading the headers may take 5 s and the whole request 30 s,
// and a request waits at most 10 s for its acknowledgements; each token may
// send 20 requests per second with bursts of 40 (429). The main listener
// takes at most 1024 connections, 64 per client address; more are closed at
// once. The body is read into a buffer that grows as bytes arrive, bounded by
// the body limit: a declared Content-Length reserves nothing; the buffers of
// all requests share Config.MaxBodyMemory (128 MiB), beyond which a request
// is answered 503 with Retry-After and its connection closed. Config
// documents each limit and its default.
//
// # TLS
//
// With Config.TLSCertFile and TLSKeyFile the listener serves HTTPS only
// (TLS 1.2 or later); Reload picks up a renewed certificate.
//
// # Other endpoints
//
// GET /healthz answers "ok" while the process runs. GET /readyz answers "ok"
// when the NATS connection is up and the last background check (every
// Config.CheckInterval) found the EVENTS stream, else 503 "not ready"; a
// probe makes no request to JetStream. The reason is logged and served,
// with GET /metrics (the Prometheus registry given to New, when it is also a
// prometheus.Gatherer), on the admin address (Config.AdminAddr), which
// producers must not reach: the metrics name the tokens' sources.
package ingest
