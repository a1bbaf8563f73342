package natsjs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultDuplicateWindow is the default duplicate window of the EVENTS
// stream: a retry with the same Nats-Msg-Id within it is stored once. The
// server holds the window in memory, so keep it minutes, not days.
const DefaultDuplicateWindow = 2 * time.Minute

// Default bounds of the DLQ stream: a producer that sends nothing but
// invalid events cannot fill the server. Beyond them the oldest dead letters
// are dropped (discard policy "old").
const (
	DefaultDLQMaxAge   = 30 * 24 * time.Hour
	DefaultDLQMaxBytes = 1 << 30
)

// StreamOptions configures the EVENTS and DLQ streams. The zero value means
// the defaults: one replica, EVENTS kept forever without a byte limit, DLQ
// kept 30 days and at most 1 GiB, a two-minute duplicate window and file
// storage.
type StreamOptions struct {
	// Replicas is the number of stream replicas (1 by default, 3 in clusters).
	Replicas int
	// MaxAge is how long the EVENTS stream keeps messages; 0 keeps them
	// forever. Keep it far longer than the checkpoint interval of the
	// aggregators.
	MaxAge time.Duration
	// MaxBytes limits the size of the EVENTS stream; 0 means no limit. When
	// it is full it refuses new events (discard policy "new") rather than
	// dropping old ones that a rebuild needs.
	MaxBytes int64
	// DLQMaxAge is how long the DLQ stream keeps dead letters
	// (DefaultDLQMaxAge when 0).
	DLQMaxAge time.Duration
	// DLQMaxBytes limits the size of the DLQ stream (DefaultDLQMaxBytes when
	// 0); when it is full its oldest dead letters are dropped.
	DLQMaxBytes int64
	// DuplicateWindow is the window of Nats-Msg-Id deduplication
	// (DefaultDuplicateWindow when 0).
	DuplicateWindow time.Duration
	// Storage is the storage type (jetstream.FileStorage, the zero value,
	// by default).
	Storage jetstream.StorageType
}

// WithDefaults returns o with every zero field set to its default.
func (o StreamOptions) WithDefaults() StreamOptions {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	if o.DLQMaxAge == 0 {
		o.DLQMaxAge = DefaultDLQMaxAge
	}
	if o.DLQMaxBytes == 0 {
		o.DLQMaxBytes = DefaultDLQMaxBytes
	}
	return o
}

// Validate reports whether the options, with their defaults, are usable.
func (o StreamOptions) Validate() error {
	o = o.WithDefaults()
	switch {
	case o.Replicas < 1 || o.Replicas > 5:
		return fmt.Errorf("natsjs: stream replicas %d: must be 1..5", o.Replicas)
	case o.MaxAge < 0:
		return fmt.Errorf("natsjs: stream max age %s: must not be negative", o.MaxAge)
	case o.MaxBytes < 0:
		return fmt.Errorf("natsjs: stream max bytes %d: must not be negative", o.MaxBytes)
	case o.DuplicateWindow < 0:
		return fmt.Errorf("natsjs: duplicate window %s: must not be negative", o.DuplicateWindow)
	case o.MaxAge > 0 && o.DuplicateWindow > o.MaxAge:
		return fmt.Errorf("natsjs: duplicate window %s: must not exceed the max age %s", o.DuplicateWindow, o.MaxAge)
	case o.DLQMaxAge < 0:
		return fmt.Errorf("natsjs: dlq max age %s: must not be negative", o.DLQMaxAge)
	case o.DLQMaxBytes < 0:
		return fmt.Errorf("natsjs: dlq max bytes %d: must not be negative", o.DLQMaxBytes)
	case o.DuplicateWindow > o.DLQMaxAge:
		return fmt.Errorf("natsjs: duplicate window %s: must not exceed the dlq max age %s", o.DuplicateWindow, o.DLQMaxAge)
	}
	return nil
}

