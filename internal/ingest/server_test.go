package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBodies(t *testing.T) {
	e := setup(t, ingest.Config{})
	now := time.Now().Add(-time.Hour)
	tests := []struct {
		name     string
		ct       string
		body     string
		code     int
		statuses []string
		errField string // a substring of the first result's error
	}{
		{"single", "application/json", feedback("b-1", 4, now), 202, []string{"accepted"}, ""},
		{"single with charset", "application/json; charset=utf-8", feedback("b-2", 4, now), 202, []string{"accepted"}, ""},
		{"array", "application/json", array(feedback("b-3", 1, now), feedback("b-4", 5, now)), 202, []string{"accepted", "accepted"}, ""},
		{"ndjson", "application/x-ndjson", feedback("b-5", 2, now) + "\n\n" + feedback("b-6", 3, now) + "\n", 202, []string{"accepted", "accepted"}, ""},
		{"invalid rating", "application/json", feedback("b-7", 9, now), 400, []string{"rejected"}, "field data.rating"},
		{"mixed", "application/json", array(feedback("b-8", 9, now), feedback("b-9", 3, now)), 202, []string{"rejected", "accepted"}, "field data.rating"},
		{"broken array", "application/json", "[" + feedback("b-10", 3, now) + ",{", 400, []string{"rejected"}, "field body"},
		{"broken single", "application/json", `{"id":`, 400, []string{"rejected"}, "field body"},
		{"ndjson broken line", "application/x-ndjson", "{\n" + feedback("b-11", 3, now), 202, []string{"rejected", "accepted"}, "field body"},
		{"future", "application/json", feedback("b-12", 3, time.Now().Add(time.Hour)), 400, []string{"rejected"}, "field time"},
		{"slightly ahead", "application/json", feedback("b-13", 3, time.Now().Add(time.Minute)), 202, []string{"accepted"}, ""},
		{"before 2000", "application/json", feedback("b-14", 3, time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)), 400, []string{"rejected"}, "field time"},
		{"not an object", "application/json", `[1]`, 400, []string{"rejected"}, "field"},
		{"empty body", "application/json", "", 400, []string{}, ""},
		{"empty array", "application/json", "[]", 400, []string{}, ""},
		{"empty ndjson", "application/x-ndjson", "\n \n", 400, []string{}, ""},
		{"text/plain", "text/plain", feedback("b-15", 3, now), 415, []string{}, ""},
		{"no content type", "", feedback("b-16", 3, now), 415, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, resp := e.post(t, tt.ct, tt.body)
			if rec.Code != tt.code {
				t.Fatalf("code = %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if got := statuses(resp); !slices.Equal(got, tt.statuses) {
				t.Fatalf("statuses = %v, want %v: %s", got, tt.statuses, rec.Body)
			}
			for i, r := range resp.Results {
				if r.Index != i {
					t.Errorf("result %d has index %d", i, r.Index)
				}
			}
			if tt.errField != "" && !strings.Contains(resp.Results[0].Error, tt.errField) {
				t.Errorf("error %q does not contain %q", resp.Results[0].Error, tt.errField)
			}
			if n := resp.Accepted + resp.Duplicates + resp.Rejected + resp.Unavailable; n != len(resp.Results) {
				t.Errorf("counts %+v do not add up to %d results", resp, len(resp.Results))
			}
		})
	}
}

