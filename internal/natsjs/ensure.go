package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// updateTimeout bounds a settings update. A user without the permission to update streams (the
// services' users in the shipped NATS configurations) gets no answer from the server, only a
// permissions violation, so the request would otherwise wait for the caller's whole deadline.
const updateTimeout = 5 * time.Second

// ErrSettingsDiffer is wrapped by the error of an Ensure function when a stream, bucket or object
// store exists with settings other than the ones asked for and changing them failed (in the shipped
// NATS configurations only the admin user may change them).
var ErrSettingsDiffer = errors.New("settings differ from the configuration")

// ensureStream creates the stream when it is missing. An existing stream whose settings equal cfg's
// is left alone, so a user that may create streams but not update them can call it at every start;
// only when the settings differ is an update attempted, and its failure is an error wrapping
// ErrSettingsDiffer that names the differences.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	s, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
		// Another process created it meanwhile, with other settings: compare with those.
		s, err = js.Stream(ctx, cfg.Name)
	}
	if err != nil {
		return err
	}
	diffs := streamDiff(s.CachedInfo().Config, cfg)
	if len(diffs) == 0 {
		return nil
	}
	uctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	if _, err := js.UpdateStream(uctx, cfg); err != nil {
		return settingsError(diffs, err)
	}
	return nil
}

func settingsError(diffs []string, err error) error {
	return fmt.Errorf("%w (%s) and the update failed (with the shipped NATS users only admin may change them: see deploy/README.md): %w",
		ErrSettingsDiffer, strings.Join(diffs, ", "), err)
}

// streamDiff lists the settings govpulse chooses that differ between the stream's configuration
// have and the wanted one, as "name have -> want".
func streamDiff(have, want jetstream.StreamConfig) []string {
	var d []string
	add := func(name string, h, w any, differ bool) {
		if differ {
			d = append(d, fmt.Sprintf("%s %v -> %v", name, h, w))
		}
	}
	add("subjects", have.Subjects, want.Subjects, !slices.Equal(have.Subjects, want.Subjects))
	add("retention", have.Retention, want.Retention, have.Retention != want.Retention)
	add("max_msgs", have.MaxMsgs, want.MaxMsgs, have.MaxMsgs != want.MaxMsgs)
	add("max_bytes", have.MaxBytes, want.MaxBytes, have.MaxBytes != want.MaxBytes)
	add("max_msg_size", have.MaxMsgSize, want.MaxMsgSize, want.MaxMsgSize != 0 && have.MaxMsgSize != want.MaxMsgSize)
	add("discard", have.Discard, want.Discard, have.Discard != want.Discard)
	add("max_age", have.MaxAge, want.MaxAge, have.MaxAge != want.MaxAge)
	add("storage", have.Storage, want.Storage, have.Storage != want.Storage)
	add("replicas", have.Replicas, want.Replicas, have.Replicas != want.Replicas)
	add("duplicate_window", have.Duplicates, want.Duplicates, want.Duplicates != 0 && have.Duplicates != want.Duplicates)
	add("deny_delete", have.DenyDelete, want.DenyDelete, have.DenyDelete != want.DenyDelete)
	add("deny_purge", have.DenyPurge, want.DenyPurge, have.DenyPurge != want.DenyPurge)
	return d
}

// ensureReplicas binds to the stream backing a bucket or object store (create makes it when it is
// missing, bind returns it when it exists) and updates its replicas only when they differ, so that
// a user without the permission to update streams can call it at every start.
func ensureReplicas[T any](ctx context.Context, js jetstream.JetStream, stream string, replicas int,
	create, bind, update func(context.Context) (T, error)) (T, error) {
	var zero T
	s, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		v, err := create(ctx)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return bind(ctx) // another process created it meanwhile
		}
		return v, err
	}
	if err != nil {
		return zero, err
	}
	if have := s.CachedInfo().Config.Replicas; have != replicas {
		uctx, cancel := context.WithTimeout(ctx, updateTimeout)
		defer cancel()
		v, err := update(uctx)
		if err != nil {
			return zero, settingsError([]string{fmt.Sprintf("replicas %d -> %d", have, replicas)}, err)
		}
		return v, nil
	}
	return bind(ctx)
}
