package windows_test

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/windows"
)

// refDedup is the brute-force reference for Dedup: every id with its latest time in a map.
type refDedup map[string]int64

func (r refDedup) contains(id string, h int64) bool {
	t, ok := r[id]
	return ok && t >= h
}

func (r refDedup) add(id string, t int64) {
	if old, ok := r[id]; !ok || old < t {
		r[id] = t
	}
}

func (r refDedup) purge(h int64) {
	maps.DeleteFunc(r, func(_ string, t int64) bool { return t < h })
}

// TestDedupProperty drives a Dedup and the reference with the same random adds, purges and
// snapshot round trips, and checks after every step that both answer Contains alike for every id
// and horizon tried, that they remember as many ids, and that the snapshot bytes depend only on
// the key and the ids remembered (not on the order of adds, purges or the table's growth).
func TestDedupProperty(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 17))
			key := [16]byte{byte(seed), 7}
			d, ref := windows.NewDedupKeyed(key), refDedup{}
			universe := 1 + rng.IntN(600)
			span := int64(1 + rng.IntN(1000))
			t0 := time.Unix(1_700_000_000, 0)
			at := func(k int64) time.Time { return t0.Add(time.Duration(k)) }
			id := func() string { return "id-" + strconv.Itoa(rng.IntN(universe)) }
			low := int64(0) // the horizon moves forward like a watermark's, with some jitter
			for step := range 3000 {
				switch op := rng.IntN(100); {
				case op < 55:
					x, k := id(), low+rng.Int64N(span)-span/8
					d.Add(x, at(k))
					ref.add(x, k)
				case op < 85:
					x, h := id(), low+rng.Int64N(span)-span/2
					if got, want := d.Contains(x, at(h)), ref.contains(x, h); got != want {
						t.Fatalf("step %d: Contains(%s, %d) = %v, want %v", step, x, h, got, want)
					}
				case op < 95:
					low += rng.Int64N(span/4 + 1)
					h := low - rng.Int64N(span/4+1)
					d.Purge(at(h))
					ref.purge(h)
				default:
					snap := d.AppendSnapshot(nil)
					d2, rest, err := windows.ReadDedup(append(snap, 'x'))
					if err != nil || string(rest) != "x" {
						t.Fatalf("step %d: read snapshot: %v, %q left", step, err, rest)
					}
					fresh := windows.NewDedupKeyed(key)
					for _, x := range rng.Perm(universe) {
						if k, ok := ref["id-"+strconv.Itoa(x)]; ok {
							fresh.Add("id-"+strconv.Itoa(x), at(k))
						}
					}
					if !bytes.Equal(d2.AppendSnapshot(nil), snap) || !bytes.Equal(fresh.AppendSnapshot(nil), snap) {
						t.Fatalf("step %d: snapshot bytes depend on history", step)
					}
					d = d2
				}
				if d.Len() != len(ref) {
					t.Fatalf("step %d: Len %d, want %d", step, d.Len(), len(ref))
				}
			}
			for x := range universe {
				id := "id-" + strconv.Itoa(x)
				for _, h := range []int64{-1 << 62, low - span, low, low + span} {
					if got, want := d.Contains(id, at(h)), ref.contains(id, h); got != want {
						t.Fatalf("end: Contains(%s, %d) = %v, want %v", id, h, got, want)
					}
				}
			}
		})
	}
}

func TestDedupKeys(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a, b := windows.NewDedup(), windows.NewDedup()
	a.Add("x", t0)
	b.Add("x", t0)
	if bytes.Equal(a.AppendSnapshot(nil), b.AppendSnapshot(nil)) {
		t.Fatal("two random keys give the same snapshot")
	}
	if !b.Contains("x", t0) || b.Contains("y", t0) {
		t.Fatal("contains")
	}
}

// benchIDs returns n event ids of 22 characters, as the aggregator sees them.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("rating-%015d", i)
	}
	return ids
}

