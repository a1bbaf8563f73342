package site

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/scenario"
	"github.com/govpulse/govpulse/internal/scoring"
)

// replayRankings applies the sample scenario to an engine, drains it every flushEvery events as
// the aggregator's flushes do, and returns every ranking published on the way, encoded as the
// aggregator encodes them.
func replayRankings(tb testing.TB, flushEvery int) [][]byte {
	tb.Helper()
	eng, err := engine.New(engine.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	evs := scenario.Generate(scenario.Options{})
	for i := range evs {
		eng.Apply(uint64(i+1), &evs[i])
		if (i+1)%flushEvery != 0 && i != len(evs)-1 {
			continue
		}
		if o := eng.Drain(); o.RankingOf(scoring.Method) != nil {
			r := o.RankingOf(scoring.Method)
			b, err := json.Marshal(r)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// BenchmarkStream1000 connects 1,000 Server-Sent Event clients to one site and publishes every
// ranking of a replay of the sample scenario on NATS, one after the other: each is sent once the
// last client has the one before. It reports the delay from the NATS publication to the last
// client (median and maximum over the rankings) and the memory per client (heap and stacks of the
// process, server and client sides together, so an upper bound for the server alone).
func BenchmarkStream1000(b *testing.B) {
	const clients = 1000
	rankings := replayRankings(b, 250)
	e := start(b, Config{MaxStreams: 2 * clients, RateLimit: -1})
	versions := make([]uint64, len(rankings))
	for i, r := range rankings {
		var v struct {
			Version uint64 `json:"version"`
		}
		if err := json.Unmarshal(r, &v); err != nil {
			b.Fatal(err)
		}
		versions[i] = v.Version
	}

	// got[v] counts the clients still waiting for version v; the last one closes done[v].
	type await struct {
		left atomic.Int32
		at   time.Time
		done chan struct{}
	}
	var mu sync.Mutex
	awaits := map[uint64]*await{}
	arm := func(v uint64) *await {
		a := &await{done: make(chan struct{})}
		a.left.Store(clients)
		mu.Lock()
		awaits[v] = a
		mu.Unlock()
		return a
	}
	received := func(v uint64) {
		mu.Lock()
		a := awaits[v]
		mu.Unlock()
		if a != nil && a.left.Add(-1) == 0 {
			a.at = time.Now()
			close(a.done)
		}
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithCancel(context.Background())
	transport := &http.Transport{DisableKeepAlives: true, MaxIdleConnsPerHost: -1}
	client := &http.Client{Transport: transport}
	var wg sync.WaitGroup
	for range clients {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.http.URL+"/api/v1/stream", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			r := bufio.NewReaderSize(resp.Body, 16<<10)
			ranking := false
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				switch {
				case string(line) == "event: ranking\n":
					ranking = true
				case ranking && strings.HasPrefix(string(line), "id: "):
					v, _ := strconv.ParseUint(strings.TrimSpace(string(line[4:])), 10, 64)
					received(v)
					ranking = false
				}
			}
		}()
	}
	waitFor(b, 30*time.Second, func() error {
		if n := e.srv.Clients(); n != clients {
			return fmt.Errorf("%d of %d clients connected", n, clients)
		}
		return nil
	})
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perClient := float64(int64(after.HeapInuse+after.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / clients

	var delays []time.Duration
	b.ResetTimer()
	for i := range b.N {
		for j, data := range rankings {
			v := versions[j] + uint64(i)*versions[len(versions)-1] // a new version in every round
			if i > 0 {
				data = []byte(strings.Replace(string(data), fmt.Sprintf(`"version":%d,`, versions[j]), fmt.Sprintf(`"version":%d,`, v), 1))
			}
			a := arm(v)
			sent := time.Now()
			if err := e.nc.Publish(e.names.RankingsSubject(), data); err != nil {
				b.Fatal(err)
			}
			select {
			case <-a.done:
				delays = append(delays, a.at.Sub(sent))
			case <-time.After(30 * time.Second):
				b.Fatalf("ranking %d: %d clients still waiting after 30s (%d connected)", v, a.left.Load(), e.srv.Clients())
			}
		}
	}
	b.StopTimer()
	if n := e.srv.Clients(); n != clients {
		b.Errorf("%d clients connected at the end, want %d: a client was dropped", n, clients)
	}
	cancel()
	wg.Wait()
	transport.CloseIdleConnections()

	slices.Sort(delays)
	b.ReportMetric(float64(len(rankings)), "rankings/replay")
	b.ReportMetric(float64(delays[len(delays)/2])/1e6, "p50-ms-to-last-client")
	b.ReportMetric(float64(delays[len(delays)*99/100])/1e6, "p99-ms-to-last-client")
	b.ReportMetric(float64(delays[len(delays)-1])/1e6, "max-ms-to-last-client")
	b.ReportMetric(perClient, "B/client")
	b.ReportMetric(float64(len(rankings[len(rankings)-1])), "B/ranking")
}
