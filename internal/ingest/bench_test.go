package ingest_test

import (
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
