package ctl_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
)

// TestFeedRealIngest feeds the sample scenario to the real ingest handler
// backed by an in-process JetStream server: every event is accepted, in
// order, and feeding it again stores nothing (every event is a duplicate).
func TestFeedRealIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 25,000 events through JetStream")
	}
	_, js := connectNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	srv, err := ingest.New(ingest.Config{}, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	src, err := ctl.Source(ctl.ScenarioSample, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range src {
		n++
	}
	sum, err := ctl.Feed(ctx, src, ctl.FeedOptions{URL: hs.URL})
	if err != nil {
		t.Fatalf("first feed: %v (%s)", err, sum)
	}
	if sum.Accepted != n || sum.Duplicates != 0 || sum.Rejected != 0 {
		t.Fatalf("first feed: %s, want %d accepted; errors %v", sum, n, sum.Errors)
	}
	st, err := js.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(n) {
		t.Errorf("stream holds %d events, want %d", info.State.Msgs, n)
	}
	sum, err = ctl.Feed(ctx, src, ctl.FeedOptions{URL: hs.URL})
	if err != nil {
		t.Fatalf("second feed: %v (%s)", err, sum)
	}
	if sum.Accepted != 0 || sum.Duplicates != n {
		t.Errorf("second feed: %s, want %d duplicates", sum, n)
	}
	t.Log(sum)
}
