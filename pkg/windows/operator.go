package windows

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Result is the value of one window of one key.
type Result[K any, Out any] struct {
	Key    K
	Window Window
	Value  Out
}

// Operator keeps, per key, one accumulator per pane (a Hop-long slice of event time) and combines
// them into window results. It assigns events to panes, refuses events behind the lateness horizon,
// remembers which windows changed and which became final, and purges panes no open window needs.
//
// After Advance(wm), Query is exact for every range [start, end) with start + Size +
// AllowedLateness > wm: that is every window that is not final (End + AllowedLateness > wm), and
// every range starting no earlier than such a window, including panes ahead of the watermark. For
// the daily rolling window [day(wm) - (Size - Hop), day(wm) + Hop) this always holds. Older panes
// may have been purged; results over them are partial. Advance(wm) purges exactly the panes whose
// start + Size + AllowedLateness <= wm, so a key holds at most (Size + AllowedLateness)/Hop + 1
// panes up to the watermark, plus those of events ahead of it.
//
// An Operator is not safe for concurrent use; it starts no goroutines and reads no clock.
type Operator[K cmp.Ordered, In, Acc, Out any] struct {
	cfg Config
	g   geometry
	agg Aggregator[In, Acc, Out]

	keys map[K]*keyState[Acc]

	hasWM bool
	wm    int64 // the largest watermark given to Advance
	fin   int64 // g.lastFinal(wm): windows and panes numbered <= fin are final

	dirtyKeys    []K               // keys that may have dirty panes, unsorted, maybe repeated
	changedFinal []pending[K, Acc] // changed windows that became final before TakeChanged
	final        []pending[K, Acc] // final windows not yet taken
	scratch      []int64           // window numbers, reused
	dirtyWins    []int64           // window numbers, reused by Advance
	accs         []Acc             // window accumulators, reused
	suffix       []Acc             // reused by windowAccs
	scratchRes   []pending[K, Acc] // reused by TakeChanged
}

// keyState holds the panes of one key, sorted by pane number.
type keyState[Acc any] struct {
	panes []pane[Acc]
	dirty bool // the key is in dirtyKeys
}

type pane[Acc any] struct {
	n     int64 // pane number
	acc   Acc
	dirty bool // changed since the last TakeChanged
}

type pending[K any, Acc any] struct {
	key K
	s   int64 // window number
	acc Acc
}

// New returns an empty Operator for cfg. The error matches ErrInvalidConfig.
func New[K cmp.Ordered, In, Acc, Out any](cfg Config, agg Aggregator[In, Acc, Out]) (*Operator[K, In, Acc, Out], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if agg == nil {
		return nil, fmt.Errorf("windows: %w: nil aggregator", ErrInvalidConfig)
	}
	cfg = cfg.normalized()
	return &Operator[K, In, Acc, Out]{
		cfg:  cfg,
		g:    newGeometry(cfg),
		agg:  agg,
		keys: make(map[K]*keyState[Acc]),
		wm:   math.MinInt64,
		fin:  math.MinInt64,
	}, nil
}

// Config returns the operator's Config, with Hop filled in and Offset reduced modulo Hop.
func (o *Operator[K, In, Acc, Out]) Config() Config { return o.cfg }

// Watermark returns the watermark of the last Advance, and false before the first.
func (o *Operator[K, In, Acc, Out]) Watermark() (time.Time, bool) {
	return fromNanos(o.wm), o.hasWM
}

// Horizon returns the lateness horizon at watermark wm (or at the operator's watermark, if that is
// later): events before it are too late.
func (o *Operator[K, In, Acc, Out]) Horizon(wm time.Time) time.Time {
	return fromNanos(o.g.horizon(o.effective(wm)))
}

func (o *Operator[K, In, Acc, Out]) effective(wm time.Time) int64 {
	w := nanos(wm)
	if o.hasWM && o.wm > w {
		w = o.wm
	}
	return w
}

