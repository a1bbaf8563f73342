package windows

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Dedup remembers the ids of applied events with their event times, so that a replayed or
// redelivered event is not counted twice. Only ids inside the lateness horizon matter: an older
// duplicate is too late anyway. Contains therefore treats entries older than the horizon as absent
// whether or not Purge already dropped them, so results never depend on when Purge ran.
//
// # Fingerprints
//
// A Dedup does not keep the ids themselves but a 96-bit fingerprint of each: the first 96 bits of
// SHA-256 over a 128-bit secret key followed by the id, kept with the id's exact event time in an
// open-addressing table of 20 bytes a slot that doubles when 7/8 full: 23 to 46 bytes an id
// whatever its length, instead of about 94 for a map of 22-character strings with a heap of times. The key is drawn at random by
// NewDedup and kept in the snapshot, so a restored Dedup answers exactly as the original; without
// the key nobody can compute a fingerprint, so no producer can craft an id whose fingerprint
// equals that of another event of its unit (finding one is a second preimage of SHA-256 under an
// unknown key).
//
// Two different ids share a fingerprint with probability 2⁻⁹⁶. An id is wrongly taken for a
// duplicate only if its fingerprint equals that of one of the n ids remembered at that moment:
// probability n/2⁹⁶ per event. At 1,000,000 events a day and 7 days of allowed lateness
// (n = 7,000,000) that is 8.8·10⁻²³ per event and 3.2·10⁻¹⁴ a year, far below the probability
// of an undetected memory or disk error losing an acknowledged event, which is why it is taken
// as "nothing acknowledged is lost". A fingerprint of 96 zero bits is stored as 1 (zero marks an
// empty slot), which changes the probability negligibly.
//
// Determinism: the same key, ids and times always give the same snapshot bytes, in any order of
// Add, Purge and growth; two Dedups with different keys give different bytes for the same ids
// (NewDedupKeyed takes a chosen key where the bytes must match).
//
// Contains and Add cost one SHA-256 of the id (Add reuses the last Contains') and O(1) expected
// probes; Purge costs nothing while no remembered time is before the horizon and one pass over
// the table otherwise, after which a table left at most 7/32 full shrinks. A Dedup is not safe for concurrent use.
type Dedup struct {
	key   [16]byte
	slots []idSlot // len a power of two, or nil; the zero fingerprint marks an empty slot
	n     int      // occupied slots
	shift uint     // home slot of a fingerprint: fp.hi >> shift
	minT  int64    // no remembered time is below minT (a lower bound, exact after a Purge pass)

	buf    []byte // key followed by the id being hashed
	lastID string // the id of the last fingerprint computed, and the fingerprint
	lastFP fingerprint
	hasFP  bool
}

// fingerprint is 96 bits of the keyed hash of an id.
type fingerprint struct {
	hi uint64
	lo uint32
}

func (f fingerprint) compare(g fingerprint) int {
	if c := cmp.Compare(f.hi, g.hi); c != 0 {
		return c
	}
	return cmp.Compare(f.lo, g.lo)
}

// idSlot is one table slot: a fingerprint and an event time in Unix nanoseconds, as 32-bit words
// so that a slot takes 20 bytes.
type idSlot struct {
	w [5]uint32 // fp.hi high, fp.hi low, fp.lo, time high, time low
}

func (s *idSlot) fp() fingerprint {
	return fingerprint{hi: uint64(s.w[0])<<32 | uint64(s.w[1]), lo: s.w[2]}
}

func (s *idSlot) empty() bool { return s.w[0]|s.w[1]|s.w[2] == 0 }

func (s *idSlot) t() int64 { return int64(uint64(s.w[3])<<32 | uint64(s.w[4])) }

func (s *idSlot) setT(t int64) { s.w[3], s.w[4] = uint32(uint64(t)>>32), uint32(t) }

func makeSlot(f fingerprint, t int64) idSlot {
	s := idSlot{w: [5]uint32{uint32(f.hi >> 32), uint32(f.hi), f.lo}}
	s.setT(t)
	return s
}

const dedupMinSlots = 64

// NewDedup returns an empty Dedup with a random key.
func NewDedup() *Dedup {
	var key [16]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read never returns an error
	return NewDedupKeyed(key)
}

