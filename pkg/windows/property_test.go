package windows_test

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

// stats is a user-defined accumulator: count, sum and a ratings histogram.
type stats struct {
	N, Sum int64
	Hist   windows.Counts
}

type statsAgg struct{}

func (statsAgg) Add(a stats, v int64) stats {
	a.N++
	a.Sum += v
	a.Hist[ratings.Bucket(v)]++
	return a
}

func (statsAgg) Merge(a, b stats) stats {
	a.N += b.N
	a.Sum += b.Sum
	a.Hist = windows.Histogram{}.Merge(a.Hist, b.Hist)
	return a
}

func (statsAgg) Result(a stats) stats { return a }

type statsCodec struct{}

func (statsCodec) Append(dst []byte, v stats) []byte {
	dst = windows.Int64Codec{}.Append(dst, v.N)
	dst = windows.Int64Codec{}.Append(dst, v.Sum)
	return windows.CountsCodec{}.Append(dst, v.Hist)
}

func (statsCodec) Read(src []byte) (stats, []byte, error) {
	var v stats
	var err error
	rest := src
	if v.N, rest, err = (windows.Int64Codec{}).Read(rest); err != nil {
		return v, src, err
	}
	if v.Sum, rest, err = (windows.Int64Codec{}).Read(rest); err != nil {
		return v, src, err
	}
	if v.Hist, rest, err = (windows.CountsCodec{}).Read(rest); err != nil {
		return v, src, err
	}
	return v, rest, nil
}

type actionKind int

const (
	actEvent actionKind = iota
	actAdvance
	actChanged
	actFinal
	actQuery
)

type action struct {
	kind actionKind
	key  string
	t    time.Time
	v    int64
	id   string
}

type accepted struct {
	key string
	t   time.Time
	v   int64
}

// propCase is one random stream with its configuration.
type propCase struct {
	cfg     windows.Config
	bound   time.Duration
	actions []action
}

func genCase(rng *rand.Rand) propCase {
	hop := time.Duration(1+rng.IntN(5)) * time.Minute
	n := 1 + rng.IntN(8)
	cfg := windows.Config{
		Size:            time.Duration(n) * hop,
		Offset:          time.Duration(rng.Int64N(int64(4*hop))) - 2*hop,
		AllowedLateness: time.Duration(rng.Int64N(int64(3*time.Duration(n)*hop) + 1)),
	}
	if n > 1 || rng.IntN(2) == 0 {
		cfg.Hop = hop
	}
	c := propCase{cfg: cfg, bound: time.Duration(rng.Int64N(int64(cfg.Size) + 1))}
	cur := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(time.Hour))))
	var ids []string
	keys := []string{"a", "b", "c"}
	spread := int64(2*(c.bound+cfg.AllowedLateness) + hop)
	for i := range 300 + rng.IntN(300) {
		a := action{kind: actEvent}
		switch r := rng.IntN(100); {
		case r < 5:
			a = action{kind: actAdvance, t: cur.Add(time.Duration(rng.Int64N(int64(cfg.Size))) - c.bound)}
		case r < 15:
			a = action{kind: actChanged}
		case r < 20:
			a = action{kind: actFinal}
		case r < 25:
			a = action{kind: actQuery, key: keys[rng.IntN(len(keys))], t: cur.Add(time.Duration(rng.Int64N(spread)) - time.Duration(spread/2))}
		}
		if a.kind != actEvent {
			c.actions = append(c.actions, a)
			continue
		}
		if rng.IntN(4) == 0 {
			cur = cur.Add(time.Duration(rng.Int64N(int64(hop))))
		}
		a.key = keys[rng.IntN(len(keys))]
		a.t = cur.Add(-time.Duration(rng.Int64N(spread))).Add(time.Duration(rng.IntN(1000)))
		if rng.IntN(10) == 0 {
			a.t = cur.Add(time.Duration(rng.Int64N(int64(2*c.bound + 1))))
		}
		a.v = 1 + rng.Int64N(6)
		if len(ids) > 0 && rng.IntN(8) == 0 {
			a.id = ids[len(ids)-1-rng.IntN(min(len(ids), 40))]
		} else {
			a.id = fmt.Sprint("e", i)
			ids = append(ids, a.id)
		}
		c.actions = append(c.actions, a)
	}
	return c
}

// propRun runs a case through an Operator, a Watermark and a Dedup, checks every output against a
// brute-force recomputation, and returns a log of every output. With restoreAt >= 0 the state is
// snapshot and restored before that action.
type propRun struct {
	t     *testing.T
	c     propCase
	op    *windows.Operator[string, int64, stats, stats]
	wm    windows.Watermark
	dedup *windows.Dedup

	// the model
	maxSeen, advanced time.Time
	applied           map[string]time.Time // id -> latest applied event time
	events            []accepted
	changedSince      map[string]bool // key|window start of windows changed since the last TakeChanged
	finals            map[string]bool
	log               []string
}

