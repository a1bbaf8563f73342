package windows_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

// subStats is statsAgg that can subtract.
type subStats struct{ statsAgg }

func (subStats) Subtract(a stats, v int64) stats {
	a.N--
	a.Sum -= v
	a.Hist[ratings.Bucket(v)]--
	return a
}

// retractInput is one input of the retraction model.
type retractInput struct {
	id  string
	key string
	t   time.Time
	v   int64
	// removedAt is the operator's watermark when the input was voided; a window already final then
	// keeps it. Zero while counted.
	removedAt time.Time
	removed   bool
}

type retractAction struct {
	void bool // a void of id at t, else the input (id, key, t, v)
	id   string
	key  string
	t    time.Time
	v    int64
}

// genRetract returns a random stream of inputs and voids: voids of counted inputs, of inputs
// that come later (a void before its input), of unknown ids, repeated voids, repeated inputs, and
// inputs and voids too late to count.
func genRetract(rng *rand.Rand) (windows.Config, time.Duration, []retractAction) {
	hop := time.Duration(1+rng.IntN(5)) * time.Minute
	n := 1 + rng.IntN(6)
	cfg := windows.Config{Size: time.Duration(n) * hop, Hop: hop,
		AllowedLateness: time.Duration(rng.Int64N(int64(2*time.Duration(n)*hop) + 1))}
	bound := time.Duration(rng.Int64N(int64(cfg.Size) + 1))
	cur := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	spread := int64(2*(bound+cfg.AllowedLateness) + hop)
	var acts []retractAction
	var inputs []retractAction
	keys := []string{"a", "b"}
	for i := range 200 + rng.IntN(200) {
		if rng.IntN(3) == 0 {
			cur = cur.Add(time.Duration(rng.Int64N(int64(hop))))
		}
		switch r := rng.IntN(100); {
		case r < 20 && len(inputs) > 0: // void a known input, maybe again
			in := inputs[len(inputs)-1-rng.IntN(min(len(inputs), 30))]
			acts = append(acts, retractAction{void: true, id: in.id, t: maxTime(cur, in.t)})
		case r < 25: // void an input that comes later, or never
			in := retractAction{id: fmt.Sprint("r", i), key: keys[rng.IntN(len(keys))],
				t: cur.Add(-time.Duration(rng.Int64N(spread))), v: 1 + rng.Int64N(5)}
			acts = append(acts, retractAction{void: true, id: in.id, t: cur})
			if rng.IntN(4) > 0 { // the input comes after its void
				inputs = append(inputs, in)
				acts = append(acts, in)
			}
		case r < 32 && len(inputs) > 0: // the same input again
			acts = append(acts, inputs[len(inputs)-1-rng.IntN(min(len(inputs), 30))])
		default:
			in := retractAction{id: fmt.Sprint("e", i), key: keys[rng.IntN(len(keys))],
				t: cur.Add(-time.Duration(rng.Int64N(spread))), v: 1 + rng.Int64N(5)}
			inputs = append(inputs, in)
			acts = append(acts, in)
		}
	}
	// Delay some inputs so that their void comes first in arrival order.
	for k := 0; k < len(acts)/10; k++ {
		i := rng.IntN(len(acts))
		j := min(len(acts)-1, i+rng.IntN(20))
		a := acts[i]
		acts = slices.Delete(acts, i, i+1)
		acts = slices.Insert(acts, j, a)
	}
	return cfg, bound, acts
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// retractSeen counts the paths a run took, so that the test can check it covered them.
type retractSeen struct {
	removed, refused, forgotten, early, duplicate, late int
}

// runRetract runs acts through an Operator and a Ledger and checks every output, and the query of
// every window that is not final, against the brute-force results of the inputs never voided.
func runRetract[Acc comparable, Out comparable](t *testing.T, cfg windows.Config, bound time.Duration,
	acts []retractAction, agg windows.Aggregator[int64, Acc, Out], purge bool, seen *retractSeen) {
	t.Helper()
	op, err := windows.New[string](cfg, agg)
	if err != nil {
		t.Fatal(err)
	}
	wm := windows.NewWatermark(bound)
	led := windows.NewLedger[string, int64]()
	model := map[string]*retractInput{} // counted or removed inputs by id
	voided := map[string]bool{}
	opWM := time.Time{}
	brute := func(key string, w windows.Window) Out {
		var acc Acc
		var ins []*retractInput
		for _, in := range model {
			if in.key != key || !w.Contains(in.t) {
				continue
			}
			if in.removed && w.End.Add(cfg.AllowedLateness).After(in.removedAt) {
				continue // the window was not final when the input was voided
			}
			ins = append(ins, in)
		}
		slices.SortFunc(ins, func(a, b *retractInput) int { return a.t.Compare(b.t) })
		for _, in := range ins {
			acc = agg.Add(acc, in.v)
		}
		return agg.Result(acc)
	}
	check := func(what string, rs []windows.Result[string, Out]) {
		t.Helper()
		for _, r := range rs {
			if want := brute(r.Key, r.Window); r.Value != want {
				t.Fatalf("config %+v: %s %s %v = %v, brute force %v", cfg, what, r.Key, r.Window, r.Value, want)
			}
		}
	}
	for i, a := range acts {
		if i == len(acts)/2 {
			// Restart from a snapshot of the ledger: the same bytes give the same ledger.
			snap := led.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{})
			back, rest, err := windows.ReadLedger(snap, windows.StringCodec{}, windows.Int64Codec{})
			if err != nil || len(rest) != 0 {
				t.Fatalf("ReadLedger: %v, %d bytes left", err, len(rest))
			}
			if again := back.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{}); string(again) != string(snap) {
				t.Fatalf("the restored ledger's snapshot differs")
			}
			led = back
		}
		wm.Observe(a.t)
		cur, _ := wm.Current()
		op.Advance(cur)
		opWM = maxTime(opWM, cur)
		if purge {
			led.Purge(op.RetractHorizon())
		}
		if a.void {
			e, ok := led.Void(a.id, a.t)
			if in := model[a.id]; in != nil && !in.removed {
				if !ok {
					// Only an input the ledger has forgotten: every window containing it is final.
					if !purge || !in.t.Before(op.RetractHorizon()) {
						t.Fatalf("void of counted %s: the ledger does not know it", a.id)
					}
					seen.forgotten++
				}
				in.removed, in.removedAt = true, opWM
			} else if ok {
				t.Fatalf("void of %s returned an entry that is not counted", a.id)
			}
			voided[a.id] = true
			if ok {
				err := op.Remove(e.Key, e.Time, e.In, led.Inputs)
				final := e.Time.Before(op.RetractHorizon())
				if final {
					seen.refused++
				} else {
					seen.removed++
				}
				if final != (err != nil) || err != nil && !errors.Is(err, windows.ErrTooLate) {
					t.Fatalf("remove of %s at %v (retract horizon %v): %v", a.id, e.Time, op.RetractHorizon(), err)
				}
			}
		} else {
			if op.Check(a.t, cur) != nil {
				seen.late++
				continue
			}
			count := led.Add(a.id, a.key, a.t, a.v)
			_, known := model[a.id]
			switch {
			case known:
				seen.duplicate++
			case voided[a.id]:
				seen.early++
			}
			if want := !known && !voided[a.id]; count != want {
				t.Fatalf("ledger add of %s: %v, model %v", a.id, count, want)
			}
			if count {
				if err := op.Add(a.key, a.t, a.v, cur); err != nil {
					t.Fatal(err)
				}
				model[a.id] = &retractInput{id: a.id, key: a.key, t: a.t, v: a.v}
			}
		}
		check("changed", op.TakeChanged(nil))
		check("final", op.TakeFinal(nil))
	}
	// Every window that is not final answers as if the voided inputs never came.
	fin := op.RetractHorizon()
	for _, key := range []string{"a", "b"} {
		for _, in := range model {
			for _, w := range cfg.WindowsOf(in.t, nil) {
				if w.Start.Before(fin) {
					continue
				}
				if got, want := op.Query(key, w.Start, w.End), brute(key, w); got != want {
					t.Fatalf("config %+v: query %s %v = %v, brute force %v", cfg, key, w, got, want)
				}
			}
		}
	}
	// And at the end every window is final with the same results.
	far := opWM.Add(cfg.Size + cfg.AllowedLateness + bound + time.Hour)
	wm.Advance(far)
	opWM = far
	op.Advance(far)
	check("changed", op.TakeChanged(nil))
	check("final", op.TakeFinal(nil))
	led.Purge(op.RetractHorizon())
	if op.Panes() != 0 || led.Len() != 0 {
		t.Fatalf("state left: %d panes, %d ledger ids", op.Panes(), led.Len())
	}
}