func TestDuplicateOnResend(t *testing.T) {
	e := setup(t, ingest.Config{})
	now := time.Now().Add(-time.Minute)
	body := array(feedback("d-1", 4, now), feedback("d-2", 4, now))
	rec, resp := e.post(t, "application/json", body)
	if rec.Code != 202 || resp.Accepted != 2 {
		t.Fatalf("first send: %d %s", rec.Code, rec.Body)
	}
	rec, resp = e.post(t, "application/json", array(feedback("d-1", 4, now), feedback("d-3", 4, now), feedback("d-3", 4, now)))
	if rec.Code != 202 {
		t.Fatalf("resend: %d %s", rec.Code, rec.Body)
	}
	if got, want := statuses(resp), []string{"duplicate", "accepted", "duplicate"}; !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if resp.Duplicates != 2 || resp.Accepted != 1 || resp.Results[0].ID != "d-1" {
		t.Errorf("response %+v", resp)
	}
	if got, want := e.stored(t), []string{"d-1", "d-2", "d-3"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

func TestStoredInRequestOrder(t *testing.T) {
	e := setup(t, ingest.Config{})
	now := time.Now().Add(-time.Minute)
	var evs, ids []string
	for i := range 500 {
		id := fmt.Sprintf("o-%03d", 499-i) // ids descending: order is not by id
		ids = append(ids, id)
		evs = append(evs, feedback(id, 1+i%5, now.Add(-time.Duration(i)*time.Second)))
	}
	rec, resp := e.post(t, "application/x-ndjson", strings.Join(evs, "\n"))
	if rec.Code != 202 || resp.Accepted != 500 {
		t.Fatalf("%d accepted=%d", rec.Code, resp.Accepted)
	}
	if got := e.stored(t); !slices.Equal(got, ids) {
		t.Errorf("stored order differs from request order")
	}
}

func TestCanonicalPayloadAndSubject(t *testing.T) {
	e := setup(t, ingest.Config{})
	at := time.Date(2016, 11, 3, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	rec, _ := e.post(t, "application/json", feedback("c-1", 5, at))
	if rec.Code != 202 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "govpulse.events.330000.feedback.rated" {
		t.Errorf("subject %q", m.Subject)
	}
	if got := m.Header.Get("Nats-Msg-Id"); got != "330000/c-1" {
		t.Errorf("Nats-Msg-Id %q", got)
	}
	// Every aggregator partition reads the event time from this header, not from the payload.
	if got := m.Header.Get("Govpulse-Event-Time"); got != "2016-11-03T01:30:00Z" {
		t.Errorf("Govpulse-Event-Time %q", got)
	}
	if !strings.Contains(string(m.Data), `"time":"2016-11-03T01:30:00Z"`) {
		t.Errorf("payload is not canonical: %s", m.Data)
	}
}

func TestRejectedToDLQ(t *testing.T) {
	e := setup(t, ingest.Config{})
	now := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	big := `{"id":"x","pad":"` + strings.Repeat("a", ingest.MaxDLQPayload) + `"}`
	body := array(feedback("q-1", 9, now), feedback("q-2", 3, now), feedback("q-3", 3, future), big)
	rec, resp := e.post(t, "application/json", body)
	if rec.Code != 202 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got, want := statuses(resp), []string{"rejected", "accepted", "rejected", "rejected"}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	// Every result names its event when the id is readable, rejected or not (the big element's
	// id "x" is valid too, though the element is over the event size limit and is not decoded).
	for i, want := range []string{"q-1", "q-2", "q-3", "x"} {
		if got := resp.Results[i].ID; got != want {
			t.Errorf("result %d names %q, want %q", i, got, want)
		}
	}
	if got := e.stored(t); !slices.Equal(got, []string{"q-2"}) {
		t.Errorf("stored %v", got)
	}
	var dl []string
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.deadLetters(t, 3))
	msgs := e.dlq(t)
	for _, m := range msgs {
		dl = append(dl, m.Subject)
	}
	slices.Sort(dl)
	want := []string{"govpulse.dlq.ingest.bad_time", "govpulse.dlq.ingest.out_of_range", "govpulse.dlq.ingest.too_large"}
	if !slices.Equal(dl, want) {
		t.Fatalf("dead letter subjects %v, want %v", dl, want)
	}
	for _, m := range msgs {
		h := m.Header
		if h.Get(natsjs.HeaderStage) != "ingest" || h.Get(natsjs.HeaderSource) == "" || h.Get(natsjs.HeaderReason) == "" {
			t.Errorf("%s: headers %v", m.Subject, h)
		}
		if _, err := time.Parse(time.RFC3339Nano, h.Get(natsjs.HeaderReceivedAt)); err != nil {
			t.Errorf("%s: received at: %v", m.Subject, err)
		}
		switch m.Subject {
		case "govpulse.dlq.ingest.out_of_range":
			if string(m.Data) != feedback("q-1", 9, now) {
				t.Errorf("payload %s is not the original element", m.Data)
			}
			if h.Get(natsjs.HeaderReason) != "field data.rating: must be 1..5" && !strings.HasPrefix(h.Get(natsjs.HeaderReason), "field data.rating") {
				t.Errorf("reason %q", h.Get(natsjs.HeaderReason))
			}
			// The event did not decode, but its id is readable: the dead letter names it.
			if h.Get(natsjs.HeaderReasonCode) != "out_of_range" || h.Get(natsjs.HeaderEventID) != "q-1" || h.Get(natsjs.HeaderRegion) != "" {
				t.Errorf("headers %v", h)
			}
		case "govpulse.dlq.ingest.bad_time":
			if h.Get(natsjs.HeaderEventID) != "q-3" || h.Get(natsjs.HeaderRegion) != "330000" || h.Get(natsjs.HeaderType) != "feedback.rated" {
				t.Errorf("known fields missing: %v", h)
			}
		case "govpulse.dlq.ingest.too_large":
			if len(m.Data) != ingest.MaxDLQPayload || h.Get(natsjs.HeaderTruncated) != "true" {
				t.Errorf("big element: %d bytes, truncated %q", len(m.Data), h.Get(natsjs.HeaderTruncated))
			}
		}
	}
}

func TestBrokenBodyToDLQ(t *testing.T) {
	e := setup(t, ingest.Config{})
	body := `[{"id":"a"}, {`
	rec, resp := e.post(t, "application/json", body)
	if rec.Code != 400 || len(resp.Results) != 1 || !strings.HasPrefix(resp.Results[0].Error, "field body") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.deadLetters(t, 1))
	m := e.dlq(t)[0]
	if m.Subject != "govpulse.dlq.ingest.syntax" || string(m.Data) != body {
		t.Errorf("dead letter %s %q", m.Subject, m.Data)
	}
}

func TestLimits(t *testing.T) {
	e := setup(t, ingest.Config{MaxBodyBytes: 1000, MaxEvents: 3})
	now := time.Now().Add(-time.Minute)
	tests := []struct {
		name string
		ct   string
		body string
		code int
	}{
		{"body too large", "application/json", strings.Repeat(" ", 1001), 413},
		{"too many events", "application/json", "[1,2,3,4]", 413},
		{"three of them", "application/json", "[1,2,3]", 400},
		{"three events", "application/json", array(feedback("l-1", 1, now), feedback("l-2", 1, now), feedback("l-3", 1, now)), 202},
		{"four events", "application/x-ndjson", "1\n2\n3\n4\n", 413},
		{"three lines", "application/x-ndjson", "1\n2\n3\n", 400},
		{"415 before 413", "text/plain", strings.Repeat(" ", 1001), 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, resp := e.post(t, tt.ct, tt.body)
			if rec.Code != tt.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if (tt.code == 413 || tt.code == 415) && (resp.Error == "" || len(resp.Results) != 0) {
				t.Errorf("refusal without error: %s", rec.Body)
			}
		})
	}
	if got := e.stored(t); !slices.Equal(got, []string{"l-1", "l-2", "l-3"}) {
		t.Errorf("stored %v", got)
	}
}