func (r *propRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("config %+v bound %v: %s", r.c.cfg, r.c.bound, fmt.Sprintf(format, args...))
}

func (r *propRun) modelWM() time.Time {
	wm := r.maxSeen.Add(-r.c.bound)
	if r.advanced.After(wm) {
		wm = r.advanced
	}
	return wm
}

func (r *propRun) brute(key string, w windows.Window) stats {
	var s stats
	for _, e := range r.events {
		if e.key == key && w.Contains(e.t) {
			s = statsAgg{}.Add(s, e.v)
		}
	}
	return s
}

func (r *propRun) sync() {
	wm, ok := r.wm.Current()
	if !ok {
		return
	}
	if !wm.Equal(r.modelWM()) {
		r.fail("watermark %v, model %v", wm, r.modelWM())
	}
	r.op.Advance(wm)
	r.dedup.Purge(r.op.Horizon(wm))
}

func (r *propRun) checkResults(what string, rs []windows.Result[string, stats]) {
	r.t.Helper()
	for i, x := range rs {
		if i > 0 {
			p := rs[i-1]
			if c := cmp.Compare(p.Key, x.Key); c > 0 || c == 0 && !p.Window.Start.Before(x.Window.Start) {
				r.fail("%s: results out of order: %v then %v", what, p, x)
			}
		}
		if want := r.brute(x.Key, x.Window); want != x.Value {
			r.fail("%s: %s %v = %+v, brute force %+v", what, x.Key, x.Window, x.Value, want)
		}
		if x.Window.End.Sub(x.Window.Start) != r.c.cfg.Size {
			r.fail("%s: window %v", what, x.Window)
		}
		r.log = append(r.log, fmt.Sprintf("%s %s %v %+v", what, x.Key, x.Window, x.Value))
	}
}

func winKey(key string, w windows.Window) string { return key + "|" + w.Start.Format(time.RFC3339Nano) }

func (r *propRun) run(restoreAt int) []string {
	r.t.Helper()
	var err error
	if r.op, err = windows.New[string](r.c.cfg, windows.Aggregator[int64, stats, stats](statsAgg{})); err != nil {
		r.t.Fatal(err)
	}
	r.wm = windows.NewWatermark(r.c.bound)
	r.dedup = windows.NewDedup()
	r.applied = map[string]time.Time{}
	r.changedSince = map[string]bool{}
	r.finals = map[string]bool{}
	for i, a := range r.c.actions {
		if i == restoreAt {
			r.restore()
		}
		switch a.kind {
		case actEvent:
			r.event(a)
		case actAdvance:
			r.wm.Advance(a.t)
			if a.t.After(r.advanced) {
				r.advanced = a.t
			}
			r.sync()
		case actChanged:
			rs := r.op.TakeChanged(nil)
			r.checkResults("changed", rs)
			got := map[string]bool{}
			for _, x := range rs {
				got[winKey(x.Key, x.Window)] = true
			}
			if !mapsEqual(got, r.changedSince) {
				r.fail("changed windows %v, want %v", sortedKeys(got), sortedKeys(r.changedSince))
			}
			clear(r.changedSince)
		case actFinal:
			r.takeFinal()
		case actQuery:
			r.query(a)
		}
	}
	// Finish: every window that received an event becomes final exactly once.
	far := r.maxSeen.Add(r.c.cfg.Size + r.c.cfg.AllowedLateness + r.c.bound + time.Hour)
	r.wm.Advance(far)
	r.advanced = far
	r.sync()
	r.takeFinal()
	want := map[string]bool{}
	for _, e := range r.events {
		for _, w := range r.c.cfg.WindowsOf(e.t, nil) {
			want[winKey(e.key, w)] = true
		}
	}
	if !mapsEqual(r.finals, want) {
		r.fail("final windows %v, want %v", sortedKeys(r.finals), sortedKeys(want))
	}
	if r.op.Len() != 0 || r.op.Panes() != 0 {
		r.fail("state left after the last window is final: %d keys, %d panes", r.op.Len(), r.op.Panes())
	}
	return r.log
}

func (r *propRun) takeFinal() {
	rs := r.op.TakeFinal(nil)
	r.checkResults("final", rs)
	wm := r.modelWM()
	for _, x := range rs {
		k := winKey(x.Key, x.Window)
		if r.finals[k] {
			r.fail("window %s final twice", k)
		}
		if x.Window.End.Add(r.c.cfg.AllowedLateness).After(wm) {
			r.fail("window %s final before its time (watermark %v)", k, wm)
		}
		r.finals[k] = true
	}
}

