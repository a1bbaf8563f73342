package natsjs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"events prefix", natsjs.Names{}.EventSubjectBase(), "govpulse.events"},
		{"events filter", natsjs.Names{}.EventsSubjects(), "govpulse.events.>"},
		{"dlq filter", natsjs.Names{}.DLQSubjects(), "govpulse.dlq.>"},
		{"dlq subject", natsjs.Names{}.DLQSubject("ingest", "range"), "govpulse.dlq.ingest.range"},
		{"dlq unsafe reason", natsjs.Names{}.DLQSubject("ingest", "a.b *>"), "govpulse.dlq.ingest.a_b___"},
		{"dlq empty reason", natsjs.Names{}.DLQSubject("ingest", ""), "govpulse.dlq.ingest.unknown"},
		{"score", natsjs.Names{}.ScoreSubject("330000"), "govpulse.scores.330000"},
		{"rankings", natsjs.Names{}.RankingsSubject(), "govpulse.rankings"},
		{"custom prefix", natsjs.Names{SubjectPrefix: "test1"}.ScoreSubject("110000"), "test1.scores.110000"},
		{"default stream", natsjs.Names{}.WithDefaults().EventsStream, "EVENTS"},
		{"default dlq", natsjs.Names{}.WithDefaults().DLQStream, "DLQ"},
		{"default kv", natsjs.Names{}.WithDefaults().LatestBucket, "govpulse_latest"},
		{"default obj", natsjs.Names{}.WithDefaults().CheckpointStore, "govpulse_checkpoints"},
		{"kept stream", natsjs.Names{EventsStream: "E2"}.WithDefaults().EventsStream, "E2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestStreamOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    natsjs.StreamOptions
		ok   bool
	}{
		{"zero", natsjs.StreamOptions{}, true},
		{"r3", natsjs.StreamOptions{Replicas: 3}, true},
		{"r6", natsjs.StreamOptions{Replicas: 6}, false},
		{"negative replicas", natsjs.StreamOptions{Replicas: -1}, false},
		{"negative age", natsjs.StreamOptions{MaxAge: -time.Second}, false},
		{"negative bytes", natsjs.StreamOptions{MaxBytes: -1}, false},
		{"window over age", natsjs.StreamOptions{MaxAge: time.Minute, DuplicateWindow: time.Hour}, false},
		{"window within age", natsjs.StreamOptions{MaxAge: time.Hour, DuplicateWindow: time.Minute}, true},
		{"negative dlq age", natsjs.StreamOptions{DLQMaxAge: -time.Second}, false},
		{"negative dlq bytes", natsjs.StreamOptions{DLQMaxBytes: -1}, false},
		{"window over dlq age", natsjs.StreamOptions{DLQMaxAge: time.Minute, DuplicateWindow: time.Hour}, false},
		{"dlq bounds", natsjs.StreamOptions{DLQMaxAge: time.Hour, DLQMaxBytes: 1 << 20}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.WithDefaults().Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	return js
}

func TestEnsureStreamsIdempotent(t *testing.T) {
	js := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := natsjs.Names{}
	o := natsjs.StreamOptions{MaxAge: 24 * time.Hour, MaxBytes: 1 << 30}
	for range 2 {
		if err := natsjs.EnsureStreams(ctx, js, n, o); err != nil {
			t.Fatalf("EnsureStreams: %v", err)
		}
	}
	ev, err := js.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ev.CachedInfo().Config
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != "govpulse.events.>" {
		t.Errorf("subjects = %v", cfg.Subjects)
	}
	if cfg.Duplicates != 2*time.Minute || cfg.MaxAge != 24*time.Hour || cfg.MaxBytes != 1<<30 {
		t.Errorf("duplicates %s, max age %s, max bytes %d", cfg.Duplicates, cfg.MaxAge, cfg.MaxBytes)
	}
	if cfg.Storage != jetstream.FileStorage || cfg.Discard != jetstream.DiscardNew || cfg.Replicas != 1 {
		t.Errorf("storage %v, discard %v, replicas %d", cfg.Storage, cfg.Discard, cfg.Replicas)
	}
	dlq, err := js.Stream(ctx, "DLQ")
	if err != nil {
		t.Fatal(err)
	}
	dcfg := dlq.CachedInfo().Config
	if s := dcfg.Subjects; len(s) != 1 || s[0] != "govpulse.dlq.>" {
		t.Errorf("dlq subjects = %v", s)
	}
	// The DLQ has its own bounds, by default 30 days and 1 GiB, dropping the oldest letters.
	if dcfg.MaxAge != natsjs.DefaultDLQMaxAge || dcfg.MaxBytes != natsjs.DefaultDLQMaxBytes || dcfg.Discard != jetstream.DiscardOld {
		t.Errorf("dlq max age %s, max bytes %d, discard %v", dcfg.MaxAge, dcfg.MaxBytes, dcfg.Discard)
	}

	// A changed option is applied by the next call.
	o.MaxAge = 48 * time.Hour
	if err := natsjs.EnsureStreams(ctx, js, n, o); err != nil {
		t.Fatalf("EnsureStreams update: %v", err)
	}
	info, err := ev.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 48*time.Hour {
		t.Errorf("max age after update = %s", info.Config.MaxAge)
	}
	o.DLQMaxAge, o.DLQMaxBytes = 7*24*time.Hour, 64<<20
	if err := natsjs.EnsureStreams(ctx, js, n, o); err != nil {
		t.Fatalf("EnsureStreams dlq update: %v", err)
	}
	dinfo, err := dlq.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dinfo.Config.MaxAge != 7*24*time.Hour || dinfo.Config.MaxBytes != 64<<20 {
		t.Errorf("dlq after update: max age %s, max bytes %d", dinfo.Config.MaxAge, dinfo.Config.MaxBytes)
	}
	ok, err := natsjs.StreamExists(ctx, js, "EVENTS")
	if err != nil || !ok {
		t.Errorf("StreamExists(EVENTS) = %v, %v", ok, err)
	}
	ok, err = natsjs.StreamExists(ctx, js, "NOPE")
	if err != nil || ok {
		t.Errorf("StreamExists(NOPE) = %v, %v", ok, err)
	}
}

func TestEnsureStreamsRefusesTooManyReplicas(t *testing.T) {
	js := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{Replicas: 3}); err == nil {
		t.Fatal("EnsureStreams with 3 replicas on one server: want error")
	}
}