func TestUnavailableAndReadiness(t *testing.T) {
	e := setup(t, ingest.Config{PublishTimeout: 300 * time.Millisecond, RetryAfter: 1500 * time.Millisecond,
		CheckInterval: 50 * time.Millisecond})
	now := time.Now().Add(-time.Minute)
	if rec := e.get("/readyz"); rec.Code != 503 || rec.Body.String() != "not ready\n" {
		t.Fatalf("readyz before Serve: %d %q", rec.Code, rec.Body)
	}
	serve(t, e, "http")
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.readyzIs(200))
	if rec := e.get("/readyz"); rec.Body.String() != "ok\n" {
		t.Fatalf("readyz %d %q", rec.Code, rec.Body)
	}
	if rec := e.get("/healthz"); rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Fatalf("healthz %d %q", rec.Code, rec.Body)
	}
	restart := natstest.Stop(t, e.srv)
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.readyzIs(503))
	// The main address says only "not ready"; the admin address says why.
	if body := e.get("/readyz").Body.String(); body != "not ready\n" {
		t.Errorf("readyz body %q", body)
	}
	if body := e.getAdmin("/readyz").Body.String(); !strings.Contains(body, "RECONNECTING") {
		t.Errorf("admin readyz body %s", body)
	}
	rec, resp := e.post(t, "application/json", array(feedback("u-1", 3, now), feedback("u-2", 9, now)))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("code %d Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if resp.Accepted != 0 || resp.Duplicates != 0 || resp.Unavailable != 1 || resp.Rejected != 1 {
		t.Errorf("response %s", rec.Body)
	}
	if got := statuses(resp); !slices.Equal(got, []string{"unavailable", "rejected"}) {
		t.Errorf("statuses %v", got)
	}
	if e.get("/healthz").Code != 200 {
		t.Error("healthz while NATS is down")
	}
	restart()
	testwait.For(t, 15*time.Second, 10*time.Millisecond, e.readyzIs(200))
	// The client retries the whole request; nothing was published while
	// the connection was down, so u-1 is accepted now.
	rec, resp = e.post(t, "application/json", array(feedback("u-1", 3, now), feedback("u-2", 9, now)))
	if rec.Code != 202 || resp.Accepted != 1 {
		t.Fatalf("after restart: %d %s", rec.Code, rec.Body)
	}
	if got := e.stored(t); !slices.Equal(got, []string{"u-1"}) {
		t.Errorf("stored %v", got)
	}
}

