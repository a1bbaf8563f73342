package ctl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeIngest is a small HTTP server that judges events as ingest does
// (strict decoding, deduplication by id) and can fail on purpose. It is an
// HTTP peer for the client under test, not a stand-in for NATS.
type fakeIngest struct {
	mu       sync.Mutex
	seen     map[string]bool
	order    []string
	requests int
	fail     func(n int) (status int, hijack bool) // n counts requests from 1
	reject   func(ev *events.Event) bool
	// stall, when set and >= 0 for request n, stores only that many events
	// of the request and answers 503 with the results so far, as ingest
	// does when the stream stalls.
	stall func(n int) int
}

func (f *fakeIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if r.Method != http.MethodPost || r.URL.Path != "/v1/events" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if f.fail != nil {
		if status, hijack := f.fail(f.requests); hijack {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		} else if status != 0 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":"stream unavailable"}`, status)
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type result struct {
		Index  int    `json:"index"`
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error,omitempty"`
	}
	var out struct {
		Accepted   int      `json:"accepted"`
		Duplicates int      `json:"duplicates"`
		Rejected   int      `json:"rejected"`
		Unavail    int      `json:"unavailable"`
		Results    []result `json:"results"`
	}
	stallAt := -1
	if f.stall != nil {
		stallAt = f.stall(f.requests)
	}
	for i, m := range raw {
		ev, err := events.Decode(m)
		switch {
		case stallAt >= 0 && i >= stallAt:
			out.Unavail++
			out.Results = append(out.Results, result{Index: i, Status: "unavailable", Error: "no acknowledgement"})
		case err != nil:
			out.Rejected++
			out.Results = append(out.Results, result{Index: i, Status: "rejected", Error: err.Error()})
		case f.reject != nil && f.reject(ev):
			out.Rejected++
			out.Results = append(out.Results, result{Index: i, ID: ev.ID, Status: "rejected", Error: "field region: not allowed"})
		case f.seen[ev.ID]:
			out.Duplicates++
			out.Results = append(out.Results, result{Index: i, ID: ev.ID, Status: "duplicate"})
		default:
			f.seen[ev.ID] = true
			f.order = append(f.order, ev.ID)
			out.Accepted++
			out.Results = append(out.Results, result{Index: i, ID: ev.ID, Status: "accepted"})
		}
	}
	status := http.StatusAccepted
	switch {
	case out.Unavail > 0:
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "0")
	case out.Rejected == len(raw):
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func newFake(t *testing.T) (*fakeIngest, string) {
	t.Helper()
	f := &fakeIngest{seen: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func fastRetry(url string) ctl.FeedOptions {
	return ctl.FeedOptions{URL: url, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsed: 5 * time.Second}
}

func synthetic(n int) func(func(*events.Event) bool) {
	return scenario.Stream(scenario.StreamOptions{Events: n})
}

func TestFeedCountsAndRepeat(t *testing.T) {
	f, url := newFake(t)
	ctx := context.Background()
	opts := fastRetry(url)
	opts.Batch = 500
	sum, err := ctl.Feed(ctx, synthetic(1200), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := ctl.FeedSummary{Events: 1200, Accepted: 1200, Requests: 3}
	if sum.String() != want.String() {
		t.Errorf("first feed: %s, want %s", sum, want)
	}
	// In order: the server stored the events as the stream yields them.
	i := 0
	for ev := range synthetic(1200) {
		if f.order[i] != ev.ID {
			t.Fatalf("event %d stored as %s, want %s", i, f.order[i], ev.ID)
		}
		i++
	}
	sum, err = ctl.Feed(ctx, synthetic(1200), opts)
	if err != nil {
		t.Fatal(err)
	}
	want = ctl.FeedSummary{Events: 1200, Duplicates: 1200, Requests: 3}
	if sum.String() != want.String() {
		t.Errorf("second feed: %s, want %s", sum, want)
	}
}

func TestFeedRetries(t *testing.T) {
	tests := []struct {
		name    string
		fail    func(n int) (int, bool)
		retries int
	}{
		{"503 twice", func(n int) (int, bool) {
			if n <= 2 {
				return http.StatusServiceUnavailable, false
			}
			return 0, false
		}, 2},
		{"502 then 503", func(n int) (int, bool) {
			switch n {
			case 1:
				return http.StatusBadGateway, false
			case 2:
				return http.StatusServiceUnavailable, false
			}
			return 0, false
		}, 2},
		{"connection dropped", func(n int) (int, bool) { return 0, n == 2 }, 1},
		{"503 on every other request", func(n int) (int, bool) {
			if n%2 == 1 {
				return http.StatusServiceUnavailable, false
			}
			return 0, false
		}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, url := newFake(t)
			f.fail = tc.fail
			opts := fastRetry(url)
			opts.Batch = 100
			sum, err := ctl.Feed(context.Background(), synthetic(250), opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Accepted != 250 || sum.Duplicates != 0 || sum.Requests != 3 || sum.Retries != tc.retries {
				t.Errorf("summary %s, want 250 accepted in 3 requests, %d retries", sum, tc.retries)
			}
		})
	}
}

// TestFeedPartialStall checks that events stored before a 503 count as
// accepted although the retry reports them as duplicates.
func TestFeedPartialStall(t *testing.T) {
	f, url := newFake(t)
	f.stall = func(n int) int {
		switch n {
		case 1:
			return 40
		case 2:
			return 0
		}
		return -1
	}
	opts := fastRetry(url)
	opts.Batch = 100
	sum, err := ctl.Feed(context.Background(), synthetic(150), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := ctl.FeedSummary{Events: 150, Accepted: 150, Requests: 2, Retries: 2}
	if sum.String() != want.String() {
		t.Errorf("summary %s, want %s", sum, want)
	}
	if len(f.order) != 150 {
		t.Errorf("server stored %d events, want 150", len(f.order))
	}
}

func TestFeedRejected(t *testing.T) {
	f, url := newFake(t)
	f.reject = func(ev *events.Event) bool { return ev.Region == "540000" }
	evs := scenario.Generate(scenario.Options{})
	src := func(yield func(*events.Event) bool) {
		for i := range evs[:3000] {
			if !yield(&evs[i]) {
				return
			}
		}
	}
	rejected := 0
	for i := range evs[:3000] {
		if evs[i].Region == "540000" {
			rejected++
		}
	}
	sum, err := ctl.Feed(context.Background(), src, fastRetry(url))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != rejected || sum.Accepted != 3000-rejected || len(sum.Errors) != min(rejected, 10) {
		t.Errorf("summary %s with %d errors, want %d rejected", sum, len(sum.Errors), rejected)
	}
	if len(sum.Errors) > 0 && !strings.HasPrefix(sum.Errors[0], "scn-540000-") {
		t.Errorf("first error %q", sum.Errors[0])
	}
	// A batch of which every event is rejected is answered 400 with the
	// results; the feed counts them and goes on.
	f.reject = func(*events.Event) bool { return true }
	sum, err = ctl.Feed(context.Background(), synthetic(20), fastRetry(url))
	if err != nil || sum.Rejected != 20 || sum.Requests != 1 {
		t.Errorf("all rejected: %s, err %v", sum, err)
	}
}

func TestFeedPermanentFailure(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType} {
		f, url := newFake(t)
		f.fail = func(int) (int, bool) { return status, false }
		sum, err := ctl.Feed(context.Background(), synthetic(10), fastRetry(url))
		if err == nil || sum.Retries != 0 || f.requests != 1 {
			t.Errorf("status %d: err %v, %d retries, %d requests; want an error at once", status, err, sum.Retries, f.requests)
		}
	}
}

func TestFeedGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	opts := fastRetry(url)
	opts.MaxElapsed = 50 * time.Millisecond
	sum, err := ctl.Feed(context.Background(), synthetic(10), opts)
	if err == nil || sum.Retries == 0 || sum.Events != 0 {
		t.Fatalf("err %v, summary %s: want an error after retries", err, sum)
	}
}

func TestFeedCancelled(t *testing.T) {
	f, url := newFake(t)
	f.fail = func(int) (int, bool) { return http.StatusServiceUnavailable, false }
	opts := fastRetry(url)
	opts.MaxElapsed = time.Hour
	stop := testwait.Run(t, "Feed", func(ctx context.Context) error {
		if _, err := ctl.Feed(ctx, synthetic(10), opts); !errors.Is(err, context.Canceled) {
			return fmt.Errorf("err %v, want context.Canceled", err)
		}
		return nil
	})
	testwait.For(t, 5*time.Second, time.Millisecond, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.requests < 2 {
			return fmt.Errorf("%d requests, want 2 or more", f.requests)
		}
		return nil
	})
	stop()
}

func TestFeedOptionsValidate(t *testing.T) {
	for _, o := range []ctl.FeedOptions{{}, {URL: "ftp://x"}, {URL: "http://x", Batch: -1}} {
		if _, err := ctl.Feed(context.Background(), synthetic(1), o); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}
