package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/pkg/events"
)

// ErrNoRanking is returned by [Once] when the latest bucket holds neither a
// ranking nor a score.
var ErrNoRanking = errors.New("ctl: no ranking or score published yet")

// clearScreen moves the cursor home and clears a terminal.
const clearScreen = "\x1b[H\x1b[2J"

// WatchOptions configures [Watch] and [Once]. The zero value means the
// defaults.
type WatchOptions struct {
	// Names are the subjects and the latest bucket. The zero value means
	// the defaults.
	Names natsjs.Names
	// Interval is the least time between two tables. 0 means 500ms.
	Interval time.Duration
	// Clear clears the screen before each table (for terminals).
	Clear bool
	// Logger receives warnings about undecodable messages. nil discards.
	Logger *slog.Logger
}

// WithDefaults returns o with every zero field set to its default.
func (o WatchOptions) WithDefaults() WatchOptions {
	o.Names = o.Names.WithDefaults()
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports an invalid option: a name NATS refuses.
func (o WatchOptions) Validate() error {
	if err := o.Names.Validate(); err != nil {
		return fmt.Errorf("ctl: watch: %w", err)
	}
	return nil
}

// Watch prints the ranking table to w whenever the ranking or a score
// changes, at most once per opts.Interval, until ctx is done (then it
// returns nil). It subscribes to the rankings and scores subjects (core
// NATS) and then reads the latest bucket, if it exists, so that a watcher
// started late shows the current state at once; older versions never
// replace newer ones. Messages that do not decode are logged and skipped.
func Watch(ctx context.Context, nc *nats.Conn, w io.Writer, opts WatchOptions) error {
	opts = opts.WithDefaults()
	names := opts.Names
	ch := make(chan *nats.Msg, 8192)
	rankings := names.RankingsSubject()
	scores := names.ScoreSubjects()
	for _, subj := range []string{rankings, scores} {
		sub, err := nc.ChanSubscribe(subj, ch)
		if err != nil {
			return fmt.Errorf("ctl: watch: subscribe %s: %w", subj, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	var b Board
	if err := start(ctx, nc, names, &b); err != nil {
		return err
	}
	render := func() error {
		if opts.Clear {
			if _, err := io.WriteString(w, clearScreen); err != nil {
				return fmt.Errorf("ctl: watch: %w", err)
			}
		}
		return b.Render(w)
	}
	if b.Empty() {
		if _, err := fmt.Fprintf(w, "waiting for the first ranking on %s ...\n", rankings); err != nil {
			return fmt.Errorf("ctl: watch: %w", err)
		}
	} else if err := render(); err != nil {
		return err
	}
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	dirty := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-ch:
			var changed bool
			var err error
			if m.Subject == rankings {
				changed, err = b.SetRanking(m.Data)
			} else {
				changed, err = b.SetScore(m.Data)
			}
			if err != nil {
				opts.Logger.Warn("skipping message", "subject", m.Subject, "error", err)
			}
			dirty = dirty || changed
		case <-tick.C:
			if dirty {
				if err := render(); err != nil {
					return err
				}
				dirty = false
			}
		}
	}
}

// start makes sure the server has the subscriptions, then loads the latest
// bucket into b, within [startTimeout].
func start(ctx context.Context, nc *nats.Conn, names natsjs.Names, b *Board) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("ctl: watch: flush subscriptions: %w", err)
	}
	return loadLatest(ctx, nc, names, b)
}

// startTimeout bounds the calls to the server before watching starts and
// those of [Once].
const startTimeout = 15 * time.Second

// Once prints the ranking table of the latest bucket to w and returns. It
// returns [ErrNoRanking] when the bucket is missing or holds nothing.
func Once(ctx context.Context, nc *nats.Conn, w io.Writer, opts WatchOptions) error {
	opts = opts.WithDefaults()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var b Board
	if err := loadLatest(ctx, nc, opts.Names, &b); err != nil {
		return err
	}
	if b.Empty() {
		return ErrNoRanking
	}
	return b.Render(w)
}

// loadLatest reads the ranking and the score of every region from the
// latest bucket into b. A missing bucket or key is not an error.
func loadLatest(ctx context.Context, nc *nats.Conn, names natsjs.Names, b *Board) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("ctl: jetstream: %w", err)
	}
	kv, err := js.KeyValue(ctx, names.LatestBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ctl: open bucket %s: %w", names.LatestBucket, err)
	}
	get := func(key string, set func([]byte) (bool, error)) error {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ctl: read %s/%s: %w", names.LatestBucket, key, err)
		}
		if _, err := set(e.Value()); err != nil {
			return fmt.Errorf("ctl: read %s/%s: %w", names.LatestBucket, key, err)
		}
		return nil
	}
	if err := get(natsjs.RankingKey, b.SetRanking); err != nil {
		return err
	}
	for _, r := range events.Regions() {
		if err := get(natsjs.ScoreKey(r.Code), b.SetScore); err != nil {
			return err
		}
	}
	return nil
}