func TestStreamMissing(t *testing.T) {
	e := setup(t, ingest.Config{PublishTimeout: 2 * time.Second, CheckInterval: 50 * time.Millisecond})
	serve(t, e, "http")
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.readyzIs(200))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.js.DeleteStream(ctx, "EVENTS"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.readyzIs(503))
	if rec := e.getAdmin("/readyz"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "EVENTS not found") {
		t.Errorf("admin readyz %d %s", rec.Code, rec.Body)
	}
	rec, resp := e.post(t, "application/json", feedback("m-1", 3, time.Now()))
	if rec.Code != 503 || resp.Unavailable != 1 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestStreamFull(t *testing.T) {
	e := setup(t, ingest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := natsjs.EnsureStreams(ctx, e.js, natsjs.Names{}, natsjs.StreamOptions{MaxBytes: 2000}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Minute)
	var evs []string
	for i := range 20 {
		evs = append(evs, feedback(fmt.Sprintf("full-%02d", i), 3, now))
	}
	rec, resp := e.post(t, "application/json", array(evs...))
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	stored := e.stored(t)
	if resp.Accepted != len(stored) || resp.Unavailable != 20-len(stored) || len(stored) == 0 {
		t.Errorf("accepted %d, unavailable %d, stored %d", resp.Accepted, resp.Unavailable, len(stored))
	}
	for i, id := range stored {
		if r := resp.Results[i]; r.ID != id || r.Status != ingest.StatusAccepted {
			t.Errorf("stored %s but result %d is %+v", id, i, r)
		}
	}
}

func TestMetrics(t *testing.T) {
	e := setup(t, ingest.Config{})
	now := time.Now().Add(-time.Minute)
	e.post(t, "application/json", array(feedback("x-1", 3, now), feedback("x-2", 0, now)))
	if rec := e.get("/metrics"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics on the main address: %d, want 404", rec.Code)
	}
	body := e.getAdmin("/metrics").Body.String()
	for _, want := range []string{
		`govpulse_ingest_events_total{reason="",source="anonymous",status="accepted"} 1`,
		`govpulse_ingest_events_total{reason="out_of_range",source="anonymous",status="rejected"} 1`,
		`govpulse_ingest_requests_total{code="202"} 1`,
		`govpulse_ingest_publish_duration_seconds_count 1`,
		`govpulse_ingest_requests_in_flight 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := setup(t, ingest.Config{})
	if rec := e.get("/v1/events"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/events: %d", rec.Code)
	}
}

func TestNewRefusesPublicAddress(t *testing.T) {
	e := setup(t, ingest.Config{})
	for _, addr := range []string{":8080", "0.0.0.0:8080", "192.0.2.1:80"} {
		if _, err := ingest.New(ingest.Config{Addr: addr}, e.js, nil, nil); err == nil {
			t.Errorf("New(%q): want error", addr)
		}
	}
	if _, err := ingest.New(ingest.Config{}, nil, nil, nil); err == nil {
		t.Error("New with nil JetStream: want error")
	}
}

func TestRunShutsDown(t *testing.T) {
	e := setup(t, ingest.Config{})
	s, err := ingest.New(ingest.Config{Addr: "127.0.0.1:0"}, e.js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "Run", s.Run)
	stop()
}

func TestRunAddressInUse(t *testing.T) {
	e := setup(t, ingest.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := ingest.New(ingest.Config{Addr: ln.Addr().String()}, e.js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "ingest: listen") {
		t.Fatalf("Run on a busy address: %v", err)
	}
}

// A nil registry registers nothing (and the admin address serves no /metrics); a second Server
// on the registry of the first gets the registry's error back from New.
func TestMetricsRegistry(t *testing.T) {
	e := setup(t, ingest.Config{})
	for range 2 {
		s, err := ingest.New(ingest.Config{}, e.js, nil, nil)
		if err != nil {
			t.Fatalf("New with a nil registry: %v", err)
		}
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("/metrics without a registry: %d, want 404", rec.Code)
		}
	}
	_, err := ingest.New(ingest.Config{}, e.js, nil, e.reg)
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		t.Errorf("New on a registry in use: %v, want an AlreadyRegisteredError", err)
	}
}
