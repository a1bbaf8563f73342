package windows

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dedup remembers the ids of applied events with their event times, so that a replayed or
// redelivered event is not counted twice. Only ids inside the lateness horizon matter: an older
// duplicate is too late anyway. Contains therefore treats entries older than the horizon as absent
// whether or not Purge already dropped them, so results never depend on when Purge ran.
//
// Add and Contains cost O(1) (Add O(log n) when it records a new time), Purge O(log n) per entry
// dropped. A Dedup is not safe for concurrent use.
type Dedup struct {
	ids  map[string]int64 // id -> latest event time
	heap []dedupEntry     // min-heap by time; entries whose time is not ids[id] are stale
}

type dedupEntry struct {
	t  int64
	id string
}

// NewDedup returns an empty Dedup.
func NewDedup() *Dedup { return &Dedup{ids: make(map[string]int64)} }

// Contains reports whether id was added with an event time >= horizon.
func (d *Dedup) Contains(id string, horizon time.Time) bool {
	t, ok := d.ids[id]
	return ok && t >= nanos(horizon)
}

// Add records id with event time t; if id is already known the later of the two times is kept.
func (d *Dedup) Add(id string, t time.Time) {
	n := nanos(t)
	if old, ok := d.ids[id]; ok && old >= n {
		return
	}
	if d.ids == nil {
		d.ids = make(map[string]int64)
	}
	d.ids[id] = n
	d.push(dedupEntry{t: n, id: id})
}

// Purge forgets the ids whose event time is before horizon.
func (d *Dedup) Purge(horizon time.Time) {
	h := nanos(horizon)
	for len(d.heap) > 0 && d.heap[0].t < h {
		e := d.pop()
		if t, ok := d.ids[e.id]; ok && t == e.t {
			delete(d.ids, e.id)
		}
	}
}

// Len returns the number of ids remembered, including those older than a horizon not yet purged.
func (d *Dedup) Len() int { return len(d.ids) }

func (d *Dedup) push(e dedupEntry) {
	d.heap = append(d.heap, e)
	d.up(len(d.heap) - 1)
}

func (d *Dedup) pop() dedupEntry {
	h := d.heap
	e := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = dedupEntry{}
	d.heap = h[:last]
	if last > 0 {
		d.down(0)
	}
	return e
}

func (d *Dedup) up(i int) {
	h := d.heap
	for i > 0 {
		p := (i - 1) / 2
		if h[p].t <= h[i].t {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (d *Dedup) down(i int) {
	h := d.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].t < h[l].t {
			m = r
		}
		if h[i].t <= h[m].t {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

var dedupMagic = []byte{'g', 'p', 'd', 1}

// AppendSnapshot appends the remembered ids and times to dst, sorted by id (deterministic: the same
// ids and times always give the same bytes), and returns the extended slice. Read it with
// ReadDedup.
func (d *Dedup) AppendSnapshot(dst []byte) []byte {
	ids := make([]string, 0, len(d.ids))
	for id := range d.ids {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = append(dst, dedupMagic...)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = StringCodec{}.Append(dst, id)
		dst = binary.AppendVarint(dst, d.ids[id])
	}
	return dst
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
	n, rest, err := readCount(rest, 2, "id count")
	if err != nil {
		return nil, src, err
	}
	d := &Dedup{ids: make(map[string]int64, n), heap: make([]dedupEntry, 0, n)}
	prev := ""
	for i := range n {
		var e dedupEntry
		if e.id, rest, err = (StringCodec{}).Read(rest); err != nil {
			return nil, src, err
		}
		if e.t, rest, err = readVarint(rest, "id time"); err != nil {
			return nil, src, err
		}
		if i > 0 && strings.Compare(prev, e.id) >= 0 {
			return nil, src, fmt.Errorf("%w: ids out of order", ErrCorrupt)
		}
		prev = e.id
		d.ids[e.id] = e.t
		d.heap = append(d.heap, e)
	}
	for i := len(d.heap)/2 - 1; i >= 0; i-- {
		d.down(i)
	}
	return d, rest, nil
}