// NewDedupKeyed returns an empty Dedup whose fingerprints are keyed with key. Use it where two
// Dedups must give the same snapshot bytes for the same ids; a key known to producers lets them
// craft colliding ids, so outside tests prefer NewDedup.
func NewDedupKeyed(key [16]byte) *Dedup { return &Dedup{key: key} }

// fingerprint returns the fingerprint of id, reusing the last one computed.
func (d *Dedup) fingerprint(id string) fingerprint {
	if d.hasFP && id == d.lastID {
		return d.lastFP
	}
	d.buf = append(append(d.buf[:0], d.key[:]...), id...)
	sum := sha256.Sum256(d.buf)
	f := fingerprint{hi: binary.BigEndian.Uint64(sum[:8]), lo: binary.BigEndian.Uint32(sum[8:12])}
	if f.hi == 0 && f.lo == 0 {
		f.lo = 1
	}
	d.lastID, d.lastFP, d.hasFP = id, f, true
	return f
}

// find returns the slot of f, or the empty slot where it would go, and whether it was found.
func (d *Dedup) find(f fingerprint) (int, bool) {
	mask := len(d.slots) - 1
	for i := int(f.hi >> d.shift); ; i = (i + 1) & mask {
		s := &d.slots[i]
		if s.empty() {
			return i, false
		}
		if s.w[1] == uint32(f.hi) && s.w[2] == f.lo && s.w[0] == uint32(f.hi>>32) {
			return i, true
		}
	}
}

// Contains reports whether id was added with an event time >= horizon.
func (d *Dedup) Contains(id string, horizon time.Time) bool {
	if d.n == 0 {
		return false
	}
	i, ok := d.find(d.fingerprint(id))
	return ok && d.slots[i].t() >= nanos(horizon)
}

// Add records id with event time t; if id is already known the later of the two times is kept.
func (d *Dedup) Add(id string, t time.Time) {
	d.add(d.fingerprint(id), nanos(t))
}

func (d *Dedup) add(f fingerprint, t int64) {
	if (d.n+1)*8 > len(d.slots)*7 {
		d.resize(max(dedupMinSlots, 2*len(d.slots)))
	}
	i, ok := d.find(f)
	if ok {
		if d.slots[i].t() < t {
			d.slots[i].setT(t)
		}
		return
	}
	d.slots[i] = makeSlot(f, t)
	if d.n == 0 || t < d.minT {
		d.minT = t
	}
	d.n++
}

// resize moves the slots into a table of size slots (a power of two).
func (d *Dedup) resize(size int) {
	old := d.slots
	d.slots = make([]idSlot, size)
	d.shift = uint(64 - log2(size))
	for k := range old {
		if s := &old[k]; !s.empty() {
			i, _ := d.find(s.fp())
			d.slots[i] = *s
		}
	}
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// Purge forgets the ids whose event time is before horizon.
func (d *Dedup) Purge(horizon time.Time) {
	h := nanos(horizon)
	if d.n == 0 || h <= d.minT {
		return
	}
	// Start after an empty slot: no probe sequence crosses it, so a backward shift only ever moves
	// a slot not yet visited into the one being visited.
	mask := len(d.slots) - 1
	start := 0
	for !d.slots[start].empty() {
		start++
	}
	minT, seen := int64(0), false
	for k := 1; k <= len(d.slots); k++ {
		i := (start + k) & mask
		for {
			s := &d.slots[i]
			if s.empty() {
				break
			}
			if t := s.t(); t >= h {
				if !seen || t < minT {
					minT, seen = t, true
				}
				break
			}
			d.remove(i) // slot i now holds a later slot of its probe sequence, or nothing
		}
	}
	d.minT = minT
	// Shrink a table left at most 7/32 full to the smallest at most 7/16 full, half of what it
	// grows to, so that adds and purges around one size never resize back and forth.
	size := dedupMinSlots
	for d.n*16 > size*7 {
		size *= 2
	}
	if size < len(d.slots) {
		d.resize(size)
	}
}

// remove empties slot i and shifts the following slots of its probe sequence back.
func (d *Dedup) remove(i int) {
	mask := len(d.slots) - 1
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := &d.slots[j]
		if s.empty() {
			break
		}
		home := int(s.fp().hi >> d.shift)
		// s may move to i unless its home lies cyclically in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			d.slots[i] = *s
			i = j
		}
	}
	d.slots[i] = idSlot{}
	d.n--
}