// EventsConfig returns the configuration of the EVENTS stream.
func EventsConfig(n Names, o StreamOptions) jetstream.StreamConfig {
	n, o = n.WithDefaults(), o.WithDefaults()
	return jetstream.StreamConfig{
		Name:        n.EventsStream,
		Description: "govpulse accepted events",
		Subjects:    []string{n.EventsSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     -1,
		MaxBytes:    maxBytes(o.MaxBytes),
		Discard:     jetstream.DiscardNew,
		MaxAge:      o.MaxAge,
		Storage:     o.Storage,
		Replicas:    o.Replicas,
		Duplicates:  o.DuplicateWindow,
		DenyDelete:  true,
	}
}

// DLQConfig returns the configuration of the DLQ stream: bounded by
// o.DLQMaxAge and o.DLQMaxBytes, dropping its oldest dead letters beyond them.
func DLQConfig(n Names, o StreamOptions) jetstream.StreamConfig {
	n, o = n.WithDefaults(), o.WithDefaults()
	return jetstream.StreamConfig{
		Name:        n.DLQStream,
		Description: "govpulse rejected and too-late input",
		Subjects:    []string{n.DLQSubjects()},
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     -1,
		MaxBytes:    o.DLQMaxBytes,
		Discard:     jetstream.DiscardOld,
		MaxAge:      o.DLQMaxAge,
		Storage:     o.Storage,
		Replicas:    o.Replicas,
		Duplicates:  o.DuplicateWindow,
	}
}

func maxBytes(b int64) int64 {
	if b == 0 {
		return -1
	}
	return b
}

// EnsureStreams creates the EVENTS and DLQ streams when they are missing and
// leaves existing ones alone when their settings are the ones asked for; only
// when they differ does it update them. It is idempotent, and a NATS user
// that may create streams but not update them (the services' users in the
// shipped configurations) can call it at every start. It fails when the
// options are invalid, the server refuses the configuration (for example a
// change of storage type, or more replicas than servers), or the settings
// differ and the update fails (an error wrapping ErrSettingsDiffer).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, n Names, o StreamOptions) error {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return err
	}
	for _, cfg := range []jetstream.StreamConfig{EventsConfig(n, o), DLQConfig(n, o)} {
		if err := ensureStream(ctx, js, cfg); err != nil {
			return fmt.Errorf("natsjs: ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// EnsureLatestBucket creates the KV bucket that holds the latest score of
// every region and the latest ranking (one value per key) when it is missing,
// and updates its replicas only when they differ (as EnsureStreams does).
func EnsureLatestBucket(ctx context.Context, js jetstream.JetStream, n Names, replicas int) (jetstream.KeyValue, error) {
	n = n.WithDefaults()
	if err := ValidateReplicas(replicas); err != nil {
		return nil, err
	}
	cfg := jetstream.KeyValueConfig{
		Bucket:      n.LatestBucket,
		Description: "govpulse latest score per region and latest ranking",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
	kv, err := ensureReplicas(ctx, js, n.LatestBucketStream(), cfg.Replicas,
		func(ctx context.Context) (jetstream.KeyValue, error) { return js.CreateKeyValue(ctx, cfg) },
		func(ctx context.Context) (jetstream.KeyValue, error) { return js.KeyValue(ctx, cfg.Bucket) },
		func(ctx context.Context) (jetstream.KeyValue, error) { return js.UpdateKeyValue(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("natsjs: ensure kv bucket %s: %w", n.LatestBucket, err)
	}
	return kv, nil
}

// EnsureCheckpointStore creates the object store that holds one checkpoint
// per aggregator partition when it is missing, and updates its replicas only
// when they differ (as EnsureStreams does).
func EnsureCheckpointStore(ctx context.Context, js jetstream.JetStream, n Names, replicas int) (jetstream.ObjectStore, error) {
	n = n.WithDefaults()
	if err := ValidateReplicas(replicas); err != nil {
		return nil, err
	}
	cfg := jetstream.ObjectStoreConfig{
		Bucket:      n.CheckpointStore,
		Description: "govpulse aggregator checkpoints",
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
	obs, err := ensureReplicas(ctx, js, n.CheckpointStoreStream(), cfg.Replicas,
		func(ctx context.Context) (jetstream.ObjectStore, error) { return js.CreateObjectStore(ctx, cfg) },
		func(ctx context.Context) (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, cfg.Bucket) },
		func(ctx context.Context) (jetstream.ObjectStore, error) { return js.UpdateObjectStore(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("natsjs: ensure object store %s: %w", n.CheckpointStore, err)
	}
	return obs, nil
}

// ValidateReplicas reports whether r is a usable number of replicas of a stream, bucket or object
// store: 1..5, or 0 for 1.
func ValidateReplicas(r int) error {
	if r < 0 || r > 5 {
		return fmt.Errorf("natsjs: replicas %d: must be 1..5 (0 means 1)", r)
	}
	return nil
}

// StreamExists reports whether the named stream exists. It returns an error
// only when the question cannot be answered (no connection, timeout).
func StreamExists(ctx context.Context, js jetstream.JetStream, name string) (bool, error) {
	_, err := js.Stream(ctx, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("natsjs: look up stream %s: %w", name, err)
	}
}
