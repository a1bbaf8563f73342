package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ingest"
)

// BenchmarkIngest posts batches of 100 events from parallel clients over
// HTTP to a server that publishes to an in-process JetStream server (file
// storage) and reports the events stored per second.
func BenchmarkIngest(b *testing.B) {
	const batch = 100
	e := setup(b, ingest.Config{})
	hs := httptest.NewServer(e.h)
	defer hs.Close()
	client := hs.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	at := time.Now().Add(-time.Hour)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var sb strings.Builder
		for pb.Next() {
			sb.Reset()
			sb.WriteByte('[')
			for i := range batch {
				if i > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(feedback(fmt.Sprintf("bench-%d", next.Add(1)), 1+i%5, at))
			}
			sb.WriteByte(']')
			resp, err := client.Post(hs.URL+"/v1/events", "application/json", strings.NewReader(sb.String()))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoadMixed posts requests that mix good, invalid, forbidden and
// resent events from many concurrent clients with tokens over HTTP, then
// checks that the events reported accepted are exactly the messages in
// EVENTS: nothing accepted is lost and nothing rejected is stored.
func BenchmarkLoadMixed(b *testing.B) {
	const perRequest = 20
	e := setup(b, ingest.Config{TokensFile: writeTokens(b), RateLimit: -1})
	url := serve(b, e, "http")
	c := client(b, nil)
	at := time.Now().Add(-time.Hour)
	tokens := []string{tokZhejiangFeedback, tokOps, tokHebeiProbe}
	var next, accepted, duplicates, rejected atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // 32 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var sb strings.Builder
		for pb.Next() {
			n := next.Add(1)
			sb.Reset()
			sb.WriteByte('[')
			for i := range perRequest {
				if i > 0 {
					sb.WriteByte(',')
				}
				id := fmt.Sprintf("load-%d-%d", n, i)
				switch i % 5 {
				case 0, 1:
					sb.WriteString(fb(id, "330000", "4", at)) // good except for the Hebei token
				case 2:
					sb.WriteString(fb(id, "330000", "9", at)) // out of range
				case 3:
					sb.WriteString(fb(id, "520000", "2", at)) // Guizhou: only the ops token may
				case 4:
					sb.WriteString(fb(fmt.Sprintf("load-%d-0", n), "330000", "4", at)) // resent in the same request
				}
			}
			sb.WriteByte(']')
			res, resp, err := trySend(c, url, tokens[n%int64(len(tokens))], "application/json", sb.String())
			if err != nil {
				b.Error(err)
				return
			}
			if res.StatusCode >= 500 {
				b.Errorf("status %d: %+v", res.StatusCode, resp.Error)
				return
			}
			accepted.Add(int64(resp.Accepted))
			duplicates.Add(int64(resp.Duplicates))
			rejected.Add(int64(resp.Rejected))
		}
	})
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, "EVENTS")
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if got := int64(info.State.Msgs); got != accepted.Load() {
		b.Fatalf("accepted %d but EVENTS holds %d", accepted.Load(), got)
	}
	if total := accepted.Load() + duplicates.Load() + rejected.Load(); total != next.Load()*perRequest {
		b.Fatalf("%d results for %d events", total, next.Load()*perRequest)
	}
	b.ReportMetric(float64(next.Load()*perRequest)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(accepted.Load())/float64(next.Load()*perRequest), "accepted/event")
}
