package site

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// env is a site on a real JetStream server and a ClickHouse database of its own, with publishers
// that send what the aggregator sends (encoding/json, as internal/aggregate does).
type env struct {
	t      testing.TB
	nc     *nats.Conn
	kv     jetstream.KeyValue
	store  *chstore.Store
	srv    *Server
	http   *httptest.Server
	client *http.Client
	names  natsjs.Names
}

func start(t testing.TB, cfg Config) *env {
	t.Helper()
	conn, database := chtest.Open(t)
	store := chstore.New(conn, database, nil)
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	url, _ := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	kv, err := natsjs.EnsureLatestBucket(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, nc, store, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, nc: nc, kv: kv, store: store, srv: srv, names: natsjs.Names{}.WithDefaults(),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	e.http = httptest.NewServer(srv.Handler())
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("site run: %v", err)
		}
		e.http.Close()
		e.client.CloseIdleConnections()
	})
	waitFor(t, 10*time.Second, func() error { return srv.Ready() })
	return e
}

// waitFor polls cond until it returns nil or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("after %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

// scores returns one score per unit at version: composites spread from 40 to 95 in the order of
// the region list, rotated by shift so that rankings differ.
func scores(version uint64, asOf time.Time, shift int) []scoring.Score {
	regs := events.Regions()
	out := make([]scoring.Score, len(regs))
	for i, r := range regs {
		c := 40 + float64((i+shift)%len(regs))*55/float64(len(regs)-1)
		sat := 75.0
		out[i] = scoring.Score{Region: r.Code, NameZH: r.NameZH, NameEN: r.NameEN, AsOf: asOf, Method: scoring.Method,
			Version: version, ServiceModes: c - 1, ItemCoverage: c + 1, GuideAccuracy: c - 2, OnlineMaturity: c + 2,
			Composite: c, Grade: grade(c), Satisfaction: &sat, PlatformLevels: 3, Integrated: true, Portals: 12,
			Counts: scoring.Counts{PublishedItems: 100, ModesTotal: 600, MaturityTotal: 300, RequiredProvince: 40,
				CoveredProvince: 38, AuditedItems: 10, AuditCorrectConsistent: 70, Applications: 5,
				ApplicationsOnlineCompleted: 4, Ratings: 4, RatingSum: 16},
			WindowStart: asOf.Add(-30 * 24 * time.Hour), WindowEnd: asOf}
	}
	return out
}

func grade(c float64) scoring.Grade {
	switch {
	case c >= 90:
		return scoring.GradeVeryHigh
	case c >= 80:
		return scoring.GradeHigh
	case c >= 60:
		return scoring.GradeMedium
	}
	return scoring.GradeLow
}

// publishScore sends a score as the aggregator does: on its subject and into the bucket.
func (e *env) publishScore(sc scoring.Score) {
	e.t.Helper()
	data, err := json.Marshal(sc)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Publish(e.names.ScoreSubject(sc.Region), data); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.kv.Put(context.Background(), "scores."+sc.Region, data); err != nil {
		e.t.Fatal(err)
	}
}

// publishRanking sends a ranking as the aggregator does.
func (e *env) publishRanking(r *scoring.Ranking) {
	e.t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Publish(e.names.RankingsSubject(), data); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.kv.Put(context.Background(), "ranking", data); err != nil {
		e.t.Fatal(err)
	}
}

// publishAll sends the scores, then their ranking (as a flush does), and returns the ranking.
func (e *env) publishAll(scs []scoring.Score, prev *scoring.Ranking) *scoring.Ranking {
	e.t.Helper()
	for _, sc := range scs {
		e.publishScore(sc)
	}
	r := scoring.Rank(scs, prev, scs[0].Version, scs[0].AsOf)
	e.publishRanking(r)
	return r
}

// get fetches path and decodes a JSON answer into v (when v is not nil); it returns the response
// with its body read.
func (e *env) get(path string, v any) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.client.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			e.t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return resp, string(body)
}

// getWith fetches path with one request header and returns the response and its body.
func (e *env) getWith(path, header, value string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set(header, value)
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(body)
}

// rawStream opens a stream on a connection whose reader never reads, with a small receive buffer.
func (e *env) rawStream(t testing.TB) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.SetReadBuffer(4096); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fmt.Fprintf(conn, "GET /api/v1/stream HTTP/1.1\r\nHost: site\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// sse is one Server-Sent Event as a client reads it.
type sse struct {
	event, id, data string
}

// stream opens /api/v1/stream (with Last-Event-ID when lastID is not empty) and returns the
// events as they come; closing the returned function ends the stream.
func (e *env) stream(query, lastID string) (<-chan sse, func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.http.URL+"/api/v1/stream"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		resp.Body.Close()
		e.t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := make(chan sse, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		readEvents(resp.Body, out)
	}()
	stop := func() {
		cancel()
		resp.Body.Close()
		<-done
	}
	e.t.Cleanup(stop)
	return out, stop
}

// readEvents parses Server-Sent Events from r into out until r ends.
func readEvents(r io.Reader, out chan<- sse) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur sse
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" {
				out <- cur
			}
			cur = sse{}
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// next returns the next event from ch within timeout.
func next(t testing.TB, ch <-chan sse, timeout time.Duration) sse {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
	}
	return sse{}
}

// until reads events from ch until one satisfies ok, and returns the events read.
func until(t testing.TB, ch <-chan sse, timeout time.Duration, ok func(sse) bool) []sse {
	t.Helper()
	var seen []sse
	deadline := time.After(timeout)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("stream ended after %d events", len(seen))
			}
			seen = append(seen, ev)
			if ok(ev) {
				return seen
			}
		case <-deadline:
			t.Fatalf("after %s and %d events: the event awaited did not come", timeout, len(seen))
		}
	}
}

func rankingEvent(version uint64) func(sse) bool {
	return func(ev sse) bool { return ev.event == "ranking" && ev.id == fmt.Sprint(version) }
}
