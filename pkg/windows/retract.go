package windows

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Subtractor is implemented by aggregators that can take an input back out of an accumulator:
// Subtract(Add(a, x), x) must equal a. Count, Sum, Mean, Histogram and Ratio implement it; Min and
// Max cannot, and Operator.Remove rebuilds their pane from the inputs that remain.
type Subtractor[In, Acc any] interface {
	Subtract(acc Acc, in In) Acc
}

// Inputs lists, through yield, the inputs still counted for key with event times in [start, end),
// in any order, until yield returns false. Operator.Remove calls it to rebuild a pane of an
// aggregator that is not a Subtractor; Ledger.Inputs is one.
type Inputs[K any, In any] func(key K, start, end time.Time, yield func(In) bool)

// Remove takes in, added earlier at event time t for key, back out of its pane, as if it had never
// been added: the windows that contain the pane and are not final are reported again by the next
// TakeChanged, and Query gives the corrected results. An aggregator that implements Subtractor
// subtracts in; for any other the pane is rebuilt from rest, which must list the inputs of key
// that remain counted in the pane (rest may be nil for a Subtractor).
//
// Unlike Add, Remove is not bound by the lateness horizon: it corrects every window that is not
// final yet, however old the input is. Windows that are already final keep their value, as
// everywhere in this package. When the input's pane has been purged (every window containing it
// is final), Remove changes nothing and returns a *LateError matching ErrTooLate whose Horizon is
// the start of the oldest pane still held. A pane that holds nothing (the input was never added)
// is left alone and Remove returns nil.
func (o *Operator[K, In, Acc, Out]) Remove(key K, t time.Time, in In, rest Inputs[K, In]) error {
	p := o.g.pane(nanos(t))
	if o.hasWM && p <= o.fin {
		return &LateError{Time: t, Watermark: fromNanos(o.wm), Horizon: fromNanos(o.g.paneStart(o.fin + 1))}
	}
	ks := o.keys[key]
	if ks == nil {
		return nil
	}
	i := ks.search(p)
	if i == len(ks.panes) || ks.panes[i].n != p {
		return nil
	}
	pn := &ks.panes[i]
	if sub, ok := any(o.agg).(Subtractor[In, Acc]); ok {
		pn.acc = sub.Subtract(pn.acc, in)
	} else {
		var acc Acc
		if rest != nil {
			start := o.g.paneStart(p)
			rest(key, fromNanos(start), fromNanos(start+o.g.hop), func(x In) bool {
				acc = o.agg.Add(acc, x)
				return true
			})
		}
		pn.acc = acc
	}
	if !o.cfg.DiscardChanged && !pn.dirty {
		pn.dirty = true
		if !ks.dirty {
			ks.dirty = true
			o.dirtyKeys = append(o.dirtyKeys, key)
		}
	}
	return nil
}

// RetractHorizon returns the start of the oldest pane the operator still holds after the last
// Advance (the zero time before the first): Remove refuses inputs before it, since every window
// containing them is final. It is never after the lateness horizon, so it is the bound to give
// Ledger.Purge.
func (o *Operator[K, In, Acc, Out]) RetractHorizon() time.Time {
	if !o.hasWM || o.fin == math.MinInt64 {
		return time.Time{}
	}
	return fromNanos(o.g.paneStart(o.fin + 1))
}

// Subtract returns acc - 1.
func (Count[In]) Subtract(acc int64, _ In) int64 { return acc - 1 }

// Subtract returns acc - in. For floats the result may differ in the last bits from a sum that
// never held in.
func (Sum[N]) Subtract(acc, in N) N { return acc - in }

// Subtract takes in out of the sum and the count.
func (Mean[N]) Subtract(acc MeanAcc[N], in N) MeanAcc[N] {
	return MeanAcc[N]{Sum: acc.Sum - in, Count: acc.Count - 1}
}

// Subtract uncounts in from its bucket.
func (h Histogram) Subtract(acc Counts, in int64) Counts {
	acc[h.Bucket(in)]--
	return acc
}

// Subtract uncounts in, and uncounts it from Num when it is true.
func (Ratio) Subtract(acc Fraction, in bool) Fraction {
	acc.Den--
	if in {
		acc.Num--
	}
	return acc
}