// BenchmarkDedupAdd adds new ids to a Dedup of a million, purging the oldest as the horizon moves.
func BenchmarkDedupAdd(b *testing.B) {
	const n = 1 << 20
	ids := benchIDs(n)
	d := windows.NewDedup()
	t0 := time.Unix(1_700_000_000, 0)
	i := 0
	for b.Loop() {
		d.Add(ids[i%n], t0.Add(time.Duration(i)))
		i++
		if i%n == 0 {
			d.Purge(t0.Add(time.Duration(i - n/2)))
		}
	}
}

// BenchmarkDedupContains looks up ids in a Dedup of a million, half of them present.
func BenchmarkDedupContains(b *testing.B) {
	const n = 1 << 20
	ids := benchIDs(2 * n)
	d := windows.NewDedup()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range n {
		d.Add(ids[2*i], t0.Add(time.Duration(i)))
	}
	i, found := 0, 0
	for b.Loop() {
		if d.Contains(ids[i%(2*n)], t0) {
			found++
		}
		i += 7919
	}
	if b.N > 2*n && found == 0 {
		b.Fatal("nothing found")
	}
}

// TestDedupShrink purges most of a large Dedup, so that its table shrinks, and checks that the
// ids left are still found and encode as in a Dedup that never held the others.
func TestDedupShrink(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	key := [16]byte{9}
	d, fresh := windows.NewDedupKeyed(key), windows.NewDedupKeyed(key)
	const n, kept = 20_000, 50
	for i := range n {
		d.Add("id-"+strconv.Itoa(i), t0.Add(time.Duration(i)))
	}
	for i := n - kept; i < n; i++ {
		fresh.Add("id-"+strconv.Itoa(i), t0.Add(time.Duration(i)))
	}
	d.Purge(t0.Add(time.Duration(n - kept)))
	if d.Len() != kept {
		t.Fatalf("Len %d, want %d", d.Len(), kept)
	}
	for i := range n {
		if got, want := d.Contains("id-"+strconv.Itoa(i), t0), i >= n-kept; got != want {
			t.Fatalf("Contains(id-%d) = %v", i, got)
		}
	}
	if !bytes.Equal(d.AppendSnapshot(nil), fresh.AppendSnapshot(nil)) {
		t.Fatal("snapshot after shrinking differs")
	}
	d.Add("later", t0.Add(n))
	if !d.Contains("later", t0) || d.Len() != kept+1 {
		t.Fatal("add after shrinking")
	}
}

// refSlot is what the brute-force reference of records holds of an id.
type refSlot struct {
	kind     byte // 'p' plain id, 'r' record, 'v' pending void
	t        int64
	value    uint8
	void     bool
	later    int64 // of a record or pending void: the time the id was also added, when hasLater
	hasLater bool
}

// idTime is the time at which the id is remembered, and false when it is not.
func (s refSlot) idTime() (int64, bool) {
	t, ok := s.t, s.kind != 'v'
	if s.hasLater && (!ok || s.later > t) {
		t, ok = s.later, true
	}
	return t, ok
}

func (s *refSlot) setLater(t int64) {
	if old, ok := s.idTime(); !ok || old < t {
		s.later, s.hasLater = t, true
	}
}

// refRecords is the brute-force reference for a Dedup with records: every id in a map.
type refRecords map[string]refSlot

func (r refRecords) add(id string, t int64) {
	s, ok := r[id]
	switch {
	case !ok:
		s = refSlot{kind: 'p', t: t}
	case s.kind == 'p':
		s.t = max(s.t, t)
	default:
		s.setLater(t)
	}
	r[id] = s
}

