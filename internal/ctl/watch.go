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
	"github.com/govpulse/govpulse/internal/scoring"
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
	// Methods are the scoring methods whose rankings are shown, one table
	// each, in this order. Empty means scoring.DefaultMethod alone.
	Methods []string
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
	if len(o.Methods) == 0 {
		o.Methods = []string{scoring.DefaultMethod}
	}
	return o
}

// Validate reports an invalid option: a name NATS refuses, an unknown
// method.
func (o WatchOptions) Validate() error {
	if err := o.Names.Validate(); err != nil {
		return fmt.Errorf("ctl: watch: %w", err)
	}
	for _, m := range o.Methods {
		if _, ok := scoring.Lookup(m); !ok {
			return fmt.Errorf("ctl: watch: method %q: not one of %v", m, scoring.Methods())
		}
	}
	return nil
}

// rankingsSubject, scoreSubjects, rankingKey and scoreKey name where a
// method's rankings and scores are published: the un-suffixed names for
// the default method, the method's own for another.
func rankingsSubject(n natsjs.Names, method string) string {
	if method == scoring.DefaultMethod {
		return n.RankingsSubject()
	}
	return n.MethodRankingsSubject(method)
}

func scoreSubjects(n natsjs.Names, method string) string {
	if method == scoring.DefaultMethod {
		return n.ScoreSubjects()
	}
	return n.MethodScoreSubjects(method)
}

func rankingKey(method string) string {
	if method == scoring.DefaultMethod {
		return natsjs.RankingKey
	}
	return natsjs.MethodRankingKey(method)
}

func scoreKey(method, region string) string {
	if method == scoring.DefaultMethod {
		return natsjs.ScoreKey(region)
	}
	return natsjs.MethodScoreKey(method, region)
}

// boards is one Board per method, in the order of WatchOptions.Methods.
type boards []*Board

func newBoards(methods []string) boards {
	bs := make(boards, len(methods))
	for i, m := range methods {
		bs[i] = &Board{method: m}
	}
	return bs
}

func (bs boards) empty() bool {
	for _, b := range bs {
		if !b.Empty() {
			return false
		}
	}
	return true
}

// render writes the table of every method that has something to show,
// one after the other.
func (bs boards) render(w io.Writer) error {
	first := true
	for _, b := range bs {
		if b.Empty() {
			continue
		}
		if !first {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return fmt.Errorf("ctl: write table: %w", err)
			}
		}
		first = false
		if err := b.Render(w); err != nil {
			return err
		}
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
	b := newBoards(opts.Methods)
	// A message's subscription says which board it is for and what it is.
	type target struct {
		board   *Board
		ranking bool
	}
	targets := make(map[*nats.Subscription]target)
	for i, m := range opts.Methods {
		for _, t := range []struct {
			subject string
			ranking bool
		}{{rankingsSubject(names, m), true}, {scoreSubjects(names, m), false}} {
			sub, err := nc.ChanSubscribe(t.subject, ch)
			if err != nil {
				return fmt.Errorf("ctl: watch: subscribe %s: %w", t.subject, err)
			}
			defer func() { _ = sub.Unsubscribe() }()
			targets[sub] = target{board: b[i], ranking: t.ranking}
		}
	}
	if err := start(ctx, nc, names, b); err != nil {
		return err
	}
	render := func() error {
		if opts.Clear {
			if _, err := io.WriteString(w, clearScreen); err != nil {
				return fmt.Errorf("ctl: watch: %w", err)
			}
		}
		return b.render(w)
	}
	if b.empty() {
		if _, err := fmt.Fprintf(w, "waiting for the first ranking on %s ...\n", rankingsSubject(names, opts.Methods[0])); err != nil {
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
			if t := targets[m.Sub]; t.ranking {
				changed, err = t.board.SetRanking(m.Data)
			} else if t.board != nil {
				changed, err = t.board.SetScore(m.Data)
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
func start(ctx context.Context, nc *nats.Conn, names natsjs.Names, b boards) error {
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
	b := newBoards(opts.Methods)
	if err := loadLatest(ctx, nc, opts.Names, b); err != nil {
		return err
	}
	if b.empty() {
		return ErrNoRanking
	}
	return b.render(w)
}

// loadLatest reads the ranking and the score of every region of each
// board's method from the latest bucket into it. A missing bucket or key is
// not an error.
func loadLatest(ctx context.Context, nc *nats.Conn, names natsjs.Names, b boards) error {
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
	for _, board := range b {
		if err := get(rankingKey(board.method), board.SetRanking); err != nil {
			return err
		}
		for _, r := range events.Regions() {
			if err := get(scoreKey(board.method, r.Code), board.SetScore); err != nil {
				return err
			}
		}
	}
	return nil
}