// Len returns the number of ids remembered, including those older than a horizon not yet purged.
func (d *Dedup) Len() int { return d.n }

var dedupMagic = []byte{'g', 'p', 'd', 2}

// AppendSnapshot appends the key and the remembered fingerprints and times to dst, sorted by
// fingerprint (deterministic: the same key, ids and times always give the same bytes), and
// returns the extended slice. Read it with ReadDedup.
func (d *Dedup) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, dedupMagic...)
	dst = append(dst, d.key[:]...)
	dst = binary.AppendUvarint(dst, uint64(d.n))
	d.sorted(func(s *idSlot) {
		f := s.fp()
		dst = binary.BigEndian.AppendUint64(dst, f.hi)
		dst = binary.BigEndian.AppendUint32(dst, f.lo)
		dst = binary.AppendVarint(dst, s.t())
	})
	return dst
}

// sorted calls fn with every occupied slot in fingerprint order. A slot's home (the top bits of
// its fingerprint) is at or cyclically before its position, within its run of occupied slots, so
// the runs sorted one by one and visited in position order are in fingerprint order, except for
// the run that wraps around the end of the table: its slots homed at the end come last.
func (d *Dedup) sorted(fn func(*idSlot)) {
	if d.n == 0 {
		return
	}
	size := len(d.slots)
	first := 0 // the first empty slot
	for !d.slots[first].empty() {
		first++
	}
	last := size - 1 // the last empty slot
	for !d.slots[last].empty() {
		last--
	}
	var run []idSlot
	sortRun := func() {
		slices.SortFunc(run, func(a, b idSlot) int { return a.fp().compare(b.fp()) })
	}
	// The wrapping run: slots [last+1, size) and [0, first).
	run = append(append(run, d.slots[last+1:]...), d.slots[:first]...)
	sortRun()
	wrap := slices.Clone(run)
	split := 0 // wrap[:split] are homed in [0, first)
	for split < len(wrap) && int(wrap[split].fp().hi>>d.shift) < first {
		split++
	}
	for k := range wrap[:split] {
		fn(&wrap[k])
	}
	for i := first; i < last; {
		if d.slots[i].empty() {
			i++
			continue
		}
		j := i
		for !d.slots[j].empty() {
			j++
		}
		run = append(run[:0], d.slots[i:j]...)
		sortRun()
		for k := range run {
			fn(&run[k])
		}
		i = j
	}
	for k := range wrap[split:] {
		fn(&wrap[split+k])
	}
}

// ReadDedup reads a Dedup written by AppendSnapshot at the start of src and returns it with the
// bytes after it. Input it cannot decode gives an error matching ErrCorrupt.
func ReadDedup(src []byte) (*Dedup, []byte, error) {
	d, rest, err := readDedup(src)
	if err != nil {
		return nil, src, fmt.Errorf("windows: read dedup: %w", err)
	}
	return d, rest, nil
}

func readDedup(src []byte) (*Dedup, []byte, error) {
	rest, err := readMagic(src, dedupMagic, "dedup")
	if err != nil {
		return nil, src, err
	}
	if len(rest) < 16 {
		return nil, src, fmt.Errorf("%w: dedup key: short input", ErrCorrupt)
	}
	d := &Dedup{key: [16]byte(rest[:16])}
	n, rest, err := readCount(rest[16:], 13, "id count")
	if err != nil {
		return nil, src, err
	}
	size := dedupMinSlots
	for n*8 > size*7 {
		size *= 2
	}
	d.resize(size)
	var prev fingerprint
	for i := range n {
		if len(rest) < 12 {
			return nil, src, fmt.Errorf("%w: id fingerprint: short input", ErrCorrupt)
		}
		f := fingerprint{hi: binary.BigEndian.Uint64(rest), lo: binary.BigEndian.Uint32(rest[8:])}
		var t int64
		if t, rest, err = readVarint(rest[12:], "id time"); err != nil {
			return nil, src, err
		}
		if f == (fingerprint{}) {
			return nil, src, fmt.Errorf("%w: zero id fingerprint", ErrCorrupt)
		}
		if i > 0 && prev.compare(f) >= 0 {
			return nil, src, fmt.Errorf("%w: ids out of order", ErrCorrupt)
		}
		prev = f
		d.add(f, t)
	}
	return d, rest, nil
}