func (r refRecords) count(id string, t int64, v uint8) bool {
	s, ok := r[id]
	switch {
	case !ok:
		r[id] = refSlot{kind: 'r', t: t, value: v}
		return true
	case s.kind == 'p':
		n := refSlot{kind: 'r', t: t, value: v}
		n.setLater(s.t)
		r[id] = n
		return true
	case s.kind == 'v':
		s.kind, s.t, s.value = 'r', t, v
		if s.hasLater && s.later <= t {
			s.hasLater, s.later = false, 0
		}
	}
	s.setLater(t)
	r[id] = s
	return false
}

func (r refRecords) voidID(id string, t int64) (refSlot, bool) {
	s, ok := r[id]
	switch {
	case !ok:
		r[id] = refSlot{kind: 'v', t: t, void: true}
		return refSlot{}, false
	case s.kind == 'p':
		n := refSlot{kind: 'v', t: t, void: true}
		n.setLater(s.t)
		r[id] = n
		return refSlot{}, false
	case s.kind == 'v' || s.void:
		return refSlot{}, false
	}
	s.void = true
	r[id] = s
	return refSlot{kind: 'r', t: s.t, value: s.value}, true
}

func (r refRecords) contains(id string, h int64) bool {
	s, ok := r[id]
	if !ok {
		return false
	}
	t, ok := s.idTime()
	return ok && t >= h
}

func (r refRecords) purge(h int64) {
	for id, s := range r {
		switch {
		case s.kind == 'p' && s.t < h:
			delete(r, id)
		case s.kind != 'p' && s.hasLater && s.later < h:
			s.hasLater, s.later = false, 0
			r[id] = s
		}
	}
}

func (r refRecords) purgeRecords(b int64) {
	for id, s := range r {
		switch {
		case s.kind == 'p' || s.t >= b:
		case s.hasLater:
			r[id] = refSlot{kind: 'p', t: s.later}
		default:
			delete(r, id)
		}
	}
}

func (r refRecords) dropPending(id string) bool {
	s, ok := r[id]
	if !ok || s.kind != 'v' {
		return false
	}
	if s.hasLater {
		r[id] = refSlot{kind: 'p', t: s.later}
	} else {
		delete(r, id)
	}
	return true
}