// TestRetractProperty checks Operator.Remove with a Ledger against brute force on random streams
// with voids, for an aggregator that subtracts and for one whose panes are rebuilt.
func TestRetractProperty(t *testing.T) {
	var seen retractSeen
	for seed := range uint64(150) {
		rng := rand.New(rand.NewPCG(seed, 15))
		cfg, bound, acts := genRetract(rng)
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			for _, purge := range []bool{true, false} {
				runRetract(t, cfg, bound, acts, windows.Aggregator[int64, stats, stats](subStats{}), purge, &seen)
				runRetract(t, cfg, bound, acts, windows.Aggregator[int64, windows.Extremum[int64], windows.Extremum[int64]](windows.Max[int64]{}), purge, &seen)
				runRetract(t, cfg, bound, acts, windows.Aggregator[int64, stats, stats](statsAgg{}), purge, &seen)
			}
		})
	}
	t.Logf("paths: %+v", seen)
	if seen.removed == 0 || seen.refused == 0 || seen.forgotten == 0 || seen.early == 0 || seen.duplicate == 0 || seen.late == 0 {
		t.Errorf("the streams did not cover every path: %+v", seen)
	}
}

// TestSubtract checks that the built-in subtracting aggregates undo Add: Subtract(Add(a, x), x) == a.
func TestSubtract(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		x, y := rng.Int64N(20)-5, rng.Int64N(20)-5
		b := rng.IntN(2) == 0
		if a := (windows.Count[int64]{}).Add(3, x); (windows.Count[int64]{}).Subtract(a, x) != 3 {
			t.Fatal("Count")
		}
		if a := (windows.Sum[int64]{}).Add(y, x); (windows.Sum[int64]{}).Subtract(a, x) != y {
			t.Fatal("Sum")
		}
		m0 := windows.MeanAcc[int64]{Sum: y, Count: 2}
		if a := (windows.Mean[int64]{}).Add(m0, x); (windows.Mean[int64]{}).Subtract(a, x) != m0 {
			t.Fatal("Mean")
		}
		h := windows.Histogram{Width: 2, Buckets: 4}
		c0 := h.Add(windows.Counts{}, y)
		if a := h.Add(c0, x); h.Subtract(a, x) != c0 {
			t.Fatal("Histogram")
		}
		f0 := windows.Fraction{Num: 1, Den: 3}
		if a := (windows.Ratio{}).Add(f0, b); (windows.Ratio{}).Subtract(a, b) != f0 {
			t.Fatal("Ratio")
		}
	}
}

// FuzzReadLedger checks that ReadLedger never panics, and that what it reads snapshots to bytes that
// read back to the same ledger (varints may be written longer than needed in the input).
func FuzzReadLedger(f *testing.F) {
	l := windows.NewLedger[string, int64]()
	l.Add("a", "330000", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 2)
	l.Add("b", "330000", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), 1)
	l.Void("b", time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC))
	l.Void("c", time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC))
	f.Add(l.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{}))
	f.Add([]byte("gpl\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, _, err := windows.ReadLedger(b, windows.StringCodec{}, windows.Int64Codec{})
		if err != nil {
			if !errors.Is(err, windows.ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			return
		}
		snap := l.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{})
		back, _, err := windows.ReadLedger(snap, windows.StringCodec{}, windows.Int64Codec{})
		if err != nil {
			t.Fatalf("the snapshot of a read ledger does not read: %v", err)
		}
		if again := back.AppendSnapshot(nil, windows.StringCodec{}, windows.Int64Codec{}); string(again) != string(snap) {
			t.Fatalf("snapshots differ: %q, %q", snap, again)
		}
	})
}