func (r *propRun) event(a action) {
	r.wm.Observe(a.t)
	if a.t.After(r.maxSeen) {
		r.maxSeen = a.t
	}
	wm, _ := r.wm.Current()
	horizon := r.modelWM().Add(-r.c.cfg.AllowedLateness)
	late := a.t.Before(horizon)
	err := r.op.Check(a.t, wm)
	if late != (err != nil) {
		r.fail("event %v at horizon %v: check %v, model late %v", a.t, horizon, err, late)
	}
	if late {
		if !errors.Is(err, windows.ErrTooLate) {
			r.fail("check error %v does not match ErrTooLate", err)
		}
		if err := r.op.Add(a.key, a.t, a.v, wm); !errors.Is(err, windows.ErrTooLate) {
			r.fail("add of a late event: %v", err)
		}
		r.log = append(r.log, "late "+a.id)
		r.sync()
		return
	}
	at, seen := r.applied[a.id]
	dup := seen && !at.Before(horizon)
	if got := r.dedup.Contains(a.id, r.op.Horizon(wm)); got != dup {
		r.fail("dedup of %s at %v: %v, model %v", a.id, a.t, got, dup)
	}
	if dup {
		r.log = append(r.log, "duplicate "+a.id)
		r.sync()
		return
	}
	if err := r.op.Add(a.key, a.t, a.v, wm); err != nil {
		r.fail("add: %v", err)
	}
	r.dedup.Add(a.id, a.t)
	if !seen || a.t.After(at) {
		r.applied[a.id] = a.t
	}
	r.events = append(r.events, accepted{key: a.key, t: a.t, v: a.v})
	for _, w := range r.c.cfg.WindowsOf(a.t, nil) {
		r.changedSince[winKey(a.key, w)] = true
	}
	r.log = append(r.log, "ok "+a.id)
	r.sync()
}

func (r *propRun) query(a action) {
	wm, ok := r.wm.Current()
	if !ok {
		return
	}
	// The rolling window ending at the end of the watermark's pane, and a window around a.t if it
	// cannot be final yet.
	day := r.c.cfg.PaneOf(wm)
	ws := []windows.Window{{Start: day.End.Add(-r.c.cfg.Size), End: day.End}}
	if w := r.c.cfg.WindowsOf(a.t, nil)[0]; w.End.Add(r.c.cfg.AllowedLateness).After(wm) {
		ws = append(ws, w)
	}
	for _, w := range ws {
		got := r.op.Query(a.key, w.Start, w.End)
		if want := r.brute(a.key, w); got != want {
			r.fail("query %s %v at watermark %v = %+v, brute force %+v", a.key, w, wm, got, want)
		}
		r.log = append(r.log, fmt.Sprintf("query %s %v %+v", a.key, w, got))
	}
}

func (r *propRun) restore() {
	snap := r.op.AppendSnapshot(nil, windows.StringCodec{}, statsCodec{})
	snap = r.wm.AppendSnapshot(snap)
	snap = r.dedup.AppendSnapshot(snap)
	op, rest, err := windows.Restore[string](r.c.cfg, windows.Aggregator[int64, stats, stats](statsAgg{}), windows.StringCodec{}, statsCodec{}, snap)
	if err != nil {
		r.fail("restore: %v", err)
	}
	wm, rest, err := windows.ReadWatermark(rest)
	if err != nil {
		r.fail("read watermark: %v", err)
	}
	d, rest, err := windows.ReadDedup(rest)
	if err != nil || len(rest) != 0 {
		r.fail("read dedup: %v, %d bytes left", err, len(rest))
	}
	again := op.AppendSnapshot(nil, windows.StringCodec{}, statsCodec{})
	again = wm.AppendSnapshot(again)
	again = d.AppendSnapshot(again)
	if string(again) != string(snap) {
		r.fail("the restored state encodes differently")
	}
	r.op, r.wm, r.dedup = op, wm, d
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestProperty runs random streams with random disorder, lateness and duplicates. Every changed,
// final and queried result must equal a brute-force recomputation from the accepted events; the
// changed and final windows must be exactly those the accepted events touched; and a snapshot and
// restore at a random point must give exactly the same output as an uninterrupted run.
func TestProperty(t *testing.T) {
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	counts := map[string]int{}
	for seed := range uint64(iterations) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		c := genCase(rng)
		restoreAt := rng.IntN(len(c.actions))
		whole := (&propRun{t: t, c: c}).run(-1)
		resumed := (&propRun{t: t, c: c}).run(restoreAt)
		if a, b := strings.Join(whole, "\n"), strings.Join(resumed, "\n"); a != b {
			i := 0
			for i < min(len(whole), len(resumed)) && whole[i] == resumed[i] {
				i++
			}
			t.Fatalf("seed %d: restore before action %d changes output at line %d", seed, restoreAt, i)
		}
		for _, l := range whole {
			kind, _, _ := strings.Cut(l, " ")
			counts[kind]++
		}
	}
	t.Logf("outputs checked: %v", counts)
	for _, kind := range []string{"ok", "late", "duplicate", "changed", "final", "query"} {
		if counts[kind] == 0 {
			t.Errorf("no %q output: the generator does not exercise it", kind)
		}
	}
}