// TestDedupRecordsProperty drives a Dedup with records (Count, Void, Lookup, PurgeRecords,
// DropPending) mixed with plain ids and horizons noted without a sweep (Expire, ExpireRecords),
// and the brute-force reference with the same random steps, which purges at the noted horizons
// after every step; it checks every answer, the sizes (the Dedup may hold more than the
// reference until it sweeps), and that the snapshot bytes do not depend on the history.
func TestDedupRecordsProperty(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 29))
			key := [16]byte{byte(seed), 9}
			d, ref := windows.NewDedupKeyed(key), refRecords{}
			universe := 1 + rng.IntN(400)
			span := int64(1 + rng.IntN(1000))
			t0 := time.Unix(1_700_000_000, 0)
			at := func(k int64) time.Time { return t0.Add(time.Duration(k)) }
			id := func() string { return "id-" + strconv.Itoa(rng.IntN(universe)) }
			low := int64(0)
			var expIDs, expRecs int64
			hasIDs, hasRecs := false, false
			expiring := seed%2 == 1 // half the seeds note horizons
			records := func() int {
				n := 0
				for _, s := range ref {
					if s.kind != 'p' {
						n++
					}
				}
				return n
			}
			for step := range 3000 {
				switch op := rng.IntN(100); {
				case op < 20:
					x, k := id(), low+rng.Int64N(span)
					d.Add(x, at(k))
					ref.add(x, k)
				case op < 45:
					x, k, v := id(), low+rng.Int64N(span), uint8(1+rng.IntN(7))
					if got, want := d.Count(x, at(k), v), ref.count(x, k, v); got != want {
						t.Fatalf("step %d: Count(%s) = %v, want %v", step, x, got, want)
					}
				case op < 55:
					x, k := id(), low+rng.Int64N(span)
					got, ok := d.Void(x, at(k))
					want, wok := ref.voidID(x, k)
					if ok != wok || ok && (!got.Time.Equal(at(want.t)) || got.Value != want.value || got.Void) {
						t.Fatalf("step %d: Void(%s) = %+v %v, want %+v %v", step, x, got, ok, want, wok)
					}
				case op < 70:
					x := id()
					got, ok := d.Lookup(x)
					s, has := ref[x]
					if wok := has && s.kind == 'r'; ok != wok || ok && (!got.Time.Equal(at(s.t)) || got.Value != s.value || got.Void != s.void) {
						t.Fatalf("step %d: Lookup(%s) = %+v %v, want %+v", step, x, got, ok, s)
					}
				case op < 85:
					x, h := id(), low+rng.Int64N(span)-span/2
					if hasIDs {
						h = max(h, expIDs) // Contains takes a horizon at or after the noted one
					}
					if got, want := d.Contains(x, at(h)), ref.contains(x, h); got != want {
						t.Fatalf("step %d: Contains(%s, %d) = %v, want %v", step, x, h, got, want)
					}
				case op < 88:
					low += rng.Int64N(span/4 + 1)
					h := low - rng.Int64N(span/4+1)
					if expiring {
						d.Expire(at(h))
						if !hasIDs || h > expIDs {
							expIDs, hasIDs = h, true
						}
						break
					}
					d.Purge(at(h))
					ref.purge(h)
				case op < 91:
					b := low - rng.Int64N(span/2+1)
					if expiring {
						d.ExpireRecords(at(b))
						if !hasRecs || b > expRecs {
							expRecs, hasRecs = b, true
						}
						break
					}
					d.PurgeRecords(at(b))
					ref.purgeRecords(b)
				case op < 95:
					x := id()
					if got, want := d.DropPending(x), ref.dropPending(x); got != want {
						t.Fatalf("step %d: DropPending(%s) = %v, want %v", step, x, got, want)
					}
				default:
					snap := d.AppendSnapshot(nil)
					d2, rest, err := windows.ReadDedup(snap)
					if err != nil || len(rest) != 0 {
						t.Fatalf("step %d: read snapshot: %v", step, err)
					}
					// The same content built in another order gives the same bytes.
					fresh := windows.NewDedupKeyed(key)
					for _, x := range rng.Perm(universe) {
						id := "id-" + strconv.Itoa(x)
						s, ok := ref[id]
						switch {
						case !ok:
						case s.kind == 'p':
							fresh.Add(id, at(s.t))
						case s.kind == 'v':
							if s.hasLater {
								fresh.Add(id, at(s.later))
							}
							fresh.Void(id, at(s.t))
						default:
							fresh.Count(id, at(s.t), s.value)
							if s.void {
								fresh.Void(id, at(s.t))
							}
							if s.hasLater {
								fresh.Add(id, at(s.later))
							}
						}
					}
					if !bytes.Equal(d2.AppendSnapshot(nil), snap) || !bytes.Equal(fresh.AppendSnapshot(nil), snap) {
						t.Fatalf("step %d: snapshot bytes depend on history", step)
					}
					d = d2
					if hasIDs {
						d.Expire(at(expIDs)) // as the owner notes them again after a restore
					}
					if hasRecs {
						d.ExpireRecords(at(expRecs))
					}
				}
				// What the noted horizons forget, the reference forgets at once.
				if hasRecs {
					ref.purgeRecords(expRecs)
				}
				if hasIDs {
					ref.purge(expIDs)
				}
				if expiring {
					if d.Len() < len(ref) || d.Records() < records() {
						t.Fatalf("step %d: Len %d, Records %d, want at least %d, %d", step, d.Len(), d.Records(), len(ref), records())
					}
				} else if d.Len() != len(ref) || d.Records() != records() {
					t.Fatalf("step %d: Len %d, Records %d, want %d, %d", step, d.Len(), d.Records(), len(ref), records())
				}
			}
		})
	}
}