// Ledger remembers, by id, the inputs counted in one or more Operators, so that a void can take an
// input back out (Operator.Remove), and remembers the ids voided before their input arrived, so
// that the input is not counted when it comes. The result is the one of a stream in which a voided
// input never came. A Ledger is a pure structure like the rest of this package; the caller applies
// what it returns to its operators:
//
//   - Add(id, ...) before counting an input: it reports whether to count it (false for an id
//     already counted, or voided);
//   - Void(id, t) when the input is voided at event time t: it returns the entry to remove from
//     every operator that counted it, if it was counted;
//   - Inputs lists the inputs still counted, for Operator.Remove of aggregators that cannot
//     subtract;
//   - Purge(before) forgets entries and pending voids older than any operator can still change.
//
// An input voided before it arrives is recognised only while the void is held: Purge forgets a
// pending void once its own time is before the given bound, so an input must not be later in event
// time than its void (a review precedes its appeal). A Ledger is not safe for concurrent use.
type Ledger[K cmp.Ordered, In any] struct {
	entries map[string]*ledgerEntry[K, In]
	// byKey lists, in arrival order, the entries added under each key (a slice: no map insert per
	// input); an entry voided since stays listed until the next Purge, and Inputs skips it.
	byKey map[K][]*ledgerEntry[K, In]
}

// LedgerEntry is an input counted under an id.
type LedgerEntry[K any, In any] struct {
	Key  K
	Time time.Time
	In   In
}

type ledgerEntry[K any, In any] struct {
	LedgerEntry[K, In]
	void     bool  // voided: no longer counted (or never, when it arrived after its void)
	pending  bool  // voided before it arrived: Key, Time and In are not known yet
	voidTime int64 // the event time of the void, for Purge of a pending void
}

// NewLedger returns an empty Ledger.
func NewLedger[K cmp.Ordered, In any]() *Ledger[K, In] {
	return &Ledger[K, In]{
		entries: make(map[string]*ledgerEntry[K, In]),
		byKey:   make(map[K][]*ledgerEntry[K, In]),
	}
}

// Add records the input in of id for key at event time t and reports whether the caller should
// count it: false when id is already recorded (a duplicate, counted or voided) or was voided before
// it arrived, in which case the input is recorded as void and never counted. Call it after the
// operators' lateness checks, so that a refused input is not recorded.
func (l *Ledger[K, In]) Add(id string, key K, t time.Time, in In) bool {
	if e := l.entries[id]; e != nil {
		if !e.pending {
			return false
		}
		e.LedgerEntry = LedgerEntry[K, In]{Key: key, Time: t, In: in}
		e.pending = false
		return false
	}
	e := &ledgerEntry[K, In]{LedgerEntry: LedgerEntry[K, In]{Key: key, Time: t, In: in}}
	l.entries[id] = e
	l.byKey[key] = append(l.byKey[key], e)
	return true
}

// Void voids id at event time t. It returns the entry to Remove from every operator that counted
// it and true when id was counted; false when it was already void, or not seen yet (it is then
// held as a pending void, and Add will refuse it).
func (l *Ledger[K, In]) Void(id string, t time.Time) (LedgerEntry[K, In], bool) {
	e := l.entries[id]
	if e == nil {
		l.entries[id] = &ledgerEntry[K, In]{void: true, pending: true, voidTime: nanos(t)}
		return LedgerEntry[K, In]{}, false
	}
	if e.void {
		return LedgerEntry[K, In]{}, false
	}
	e.void = true
	return e.LedgerEntry, true
}

// Counted reports whether id is recorded and counted (not void).
func (l *Ledger[K, In]) Counted(id string) bool {
	e := l.entries[id]
	return e != nil && !e.void
}

// Voided reports whether id is void, whether its input arrived or not.
func (l *Ledger[K, In]) Voided(id string) bool {
	e := l.entries[id]
	return e != nil && e.void
}

// Inputs lists the inputs of key still counted with event times in [start, end), for
// Operator.Remove; its type is Inputs.
func (l *Ledger[K, In]) Inputs(key K, start, end time.Time, yield func(In) bool) {
	s, e := nanos(start), nanos(end)
	for _, x := range l.byKey[key] {
		if x.void {
			continue
		}
		if tn := nanos(x.Time); tn >= s && tn < e {
			if !yield(x.In) {
				return
			}
		}
	}
}

