package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/groups"
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
	// Groups are the groups of units (package groups, such as
	// "key-cities") whose rankings are shown after the methods' tables, one
	// table each, with the scores of the first method (the aggregator ranks
	// the groups under its first method). Empty means none.
	Groups []string
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
	for _, g := range o.Groups {
		if _, ok := groups.Lookup(g); !ok {
			return fmt.Errorf("ctl: watch: unknown group %q", g)
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

// boards is one Board per method, in the order of WatchOptions.Methods, then one per group, in
// the order of WatchOptions.Groups.
type boards []*Board

// newBoards returns the boards of valid options with defaults.
func newBoards(opts WatchOptions) boards {
	bs := make(boards, 0, len(opts.Methods)+len(opts.Groups))
	for _, m := range opts.Methods {
		bs = append(bs, &Board{method: m})
	}
	for _, g := range opts.Groups {
		b, err := NewGroupBoard(g, opts.Methods[0])
		if err != nil {
			continue // unreachable: the options were validated
		}
		bs = append(bs, b)
	}
	return bs
}

// rankingSubject, rankingKey and scoreKey name where a board's ranking and
// scores are published.
func (b *Board) rankingSubject(n natsjs.Names) string {
	if b.group != "" {
		return n.GroupRankingsSubject(b.group)
	}
	return rankingsSubject(n, b.method)
}

func (b *Board) rankingKey() string {
	if b.group != "" {
		return natsjs.GroupRankingKey(b.group)
	}
	return rankingKey(b.method)
}

// regions returns the codes of the units whose scores the board shows.
func (b *Board) regions() []string {
	if b.members != nil {
		return slices.Sorted(maps.Keys(b.members))
	}
	var out []string
	for _, r := range events.Regions() {
		out = append(out, r.Code)
	}
	return out
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
	if err := opts.Validate(); err != nil {
		return err
	}
	names := opts.Names
	ch := make(chan *nats.Msg, 8192)
	b := newBoards(opts)
	// A message's subscription says which boards it is for and what it is.
	type target struct {
		boards  []*Board
		ranking bool
	}
	targets := make(map[*nats.Subscription]*target)
	bySubject := make(map[string]*target)
	add := func(subject string, ranking bool, board *Board) error {
		if t, ok := bySubject[subject]; ok {
			t.boards = append(t.boards, board)
			return nil
		}
		sub, err := nc.ChanSubscribe(subject, ch)
		if err != nil {
			return fmt.Errorf("ctl: watch: subscribe %s: %w", subject, err)
		}
		t := &target{boards: []*Board{board}, ranking: ranking}
		targets[sub], bySubject[subject] = t, t
		return nil
	}
	defer func() {
		for sub := range targets {
			_ = sub.Unsubscribe()
		}
	}()
	for _, board := range b {
		if err := add(board.rankingSubject(names), true, board); err != nil {
			return err
		}
		if err := add(scoreSubjects(names, board.method), false, board); err != nil {
			return err
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
			t := targets[m.Sub]
			if t == nil {
				continue
			}
			for _, board := range t.boards {
				set := board.SetScore
				if t.ranking {
					set = board.SetRanking
				}
				changed, err := set(m.Data)
				if err != nil {
					opts.Logger.Warn("skipping message", "subject", m.Subject, "error", err)
					break
				}
				dirty = dirty || changed
			}
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
	if err := opts.Validate(); err != nil {
		return err
	}
	b := newBoards(opts)
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
		if err := get(board.rankingKey(), board.SetRanking); err != nil {
			return err
		}
		for _, code := range board.regions() {
			if err := get(scoreKey(board.method, code), board.SetScore); err != nil {
				return err
			}
		}
	}
	return nil
}