// Check returns the error Add would return for an event at t with watermark wm, and changes
// nothing: a *LateError matching ErrTooLate when t < wm - AllowedLateness (wm being the later of
// the given watermark and the operator's), else nil. Callers that deduplicate events check
// lateness first, so that a too-late event never counts as applied.
func (o *Operator[K, In, Acc, Out]) Check(t, wm time.Time) error {
	w := o.effective(wm)
	if h := o.g.horizon(w); nanos(t) < h {
		return &LateError{Time: t, Watermark: fromNanos(w), Horizon: fromNanos(h)}
	}
	return nil
}

// Add adds in at event time t for key. wm is the caller's current watermark, already raised by t;
// the zero time means none. If the operator was advanced further, its own watermark is used. An
// event with t < wm - AllowedLateness returns a *LateError matching ErrTooLate and changes
// nothing; otherwise the event's pane is updated and the windows containing it are reported by
// the next TakeChanged. Add costs O(1) however many windows contain t (O(log panes) for an event
// that is not in the newest pane of its key) and does not allocate once the key's panes exist.
func (o *Operator[K, In, Acc, Out]) Add(key K, t time.Time, in In, wm time.Time) error {
	tn := nanos(t)
	if w := o.effective(wm); tn < o.g.horizon(w) {
		return &LateError{Time: t, Watermark: fromNanos(w), Horizon: fromNanos(o.g.horizon(w))}
	}
	ks := o.keys[key]
	if ks == nil {
		ks = &keyState[Acc]{}
		o.keys[key] = ks
	}
	p := ks.find(o.g.pane(tn))
	p.acc = o.agg.Add(p.acc, in)
	if !o.cfg.DiscardChanged && !p.dirty {
		p.dirty = true
		if !ks.dirty {
			ks.dirty = true
			o.dirtyKeys = append(o.dirtyKeys, key)
		}
	}
	return nil
}

// find returns the pane numbered n, inserting an empty one if needed.
func (ks *keyState[Acc]) find(n int64) *pane[Acc] {
	ps := ks.panes
	if l := len(ps); l > 0 {
		if last := &ps[l-1]; last.n == n {
			return last
		} else if last.n < n {
			ks.panes = append(ks.room(), pane[Acc]{n: n})
			return &ks.panes[l]
		}
	} else {
		ks.panes = append(ks.room(), pane[Acc]{n: n})
		return &ks.panes[0]
	}
	i, ok := slices.BinarySearchFunc(ps, n, func(p pane[Acc], n int64) int { return cmp.Compare(p.n, n) })
	if !ok {
		ks.panes = slices.Insert(ks.room(), i, pane[Acc]{n: n})
	}
	return &ks.panes[i]
}

// room returns the panes with capacity for one more. A full slice grows by an eighth (at least 4
// panes), not by append's doubling: a key's panes grow to the same count day after day and stay
// there, so the spare capacity would be held for good (a quarter to a half of the windows' memory).
func (ks *keyState[Acc]) room() []pane[Acc] {
	ps := ks.panes
	if len(ps) < cap(ps) {
		return ps
	}
	grown := make([]pane[Acc], len(ps), len(ps)+max(4, len(ps)/8))
	copy(grown, ps)
	return grown
}