func TestEnsureBuckets(t *testing.T) {
	js := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := natsjs.Names{SubjectPrefix: "p"}
	for range 2 {
		kv, err := natsjs.EnsureLatestBucket(ctx, js, n, 1)
		if err != nil {
			t.Fatalf("EnsureLatestBucket: %v", err)
		}
		if kv.Bucket() != "govpulse_latest" {
			t.Errorf("bucket = %q", kv.Bucket())
		}
		obs, err := natsjs.EnsureCheckpointStore(ctx, js, n, 0)
		if err != nil {
			t.Fatalf("EnsureCheckpointStore: %v", err)
		}
		st, err := obs.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Bucket() != "govpulse_checkpoints" || st.Replicas() != 1 {
			t.Errorf("object store %q replicas %d", st.Bucket(), st.Replicas())
		}
	}
	kv, err := natsjs.EnsureLatestBucket(ctx, js, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "ranking", []byte("{}")); err != nil {
		t.Fatalf("put: %v", err)
	}
	if _, err := natsjs.EnsureLatestBucket(ctx, js, n, 9); err == nil {
		t.Error("EnsureLatestBucket with 9 replicas: want error")
	}
}

func TestRestartKeepsStreams(t *testing.T) {
	url, srv := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "govpulse.events.330000.feedback.rated", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	natstest.Restart(t, srv)
	// The client reconnects by itself; poll until the stream answers.
	var s jetstream.Stream
	testwait.For(t, 15*time.Second, 20*time.Millisecond, func() error {
		// Each attempt has its own timeout: a request sent while the server is still recovering
		// its streams may never be answered, and must not use up the whole test's time.
		actx, acancel := context.WithTimeout(ctx, time.Second)
		defer acancel()
		var err error
		if s, err = js.Stream(actx, "EVENTS"); err != nil {
			return fmt.Errorf("stream not back after restart: %w", err)
		}
		return nil
	})
	if s.CachedInfo().State.Msgs != 1 {
		t.Fatalf("messages after restart = %d, want 1", s.CachedInfo().State.Msgs)
	}
}
