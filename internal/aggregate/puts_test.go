package aggregate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// newPutFlusher returns a flusher of a service on an embedded JetStream server that puts into kv
// (the latest-value bucket when nil); it stores nothing.
func newPutFlusher(t *testing.T, bucket func(jetstream.JetStream) jetstream.KeyValue) (*flusher, jetstream.JetStream, jetstream.KeyValue) {
	t.Helper()
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	svc, err := New(Config{}, js, noWrites{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kv jetstream.KeyValue
	if bucket != nil {
		kv = bucket(js)
	} else if kv, err = natsjs.EnsureLatestBucket(t.Context(), js, natsjs.Names{}, 1); err != nil {
		t.Fatal(err)
	}
	return newFlusher(svc, kv, nil), js, kv
}

// A flush over every unit of the hierarchy (many more puts than maxPutsInFlight) leaves every key
// of the latest-value bucket with its newest value, records the versions published, and a later
// flush puts only what is newer: an older score of a unit is neither published nor put.
func TestFlushPutsEveryKeyOfEveryUnit(t *testing.T) {
	f, js, kv := newPutFlusher(t, nil)
	ctx := t.Context()
	units := events.Units()
	if len(units) <= 2*maxPutsInFlight {
		t.Fatalf("%d units: too few to fill the puts in flight", len(units))
	}
	received := make(chan struct{}, 4*len(units))
	sub, err := js.Conn().Subscribe(f.cfg.Names.ScoreSubjects(), func(*nats.Msg) { received <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe() //nolint:errcheck // the connection closes with the test

	want := make(map[string]scoring.Score) // by key: the newest score
	flush := func(version func(i int) uint64) {
		batch := &pending{scores: make(map[string]scoring.Score), rankings: make(map[string]*scoring.Ranking)}
		for i, u := range units {
			v := version(i)
			if v == 0 {
				continue
			}
			sc := scoring.Score{Region: u.Code, Method: scoring.DefaultMethod, Version: v, Composite: float64(v % 100)}
			batch.scores[scoreKey(&sc)] = sc
			if key := natsjs.ScoreKey(u.Code); v > want[key].Version {
				want[key] = sc
			}
		}
		f.publishScores(ctx, batch, chstore.Batch{}, nil)
		f.publish(ctx, batch)
		if len(f.puts) > maxPutsInFlight {
			t.Fatalf("%d puts in flight, more than %d", len(f.puts), maxPutsInFlight)
		}
		f.awaitPuts(ctx)
	}
	flush(func(i int) uint64 { return uint64(1000 + i) })
	// Every other unit moves on; every third one comes again with an older version (a replay).
	flush(func(i int) uint64 {
		switch {
		case i%2 == 0:
			return uint64(100000 + i)
		case i%3 == 0:
			return uint64(10 + i)
		}
		return 0
	})
	if got := testutil.ToFloat64(f.metrics.publishErrors); got != 0 {
		t.Fatalf("%v publication failures", got)
	}
	if len(f.puts) != 0 {
		t.Fatalf("%d puts still awaited after the flush", len(f.puts))
	}
	for key, sc := range want {
		entry, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		data, _ := json.Marshal(sc)
		if !bytes.Equal(entry.Value(), data) {
			t.Fatalf("%s holds %s, want %s", key, entry.Value(), data)
		}
		if f.published[key] != sc.Version {
			t.Fatalf("%s recorded as published at version %d, want %d", key, f.published[key], sc.Version)
		}
	}
	wantMessages := len(units) + (len(units)+1)/2
	deadline := time.After(10 * time.Second)
	for n := range wantMessages {
		select {
		case <-received:
		case <-deadline:
			t.Fatalf("%d score messages received, want %d", n, wantMessages)
		}
	}
	select {
	case <-received:
		t.Fatal("an older score was published again")
	case <-time.After(100 * time.Millisecond):
	}
}

// A put the server refuses is reported (logged and counted) and not recorded as published; the
// puts after it in the same flush are acknowledged and recorded.
func TestFailedPutIsReported(t *testing.T) {
	const maxValue = 100
	f, _, kv := newPutFlusher(t, func(js jetstream.JetStream) jetstream.KeyValue {
		kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "small_values", MaxValueSize: maxValue})
		if err != nil {
			t.Fatal(err)
		}
		return kv
	})
	ctx := t.Context()
	small, large := []byte(`{"version":1}`), []byte(fmt.Sprintf(`{"version":2,"pad":%q}`, bytes.Repeat([]byte("x"), maxValue)))
	f.putLatest(ctx, "scores.110000", 1, small)
	f.putLatest(ctx, "scores.120000", 2, large)
	f.putLatest(ctx, "scores.130000", 1, small)
	f.awaitPuts(ctx)
	if got := testutil.ToFloat64(f.metrics.publishErrors); got != 1 {
		t.Fatalf("%v publication failures counted, want 1", got)
	}
	if v, ok := f.published["scores.120000"]; ok {
		t.Fatalf("the refused put is recorded as published at version %d", v)
	}
	for _, key := range []string{"scores.110000", "scores.130000"} {
		if f.published[key] != 1 {
			t.Fatalf("%s recorded at version %d, want 1", key, f.published[key])
		}
		if _, err := kv.Get(ctx, key); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	if _, err := kv.Get(ctx, "scores.120000"); err == nil {
		t.Fatal("the refused value is in the bucket")
	}
}

// BenchmarkFlushPutsAllUnits measures what a flush over every unit of the hierarchy spends putting
// a new score of each unit in the latest-value bucket of an embedded server with file storage:
// "put=sync" one jetstream.KeyValue.Put after another (as the flusher did), "put=async" the
// flusher's puts with at most maxPutsInFlight in flight and one wait (putLatest, awaitPuts).
// Reports the time per flush and per put.
func BenchmarkFlushPutsAllUnits(b *testing.B) {
	url, _ := natstest.Start(b)
	_, js := natstest.Connect(b, url)
	svc, err := New(Config{}, js, noWrites{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	kv, err := natsjs.EnsureLatestBucket(b.Context(), js, natsjs.Names{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	f := newFlusher(svc, kv, nil)
	units := events.Units()
	values := make([][]byte, len(units))
	for i, u := range units {
		values[i], _ = json.Marshal(scoring.Score{Region: u.Code, Method: scoring.DefaultMethod, Version: uint64(i + 1), Composite: 87.5})
	}
	for _, async := range []bool{false, true} {
		name := "put=sync"
		if async {
			name = "put=async"
		}
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			for range b.N {
				for i, u := range units {
					key := natsjs.ScoreKey(u.Code)
					if async {
						f.putLatest(ctx, key, uint64(i+1), values[i])
					} else if _, err := kv.Put(ctx, key, values[i]); err != nil {
						b.Fatal(err)
					}
				}
				f.awaitPuts(ctx)
			}
			if got := testutil.ToFloat64(f.metrics.publishErrors); got != 0 {
				b.Fatalf("%v publication failures", got)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/flush")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(units)), "us/put")
		})
	}
}