// search returns the index of the first pane numbered >= n.
func (ks *keyState[Acc]) search(n int64) int {
	lo, hi := 0, len(ks.panes)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ks.panes[m].n < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Query returns the result over [start, end) for key: it combines the panes that lie entirely
// inside the range (bounds on pane boundaries, such as window bounds, lose nothing). See Operator
// for which ranges are exact after Advance. Query allocates nothing.
func (o *Operator[K, In, Acc, Out]) Query(key K, start, end time.Time) Out {
	var acc Acc
	if ks := o.keys[key]; ks != nil {
		acc = o.combine(ks, o.g.paneCeil(nanos(start)), o.g.pane(nanos(end)))
	}
	return o.agg.Result(acc)
}

// combine merges the panes numbered in [lo, hi).
func (o *Operator[K, In, Acc, Out]) combine(ks *keyState[Acc], lo, hi int64) Acc {
	var acc Acc
	i := ks.search(lo)
	if i < len(ks.panes) && ks.panes[i].n < hi {
		acc = ks.panes[i].acc
		for i++; i < len(ks.panes) && ks.panes[i].n < hi; i++ {
			acc = o.agg.Merge(acc, ks.panes[i].acc)
		}
	}
	return acc
}

// TakeChanged appends to dst every (key, window, result) whose value changed since the last call,
// in order of key, then window start, forgets them and returns the extended slice. A window that
// became final in the meantime is reported with its final value. With Config.DiscardChanged it
// appends nothing. The cost is O(1) merges per window reported plus O(Size/Hop) per changed run of
// windows.
func (o *Operator[K, In, Acc, Out]) TakeChanged(dst []Result[K, Out]) []Result[K, Out] {
	res := append(o.scratchRes[:0], o.changedFinal...)
	clear(o.changedFinal)
	o.changedFinal = o.changedFinal[:0]
	for _, k := range o.dirtyKeys {
		ks := o.keys[k]
		if ks == nil || !ks.dirty {
			continue
		}
		ks.dirty = false
		o.scratch = o.windowsOfDirty(ks, o.fin+1, math.MaxInt64, o.scratch[:0])
		o.accs = o.windowAccs(ks, o.scratch, o.accs[:0])
		for i, s := range o.scratch {
			res = append(res, pending[K, Acc]{key: k, s: s, acc: o.accs[i]})
		}
		clear(o.accs)
		for i := range ks.panes {
			ks.panes[i].dirty = false
		}
	}
	clear(o.dirtyKeys)
	o.dirtyKeys = o.dirtyKeys[:0]
	sortPending(res)
	dst = o.appendResults(dst, res)
	clear(res)
	o.scratchRes = res[:0]
	return dst
}

// TakeFinal appends to dst the windows that became final (End + AllowedLateness <= watermark) in
// Advance since the last call, with their results, in order of key, then window start, forgets
// them and returns the extended slice. Every window that holds at least one event is returned
// exactly once. With Config.DiscardFinal it appends nothing.
func (o *Operator[K, In, Acc, Out]) TakeFinal(dst []Result[K, Out]) []Result[K, Out] {
	sortPending(o.final)
	dst = o.appendResults(dst, o.final)
	clear(o.final)
	o.final = o.final[:0]
	return dst
}

func (o *Operator[K, In, Acc, Out]) appendResults(dst []Result[K, Out], ps []pending[K, Acc]) []Result[K, Out] {
	for _, p := range ps {
		dst = append(dst, Result[K, Out]{Key: p.key, Window: o.g.window(p.s), Value: o.agg.Result(p.acc)})
	}
	return dst
}

func sortPending[K cmp.Ordered, Acc any](ps []pending[K, Acc]) {
	slices.SortFunc(ps, func(a, b pending[K, Acc]) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.s, b.s)
	})
}

// windowsOfDirty appends, in order, the numbers s in [lo, hi] of the windows that contain a dirty
// pane of ks.
func (o *Operator[K, In, Acc, Out]) windowsOfDirty(ks *keyState[Acc], lo, hi int64, dst []int64) []int64 {
	next := lo // the smallest window number not yet considered
	for i := range ks.panes {
		p := &ks.panes[i]
		if !p.dirty {
			continue
		}
		from := max(next, p.n-o.g.n+1)
		to := min(p.n, hi)
		for s := from; s <= to; s++ {
			dst = append(dst, s)
		}
		if to >= next {
			next = to + 1
		}
	}
	return dst
}

// windowsOfPanes appends, in order, the numbers s in [lo, hi] of the windows that contain a pane
// of ks.
func (o *Operator[K, In, Acc, Out]) windowsOfPanes(ks *keyState[Acc], lo, hi int64, dst []int64) []int64 {
	next := lo
	for i := range ks.panes {
		n := ks.panes[i].n
		if n-o.g.n+1 > hi {
			break
		}
		from := max(next, n-o.g.n+1)
		to := min(n, hi)
		for s := from; s <= to; s++ {
			dst = append(dst, s)
		}
		if to >= next {
			next = to + 1
		}
	}
	return dst
}

