package aggregate

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/engine"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/testwait"
	"github.com/govpulse/govpulse/pkg/events"
)

func TestCheckpointRoundTrip(t *testing.T) {
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := checkpoint{partition: "east", lastSeq: 123456789, engine: eng.AppendSnapshot(nil)}
	data := encodeCheckpoint(in)
	out, err := decodeCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	if out.partition != in.partition || out.lastSeq != in.lastSeq || !bytes.Equal(out.engine, in.engine) {
		t.Fatalf("round trip: got %q/%d/%d bytes, want %q/%d/%d bytes",
			out.partition, out.lastSeq, len(out.engine), in.partition, in.lastSeq, len(in.engine))
	}
	if !bytes.Equal(encodeCheckpoint(out), data) {
		t.Error("encoding is not deterministic")
	}
	if _, err := engine.Restore(engine.Config{}, out.engine); err != nil {
		t.Errorf("engine state does not restore: %v", err)
	}
}

func TestCheckpointRejectsCorruptInput(t *testing.T) {
	valid := encodeCheckpoint(checkpoint{partition: "all", lastSeq: 7, engine: []byte("state")})
	otherFormat := bytes.Clone(valid)
	otherFormat[len(checkpointMagic)+1]++
	for name, data := range map[string][]byte{
		"empty":          nil,
		"other magic":    append([]byte("XXXX"), valid[4:]...),
		"magic only":     []byte(checkpointMagic),
		"other format":   otherFormat,
		"cut partition":  valid[:len(checkpointMagic)+5],
		"cut sequence":   valid[:len(checkpointMagic)+4+3+4],
		"huge partition": append([]byte(checkpointMagic), 0, 1, 0xff, 0xff, 'a'),
	} {
		if _, err := decodeCheckpoint(data); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	// Every truncation is an error or an engine state that the engine itself rejects.
	eng, _ := engine.New(engine.Config{})
	full := encodeCheckpoint(checkpoint{partition: "all", lastSeq: 1, engine: eng.AppendSnapshot(nil)})
	for n := range len(full) {
		c, err := decodeCheckpoint(full[:n])
		if err != nil {
			continue
		}
		if _, err := engine.Restore(engine.Config{}, c.engine); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
}

// setupService returns a service over a real JetStream server and ClickHouse database.
func setupService(t *testing.T, cfg Config) (*Service, jetstream.JetStream, *chstore.Store) {
	t.Helper()
	return setupServiceWith(t, cfg, nil)
}

// setupServiceWith is setupService with the service's metrics registered on reg.
func setupServiceWith(t *testing.T, cfg Config, reg prometheus.Registerer) (*Service, jetstream.JetStream, *chstore.Store) {
	t.Helper()
	conn, database := chtest.Open(t)
	store := chstore.New(conn, database, nil)
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	svc, err := New(cfg, js, store, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, js, store
}

func TestRunFailsLoudlyWhenTheStreamLostEventsAfterTheCheckpoint(t *testing.T) {
	svc, js, _ := setupService(t, Config{})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := js.Publish(ctx, "govpulse.events.330000.feedback.rated", []byte("{}"), jetstream.WithMsgID(string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := js.Stream(ctx, natsjs.DefaultEventsStream)
	if err != nil {
		t.Fatal(err)
	}
	// The stream now starts at sequence 5; a checkpoint that covers only 1..2 cannot resume.
	if err := stream.Purge(ctx, jetstream.WithPurgeSequence(5)); err != nil {
		t.Fatal(err)
	}
	obj, err := natsjs.EnsureCheckpointStore(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := engine.New(engine.Config{})
	if _, err := obj.PutBytes(ctx, "partition-all", encodeCheckpoint(checkpoint{partition: "all", lastSeq: 2, engine: eng.AppendSnapshot(nil)})); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = svc.Run(runCtx)
	if !errors.Is(err, errCheckpointGap) || !strings.Contains(err.Error(), "events 3..4 are gone") {
		t.Fatalf("Run: %v, want a checkpoint gap naming events 3..4", err)
	}
}

func TestRunRebuildsFromAnUnusableCheckpoint(t *testing.T) {
	svc, js, _ := setupService(t, Config{})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := natsjs.EnsureCheckpointStore(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.PutBytes(ctx, "partition-all", []byte("not a checkpoint")); err != nil {
		t.Fatal(err)
	}
	stop := testwait.Run(t, "aggregator", svc.Run)
	testwait.For(t, 10*time.Second, 10*time.Millisecond, svc.Ready)
	stop()
	if svc.reader.lastSeq != 0 {
		t.Errorf("resumed after sequence %d, want a rebuild from the start", svc.reader.lastSeq)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"defaults":       {Config{}, ""},
		"unknown region": {Config{Regions: []string{"330000", "999999"}}, `region "999999"`},
		"negative batch": {Config{MaxBatch: -1}, "max batch"},
		"negative lag":   {Config{AllowedLateness: -time.Second}, "allowed lateness"},
		"region twice":   {Config{Regions: []string{"330000", "520000", "330000"}}, `region "330000" is listed twice`},
		"no items":       {Config{MaxItemsPerLevel: -1}, "max items per level"},
		"negative ahead": {Config{ClockTolerance: -time.Second}, "clock tolerance"},
		"no backlog":     {Config{DeadLetterBacklog: -1}, "dead letter backlog"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}

// publish stores ev in the EVENTS stream as ingest would (canonical JSON, region/id as message id).
func publish(t *testing.T, js jetstream.JetStream, ev *events.Event) {
	t.Helper()
	data, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(t.Context(), ev.Subject(""), data, jetstream.WithMsgID(ev.Key().String())); err != nil {
		t.Fatal(err)
	}
}

// A checkpoint whose engine state has the format that remembered events by id alone is never
// read: the aggregator rebuilds from the start of the stream and its log line says why.
func TestRunRebuildsFromACheckpointOfTheOldIdentity(t *testing.T) {
	_, js, store := setupService(t, Config{})
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	publish(t, js, rating("old-1", time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC), 5))
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	snap := eng.AppendSnapshot(nil)
	body := snap[:len(snap)-4]
	body[3] = 1 // format 1: bare ids
	snap = binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(body))
	obj, err := natsjs.EnsureCheckpointStore(ctx, js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.PutBytes(ctx, "partition-all", encodeCheckpoint(checkpoint{partition: "all", lastSeq: 1, engine: snap})); err != nil {
		t.Fatal(err)
	}
	var logs testwait.Buffer
	svc, err := New(Config{FlushInterval: 10 * time.Millisecond}, js, store, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Run(t, "aggregator", svc.Run)
	// The rebuild reads sequence 1 again: its score is stored.
	zhejiangScore(t, store, 1)
	out := logs.String()
	if !strings.Contains(out, "rebuilding from the start of the stream") || !strings.Contains(out, "format version 1") ||
		!strings.Contains(out, "region and id") {
		t.Errorf("the log does not say why the checkpoint was rebuilt:\n%s", out)
	}
}

// A checkpoint of format 1 is resumed by an aggregator of every unit, whose watermark was already
// the stream's, but not by a partition of some units, which followed its own: that one rebuilds.
func TestFormat1CheckpointOfAPartitionIsRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"all units", Config{}, "restored checkpoint"},
		{"partition", Config{Partition: "east", Regions: []string{"330000"}}, "followed the watermark of its own units"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, js, store := setupService(t, tc.cfg)
			ctx := t.Context()
			if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
				t.Fatal(err)
			}
			publish(t, js, rating("old-1", time.Date(2016, 12, 1, 10, 0, 0, 0, time.UTC), 5))
			tc.cfg = tc.cfg.WithDefaults()
			eng, err := engine.New(tc.cfg.engineConfig())
			if err != nil {
				t.Fatal(err)
			}
			obj, err := natsjs.EnsureCheckpointStore(ctx, js, natsjs.Names{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			old := encodeCheckpoint(checkpoint{format: 1, partition: tc.cfg.Partition, lastSeq: 1, engine: eng.AppendSnapshot(nil)})
			if _, err := obj.PutBytes(ctx, tc.cfg.objectName(), old); err != nil {
				t.Fatal(err)
			}
			var logs testwait.Buffer
			tc.cfg.FlushInterval = 10 * time.Millisecond
			svc, err := New(tc.cfg, js, store, slog.New(slog.NewTextHandler(&logs, nil)), nil)
			if err != nil {
				t.Fatal(err)
			}
			testwait.Run(t, "aggregator", svc.Run)
			testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
				if !strings.Contains(logs.String(), tc.want) {
					return fmt.Errorf("the log does not say %q:\n%s", tc.want, logs.String())
				}
				return nil
			})
		})
	}
}