// Purge forgets the entries whose input time is before before, and the pending voids whose void
// time is before it. Pass the start of the oldest pane any operator still holds (or older): an
// older input can no longer be removed, and an input older than a void is too late to count.
func (l *Ledger[K, In]) Purge(before time.Time) {
	b := nanos(before)
	for id, e := range l.entries {
		if e.pending && e.voidTime < b || !e.pending && nanos(e.Time) < b {
			delete(l.entries, id)
		}
	}
	for key, es := range l.byKey {
		kept := es[:0]
		for _, e := range es {
			if !e.void && nanos(e.Time) >= b {
				kept = append(kept, e)
			}
		}
		clear(es[len(kept):])
		if len(kept) == 0 {
			delete(l.byKey, key)
			continue
		}
		l.byKey[key] = kept
	}
}

// Len returns the number of ids held, counted, void or pending.
func (l *Ledger[K, In]) Len() int { return len(l.entries) }

var ledgerMagic = []byte{'g', 'p', 'l', 1}

// AppendSnapshot appends the ledger to dst, sorted by id (deterministic: the same ledger always
// gives the same bytes), and returns the extended slice. Read it with ReadLedger and the same
// codecs.
func (l *Ledger[K, In]) AppendSnapshot(dst []byte, keys Codec[K], ins Codec[In]) []byte {
	ids := make([]string, 0, len(l.entries))
	for id := range l.entries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = append(dst, ledgerMagic...)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		e := l.entries[id]
		dst = StringCodec{}.Append(dst, id)
		dst = appendBool(dst, e.void)
		dst = appendBool(dst, e.pending)
		if e.pending {
			dst = binary.AppendVarint(dst, e.voidTime)
			continue
		}
		dst = keys.Append(dst, e.Key)
		dst = binary.AppendVarint(dst, nanos(e.Time))
		dst = ins.Append(dst, e.In)
	}
	return dst
}

// ReadLedger reads a Ledger written by AppendSnapshot at the start of src and returns it with the
// bytes after it. Input it cannot decode gives an error matching ErrCorrupt.
func ReadLedger[K cmp.Ordered, In any](src []byte, keys Codec[K], ins Codec[In]) (*Ledger[K, In], []byte, error) {
	l, rest, err := readLedger(src, keys, ins)
	if err != nil {
		return nil, src, fmt.Errorf("windows: read ledger: %w", err)
	}
	return l, rest, nil
}

func readLedger[K cmp.Ordered, In any](src []byte, keys Codec[K], ins Codec[In]) (*Ledger[K, In], []byte, error) {
	rest, err := readMagic(src, ledgerMagic, "ledger")
	if err != nil {
		return nil, src, err
	}
	n, rest, err := readCount(rest, 4, "id count")
	if err != nil {
		return nil, src, err
	}
	l := NewLedger[K, In]()
	prev := ""
	for i := range n {
		var id string
		if id, rest, err = (StringCodec{}).Read(rest); err != nil {
			return nil, src, err
		}
		if i > 0 && strings.Compare(prev, id) >= 0 {
			return nil, src, fmt.Errorf("%w: ids out of order", ErrCorrupt)
		}
		prev = id
		e := &ledgerEntry[K, In]{}
		if e.void, rest, err = readBool(rest, "void"); err != nil {
			return nil, src, err
		}
		if e.pending, rest, err = readBool(rest, "pending"); err != nil {
			return nil, src, err
		}
		if e.pending {
			if !e.void {
				return nil, src, fmt.Errorf("%w: a pending entry that is not void", ErrCorrupt)
			}
			if e.voidTime, rest, err = readVarint(rest, "void time"); err != nil {
				return nil, src, err
			}
			l.entries[id] = e
			continue
		}
		if e.Key, rest, err = keys.Read(rest); err != nil {
			return nil, src, codecError("key", err)
		}
		var tn int64
		if tn, rest, err = readVarint(rest, "time"); err != nil {
			return nil, src, err
		}
		e.Time = fromNanos(tn)
		if e.In, rest, err = ins.Read(rest); err != nil {
			return nil, src, codecError("input", err)
		}
		l.entries[id] = e
		if !e.void {
			l.byKey[e.Key] = append(l.byKey[e.Key], e)
		}
	}
	return l, rest, nil
}