// windowAccs appends to dst the accumulators of the windows numbered ss (ascending), each the
// merge of the panes numbered s..s+n-1. Windows of several panes are computed by blocks of n
// panes, so that a run of consecutive windows costs O(1) merges per window plus O(n) per block,
// instead of n merges per window: the pane numbers are cut into aligned blocks of n, a window is a
// suffix of one block merged with a prefix of the next, the suffixes of a block are computed once,
// and the prefix grows as the windows move right.
func (o *Operator[K, In, Acc, Out]) windowAccs(ks *keyState[Acc], ss []int64, dst []Acc) []Acc {
	n := o.g.n
	if n == 1 {
		for _, s := range ss {
			var acc Acc
			if i := ks.search(s); i < len(ks.panes) && ks.panes[i].n == s {
				acc = ks.panes[i].acc
			}
			dst = append(dst, acc)
		}
		return dst
	}
	if int64(cap(o.suffix)) < n {
		o.suffix = make([]Acc, n)
	}
	suf := o.suffix[:n]
	defer clear(suf)
	var (
		block int64 = math.MinInt64 // the block whose suffixes are in suf
		base  int64                 // its first pane number
		pre   Acc                   // the merge of panes base+n .. j-1
		j     int                   // the next pane to merge into pre
	)
	for _, s := range ss {
		if b := floorDiv(s, n); b != block {
			block, base = b, b*n
			var acc Acc
			i := ks.search(base+n) - 1
			for x := n - 1; x >= 0; x-- {
				if i >= 0 && ks.panes[i].n == base+x {
					acc = o.agg.Merge(ks.panes[i].acc, acc)
					i--
				}
				suf[x] = acc
			}
			pre = *new(Acc)
			j = ks.search(base + n)
		}
		if s == base {
			dst = append(dst, suf[0])
			continue
		}
		for j < len(ks.panes) && ks.panes[j].n < s+n {
			pre = o.agg.Merge(pre, ks.panes[j].acc)
			j++
		}
		dst = append(dst, o.agg.Merge(suf[s-base], pre))
	}
	return dst
}

// Advance moves the operator to watermark wm; a wm not after the current one changes nothing.
// Windows whose End + AllowedLateness <= wm become final: TakeFinal returns them once, and a
// final window with unreported changes is kept for TakeChanged. Then the panes that only final
// windows contain are purged, and keys left without panes are forgotten. Advance costs O(1)
// unless wm - AllowedLateness crosses a pane boundary.
func (o *Operator[K, In, Acc, Out]) Advance(wm time.Time) {
	w := nanos(wm)
	if o.hasWM && w <= o.wm {
		return
	}
	oldFin := o.fin
	o.wm, o.hasWM = w, true
	o.fin = o.g.lastFinal(w)
	if o.fin <= oldFin {
		return
	}
	for k, ks := range o.keys {
		o.dirtyWins = o.dirtyWins[:0]
		if ks.dirty {
			o.dirtyWins = o.windowsOfDirty(ks, oldFin+1, o.fin, o.dirtyWins)
		}
		if o.cfg.DiscardFinal {
			o.scratch = append(o.scratch[:0], o.dirtyWins...)
		} else {
			o.scratch = o.windowsOfPanes(ks, oldFin+1, o.fin, o.scratch[:0])
		}
		o.accs = o.windowAccs(ks, o.scratch, o.accs[:0])
		d := 0
		for i, s := range o.scratch {
			for d < len(o.dirtyWins) && o.dirtyWins[d] < s {
				d++
			}
			if d < len(o.dirtyWins) && o.dirtyWins[d] == s {
				o.changedFinal = append(o.changedFinal, pending[K, Acc]{key: k, s: s, acc: o.accs[i]})
			}
			if !o.cfg.DiscardFinal {
				o.final = append(o.final, pending[K, Acc]{key: k, s: s, acc: o.accs[i]})
			}
		}
		clear(o.accs)
		// Purge panes numbered <= fin.
		i := ks.search(o.fin + 1)
		if i == len(ks.panes) {
			delete(o.keys, k)
			continue
		}
		if i > 0 {
			n := copy(ks.panes, ks.panes[i:])
			clear(ks.panes[n:])
			ks.panes = ks.panes[:n]
		}
	}
}

// Len returns the number of keys that hold panes.
func (o *Operator[K, In, Acc, Out]) Len() int { return len(o.keys) }

// Panes returns the number of panes held over all keys, a measure of the state's size.
func (o *Operator[K, In, Acc, Out]) Panes() int {
	n := 0
	for _, ks := range o.keys {
		n += len(ks.panes)
	}
	return n
}
