package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
)

// env is one test's NATS server, connection and ingest server.
type env struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	s   *ingest.Server
	h   http.Handler
	reg *prometheus.Registry
}

// setup starts NATS, creates the streams and builds a Server with cfg.
func setup(t testing.TB, cfg ingest.Config) *env {
	t.Helper()
	url, srv := natstest.Start(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js := natstest.Connect(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := natsjs.EnsureStreams(ctx, js, cfg.Names, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := ingest.New(cfg, js, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, nc: nc, js: js, s: s, h: s.Handler(), reg: reg}
}

// post sends body to POST /v1/events and decodes the answer.
func (e *env) post(t testing.TB, ct, body string) (*httptest.ResponseRecorder, ingest.Response) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var resp ingest.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %d %q: %v", rec.Code, rec.Body.String(), err)
	}
	return rec, resp
}

// get sends a GET request to the main handler.
func (e *env) get(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// getAdmin sends a GET request to the admin handler.
func (e *env) getAdmin(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// stored returns the ids in the EVENTS stream in stream order.
func (e *env) stored(t testing.TB) []string {
	t.Helper()
	return e.messages(t, "EVENTS", func(m *jetstream.RawStreamMsg) string {
		var v struct{ ID string }
		if err := json.Unmarshal(m.Data, &v); err != nil {
			t.Fatalf("stored message %q: %v", m.Data, err)
		}
		return v.ID
	})
}

// dlq returns the messages of the DLQ stream.
func (e *env) dlq(t testing.TB) []*jetstream.RawStreamMsg {
	t.Helper()
	var out []*jetstream.RawStreamMsg
	e.messages(t, "DLQ", func(m *jetstream.RawStreamMsg) string {
		out = append(out, m)
		return ""
	})
	return out
}

func (e *env) messages(t testing.TB, stream string, f func(*jetstream.RawStreamMsg) string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	st := s.CachedInfo().State
	var out []string
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %s %d: %v", stream, seq, err)
		}
		out = append(out, f(m))
	}
	return out
}

// feedback returns a valid feedback.rated event.
func feedback(id string, rating int, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"feedback.rated","region":"330000","time":%q,"source":"test","data":{"rating":%d,"channel":"web"}}`,
		id, at.Format(time.RFC3339Nano), rating)
}

// array joins events into a JSON array.
func array(evs ...string) string { return "[" + strings.Join(evs, ",") + "]" }

// statuses lists the status of each result.
func statuses(r ingest.Response) []string {
	out := make([]string, len(r.Results))
	for i, res := range r.Results {
		out[i] = res.Status
	}
	return out
}

// metricIs returns a condition for testwait.For: the admin /metrics series has the value want.
func (e *env) metricIs(series, want string) func() error {
	return func() error {
		if got := e.metric(series); got != want {
			return fmt.Errorf("%s = %q, want %q", series, got, want)
		}
		return nil
	}
}

// readyzIs returns a condition for testwait.For: GET /readyz answers code.
func (e *env) readyzIs(code int) func() error {
	return func() error {
		if rec := e.get("/readyz"); rec.Code != code {
			return fmt.Errorf("readyz %d %q, want %d", rec.Code, rec.Body, code)
		}
		return nil
	}
}

// deadLetters returns a condition for testwait.For: the DLQ stream holds n messages.
func (e *env) deadLetters(t testing.TB, n int) func() error {
	return func() error {
		if got := len(e.dlq(t)); got != n {
			return fmt.Errorf("%d dead letters, want %d", got, n)
		}
		return nil
	}
}
