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
// SHA-256 over a 128-bit secret key followed by the id, kept with the id's exact event time and a
// tag byte in an open-addressing table of 21 bytes a slot that doubles when 7/8 full: 24 to 48 bytes an id
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
// # Records: the ledger of voidable inputs
//
// An id may also carry a record (Count): the input of an event that a later event can void (a
// review an upheld appeal takes back, Void), kept in the id's own slot as its event time and a
// value of 1..7 (a rating), so that the ledger of such inputs costs one byte an id beyond the id
// itself and no second table, string or hash. A record is held until PurgeRecords forgets it,
// however old, and Count refuses its id meanwhile (the input is counted once); a void of an id
// not recorded yet is held as a pending void until its input comes or PurgeRecords forgets it.
// Records do not change what Contains answers: a recorded id is remembered from its input's time
// like any other, a pending void is not an id remembered, and an id both recorded (or voided)
// and added keeps both times (the later added one beside the slot, in a map that only such
// reuses of an id fill). The same probability bounds a record wrongly matched by another id.
//
// # Expiry: a steady state without a daily peak
//
// Purge and PurgeRecords sweep the table; an owner that sweeps once a day holds up to a day more
// than its horizons need, which at a million ids a day is the difference between two sizes of
// the table. Expire and ExpireRecords instead only note the horizons, as often as the watermark
// moves, at no cost: records and pending voids before the records' horizon are forgotten at once
// (every method answers as if PurgeRecords had run), and a table that would grow is first swept
// of what is before either horizon, growing only when the sweep freed less than 1/64 of its
// slots. So the table holds what the horizons keep, up to 7/8 of its slots, whatever the purge
// schedule; AppendSnapshot writes the content as if both purges had just run.
//
// Determinism: the same key, ids, times and records always give the same snapshot bytes, in any order of
// Add, Purge and growth; two Dedups with different keys give different bytes for the same ids
// (NewDedupKeyed takes a chosen key where the bytes must match).
//
// Contains and Add cost one SHA-256 of the id (Add, Count, Void and Lookup reuse the last one computed) and O(1) expected
// probes; Purge costs nothing while no remembered time is before the horizon and one pass over
// the table otherwise, after which a table left at most 7/32 full shrinks (PurgeRecords likewise). A Dedup is not safe for concurrent use.
type Dedup struct {
	key   [16]byte
	slots []idSlot // len a power of two, or nil; the zero fingerprint marks an empty slot
	n     int      // occupied slots
	recs  int      // occupied slots holding a record or a pending void
	shift uint     // home slot of a fingerprint: fp.hi >> shift
	minT  int64    // no plain id's time is below minT (a lower bound, exact after a Purge pass)
	minR  int64    // no record's or pending void's time is below minR (likewise for PurgeRecords)
	// expIDs and expRecs are the horizons of Expire and ExpireRecords (valid when hasExpIDs,
	// hasExpRecs): ids and records before them are no longer needed.
	expIDs, expRecs       int64
	hasExpIDs, hasExpRecs bool
	// later holds, for a slot with a record or a pending void (tag tagLater), the time of the id
	// when it was also added later than the record's time (Add), so that Contains answers for it.
	later map[fingerprint]int64

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

// Fingerprint is the 96-bit keyed fingerprint of an id (Dedup.Fingerprint): a comparable value
// that stands for the id where keeping the id itself would cost too much.
type Fingerprint [12]byte

// Fingerprint returns the fingerprint of id under the Dedup's key (the same id always gives the
// same fingerprint, also after a restore).
func (d *Dedup) Fingerprint(id string) Fingerprint {
	f := d.fingerprint(id)
	var out Fingerprint
	binary.BigEndian.PutUint64(out[:8], f.hi)
	binary.BigEndian.PutUint32(out[8:], f.lo)
	return out
}

// idSlot is one table slot: the fingerprint (8 and 4 bytes), the event time in Unix nanoseconds
// (8 bytes) and the tag (1 byte), unaligned so that a slot takes 21 bytes.
type idSlot [21]byte

// The tag of a slot: 0 for a plain id; a record's value (1..7), with tagVoid once voided; or
// tagPending|tagVoid for a void whose input has not come; either of the last two with tagLater
// when the id was also added (Dedup.later).
const (
	tagValue   = 0x07
	tagVoid    = 0x08
	tagPending = 0x10
	tagLater   = 0x20
)

func (s *idSlot) fp() fingerprint {
	return fingerprint{hi: binary.LittleEndian.Uint64(s[0:8]), lo: binary.LittleEndian.Uint32(s[8:12])}
}

func (s *idSlot) empty() bool {
	return binary.LittleEndian.Uint64(s[0:8])|uint64(binary.LittleEndian.Uint32(s[8:12])) == 0
}

func (s *idSlot) t() int64 { return int64(binary.LittleEndian.Uint64(s[12:20])) }

func (s *idSlot) setT(t int64) { binary.LittleEndian.PutUint64(s[12:20], uint64(t)) }

func (s *idSlot) tag() uint8 { return s[20] }

// plain reports whether the slot is a plain id (no record, no pending void).
func (s *idSlot) plain() bool { return s[20] == 0 }

func makeSlot(f fingerprint, t int64, tag uint8) idSlot {
	var s idSlot
	binary.LittleEndian.PutUint64(s[0:8], f.hi)
	binary.LittleEndian.PutUint32(s[8:12], f.lo)
	s.setT(t)
	s[20] = tag
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
	if len(d.slots) == 0 {
		return -1, false
	}
	mask := len(d.slots) - 1
	for i := int(f.hi >> d.shift); ; i = (i + 1) & mask {
		s := &d.slots[i]
		if s.empty() {
			return i, false
		}
		if s.fp() == f {
			return i, true
		}
	}
}

// findLive is find for a slot whose record or pending void may be before the horizon of
// ExpireRecords: such a slot is forgotten first, as PurgeRecords forgets it.
func (d *Dedup) findLive(f fingerprint) (int, bool) {
	i, ok := d.find(f)
	if !ok || !d.hasExpRecs {
		return i, ok
	}
	if s := &d.slots[i]; s.plain() || s.t() >= d.expRecs {
		return i, ok
	}
	if !d.forgetRecord(i) {
		return i, true // the id stays, plain
	}
	return d.find(f)
}

// forgetRecord forgets the record or pending void of slot i as PurgeRecords does: the id stays
// as a plain id when it was also added later (tagLater), at that time, and the slot is emptied
// otherwise, which it reports.
func (d *Dedup) forgetRecord(i int) bool {
	s := &d.slots[i]
	if s.tag()&tagLater == 0 {
		d.recs--
		d.remove(i)
		return true
	}
	f := s.fp()
	l := d.later[f]
	delete(d.later, f)
	*s = makeSlot(f, l, 0)
	d.noteTime(l, 0, d.n == d.recs)
	d.recs--
	return false
}

// Expire notes that the ids remembered before horizon are no longer needed: a table that would
// grow drops them first (Contains must then be given a horizon at or after it). It costs nothing;
// a horizon before the one noted already is ignored.
func (d *Dedup) Expire(horizon time.Time) {
	if h := nanos(horizon); !d.hasExpIDs || h > d.expIDs {
		d.expIDs, d.hasExpIDs = h, true
	}
}

// ExpireRecords forgets the records and pending voids before before from now on, as PurgeRecords
// does, without a sweep: Contains, Add, Count, Void, Lookup and AppendSnapshot answer as if
// PurgeRecords(before) had run (and runs again whenever a record older than it appears), and the
// slots are freed when the table would grow, or by PurgeRecords. A horizon before the one noted
// already is ignored.
func (d *Dedup) ExpireRecords(before time.Time) {
	if b := nanos(before); !d.hasExpRecs || b > d.expRecs {
		d.expRecs, d.hasExpRecs = b, true
	}
}

// DropPending forgets the pending void of id (a void whose input has not come), as PurgeRecords
// forgets it, and reports whether id held one: Count then counts the input. A record is kept.
func (d *Dedup) DropPending(id string) bool {
	if d.recs == 0 {
		return false
	}
	i, ok := d.findLive(d.fingerprint(id))
	if !ok || d.slots[i].tag()&tagPending == 0 {
		return false
	}
	d.forgetRecord(i)
	return true
}

// Contains reports whether id was added (or counted) with an event time >= horizon.
func (d *Dedup) Contains(id string, horizon time.Time) bool {
	if d.n == 0 {
		return false
	}
	f := d.fingerprint(id)
	i, ok := d.findLive(f)
	if !ok {
		return false
	}
	t, ok := d.idTime(f, &d.slots[i])
	return ok && t >= nanos(horizon)
}

// idTime returns the time at which the id of slot s (fingerprint f) was remembered, and false
// when it is only a pending void.
func (d *Dedup) idTime(f fingerprint, s *idSlot) (int64, bool) {
	t, ok := s.t(), s.tag()&tagPending == 0
	if s.tag()&tagLater != 0 {
		if l := d.later[f]; !ok || l > t {
			t, ok = l, true
		}
	}
	return t, ok
}

// setLater remembers t as the time of the id of slot s (a record or a pending void) when it is
// later than what the slot remembers.
func (d *Dedup) setLater(f fingerprint, s *idSlot, t int64) {
	if old, ok := d.idTime(f, s); ok && old >= t {
		return
	}
	if d.later == nil {
		d.later = map[fingerprint]int64{}
	}
	d.later[f] = t
	s[20] |= tagLater
}

// Add records id with event time t; if id is already known the later of the two times is kept.
// An id holding a record or a pending void keeps it.
func (d *Dedup) Add(id string, t time.Time) {
	f, tn := d.fingerprint(id), nanos(t)
	i, ok := d.findLive(f)
	if !ok {
		d.insert(f, tn, 0)
		return
	}
	if s := &d.slots[i]; !s.plain() {
		d.setLater(f, s, tn)
	} else if s.t() < tn {
		s.setT(tn)
	}
}

// insert adds f, which is not in the table, with time t and tag.
func (d *Dedup) insert(f fingerprint, t int64, tag uint8) {
	if (d.n+1)*8 > len(d.slots)*7 {
		// Sweep what the horizons no longer need first; grow unless it freed 1/64 of the slots,
		// so that a table near its steady size is not swept for every few ids.
		if d.expirable() {
			d.expire()
		}
		if (d.n+1)*64 > len(d.slots)*55 {
			d.resize(max(dedupMinSlots, 2*len(d.slots)))
		}
	}
	i, _ := d.find(f)
	d.slots[i] = makeSlot(f, t, tag)
	d.noteTime(t, tag, tag == 0 && d.n == d.recs || tag != 0 && d.recs == 0)
	if tag != 0 {
		d.recs++
	}
	d.n++
}

// noteTime lowers the bound on the times of plain ids (tag 0) or of records to t, or sets it to t
// when the slot is the first of its kind.
func (d *Dedup) noteTime(t int64, tag uint8, first bool) {
	if tag == 0 {
		if first || t < d.minT {
			d.minT = t
		}
		return
	}
	if first || t < d.minR {
		d.minR = t
	}
}

// Record is what a Dedup holds of an input that can be voided (Count).
type Record struct {
	Time  time.Time // the input's event time
	Value uint8     // 1..7, as given to Count
	Void  bool      // voided: no longer counted, or never (it came after its void)
}

// Count records id, an input at event time t of value v (1..7) that a later Void can take back,
// and reports whether the caller should count the input: false when id already holds a record
// (a duplicate, counted or void), or was voided before it came (the input is then recorded void
// and never counted). A plain id remembered by Add becomes a record. In every case id is
// remembered at t, as Add does. Call it after the lateness checks, so that a refused input is
// not recorded. It panics when v is not 1..7.
func (d *Dedup) Count(id string, t time.Time, v uint8) bool {
	if v == 0 || v > tagValue {
		panic(fmt.Sprintf("windows: record value %d is not 1..7", v))
	}
	f, tn := d.fingerprint(id), nanos(t)
	i, ok := d.findLive(f)
	if !ok {
		d.insert(f, tn, v)
		return true
	}
	s := &d.slots[i]
	switch {
	case s.plain():
		old := s.t()
		*s = makeSlot(f, tn, v)
		d.noteTime(tn, v, d.recs == 0)
		d.recs++
		d.setLater(f, s, old)
		return true
	case s.tag()&tagPending != 0:
		l, hasL := d.later[f]
		delete(d.later, f)
		*s = makeSlot(f, tn, v|tagVoid)
		d.noteTime(tn, v, false)
		if hasL {
			d.setLater(f, s, l)
		}
	}
	d.setLater(f, s, tn)
	return false
}

// Void voids the record of id at event time t. It returns the record as it was and true when id
// was counted, so that the caller takes its input back out of what counted it; false when it was
// void already, or not recorded yet (a pending void is then held, and Count will refuse id).
func (d *Dedup) Void(id string, t time.Time) (Record, bool) {
	f, tn := d.fingerprint(id), nanos(t)
	i, ok := d.findLive(f)
	if !ok {
		d.insert(f, tn, tagPending|tagVoid)
		return Record{}, false
	}
	s := &d.slots[i]
	if s.plain() {
		old := s.t()
		*s = makeSlot(f, tn, tagPending|tagVoid)
		d.noteTime(tn, tagPending, d.recs == 0)
		d.recs++
		d.setLater(f, s, old)
		return Record{}, false
	}
	if s.tag()&tagVoid != 0 {
		return Record{}, false
	}
	s[20] |= tagVoid
	return Record{Time: fromNanos(s.t()), Value: s.tag() & tagValue}, true
}

// Lookup returns the record of id, counted or void, and false when id holds none (a pending void
// is not a record).
func (d *Dedup) Lookup(id string) (Record, bool) {
	if d.recs == 0 {
		return Record{}, false
	}
	i, ok := d.findLive(d.fingerprint(id))
	if !ok {
		return Record{}, false
	}
	s := &d.slots[i]
	if s.plain() || s.tag()&tagPending != 0 {
		return Record{}, false
	}
	return Record{Time: fromNanos(s.t()), Value: s.tag() & tagValue, Void: s.tag()&tagVoid != 0}, true
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

// Purge forgets the plain ids whose event time is before horizon (records stay: PurgeRecords).
func (d *Dedup) Purge(horizon time.Time) {
	h := nanos(horizon)
	for f, t := range d.later {
		if t < h {
			delete(d.later, f)
			if i, ok := d.find(f); ok {
				d.slots[i][20] &^= tagLater
			}
		}
	}
	if d.n == d.recs || h <= d.minT {
		return
	}
	least, seen := int64(0), false
	d.sweep(func(s *idSlot) bool {
		if !s.plain() {
			return false
		}
		t := s.t()
		if t < h {
			return true
		}
		if !seen || t < least {
			least, seen = t, true
		}
		return false
	})
	d.minT = least
}

// PurgeRecords forgets the records whose input's time is before before, and the pending voids
// whose void's time is before it (an id also added later stays remembered, as a plain id). Pass
// the start of the oldest pane any operator counting the inputs still holds
// (Operator.RetractHorizon, or older): an older input can no longer be taken back, and an input
// older than its void would be too late to count.
func (d *Dedup) PurgeRecords(before time.Time) {
	b := nanos(before)
	if d.recs == 0 || b <= d.minR {
		return
	}
	least, seen := int64(0), false
	d.sweep(func(s *idSlot) bool {
		if s.plain() {
			return false
		}
		t := s.t()
		if t >= b {
			if !seen || t < least {
				least, seen = t, true
			}
			return false
		}
		if s.tag()&tagLater == 0 {
			return true
		}
		f := s.fp()
		l := d.later[f]
		delete(d.later, f)
		*s = makeSlot(f, l, 0)
		d.noteTime(l, 0, d.n == d.recs)
		d.recs--
		return false
	})
	d.minR = least
}

// expirable reports whether a sweep at the horizons of Expire and ExpireRecords may free a slot
// or a later time.
func (d *Dedup) expirable() bool {
	return d.hasExpIDs && (d.expIDs > d.minT && d.n > d.recs || len(d.later) > 0) ||
		d.hasExpRecs && d.recs > 0 && d.expRecs > d.minR
}

// expire purges at the horizons of Expire and ExpireRecords.
func (d *Dedup) expire() {
	if d.hasExpRecs {
		d.PurgeRecords(fromNanos(d.expRecs))
	}
	if d.hasExpIDs {
		d.Purge(fromNanos(d.expIDs))
	}
}

// sweep removes every slot for which visit (which may change the slot in place) returns true,
// in one pass, then shrinks a table left at most 7/32 full.
func (d *Dedup) sweep(visit func(*idSlot) bool) {
	// Start after an empty slot: no probe sequence crosses it, so a backward shift only ever moves
	// a slot not yet visited into the one being visited.
	mask := len(d.slots) - 1
	start := 0
	for !d.slots[start].empty() {
		start++
	}
	for k := 1; k <= len(d.slots); k++ {
		i := (start + k) & mask
		for {
			s := &d.slots[i]
			if s.empty() || !visit(s) {
				break
			}
			if !s.plain() {
				d.recs--
			}
			d.remove(i) // slot i now holds a later slot of its probe sequence, or nothing
		}
	}
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

// Len returns the number of slots held: ids remembered (including those older than a horizon not
// yet purged), records and pending voids.
func (d *Dedup) Len() int { return d.n }

// Slots returns the size of the table: slots of 21 bytes, at most 7/8 of them held.
func (d *Dedup) Slots() int { return len(d.slots) }

// Records returns the number of records and pending voids held (Count, Void).
func (d *Dedup) Records() int { return d.recs }

// dedupMagic starts a snapshot; its last byte is the format version. Format 3 adds each slot's
// tag (a record's value and void, a pending void) and, with tagLater, the time the id was added
// later.
var dedupMagic = []byte{'g', 'p', 'd', 3}

// AppendSnapshot appends the key and the remembered fingerprints, times and tags to dst, sorted by
// fingerprint (deterministic: the same key, ids, times and records always give the same bytes), and
// returns the extended slice. It purges at the horizons of Expire and ExpireRecords first, so
// that the bytes do not depend on when the table last grew. Read it with ReadDedup.
func (d *Dedup) AppendSnapshot(dst []byte) []byte {
	if d.expirable() {
		d.expire()
	}
	dst = append(dst, dedupMagic...)
	dst = append(dst, d.key[:]...)
	dst = binary.AppendUvarint(dst, uint64(d.n))
	d.sorted(func(s *idSlot) {
		f := s.fp()
		dst = binary.BigEndian.AppendUint64(dst, f.hi)
		dst = binary.BigEndian.AppendUint32(dst, f.lo)
		dst = binary.AppendVarint(dst, s.t())
		dst = append(dst, s.tag())
		if s.tag()&tagLater != 0 {
			dst = binary.AppendVarint(dst, d.later[f])
		}
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

// validTag reports whether tag is one a slot can hold.
func validTag(tag uint8) bool {
	if tag&tagLater != 0 {
		return tag != tagLater && validTag(tag&^tagLater)
	}
	switch {
	case tag == 0:
		return true
	case tag&tagPending != 0:
		return tag == tagPending|tagVoid
	}
	return tag&^(tagValue|tagVoid) == 0 && tag&tagValue != 0
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
	n, rest, err := readCount(rest[16:], 14, "id count")
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
		if len(rest) < 1 || !validTag(rest[0]) {
			return nil, src, fmt.Errorf("%w: id tag", ErrCorrupt)
		}
		tag := rest[0]
		rest = rest[1:]
		if tag&tagLater != 0 {
			var l int64
			if l, rest, err = readVarint(rest, "id's later time"); err != nil {
				return nil, src, err
			}
			if l <= t && tag&tagPending == 0 {
				return nil, src, fmt.Errorf("%w: id's later time not after its record's", ErrCorrupt)
			}
			if d.later == nil {
				d.later = map[fingerprint]int64{}
			}
			d.later[f] = l
		}
		if f == (fingerprint{}) {
			return nil, src, fmt.Errorf("%w: zero id fingerprint", ErrCorrupt)
		}
		if i > 0 && prev.compare(f) >= 0 {
			return nil, src, fmt.Errorf("%w: ids out of order", ErrCorrupt)
		}
		prev = f
		d.insert(f, t, tag)
	}
	return d, rest, nil
}
