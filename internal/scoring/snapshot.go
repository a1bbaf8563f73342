package scoring

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrCorrupt is returned (wrapped) when a region snapshot cannot be decoded.
var ErrCorrupt = errors.New("scoring: corrupt snapshot")

// Item flags of the snapshot encoding.
const (
	flagCatalog = 1 << iota
	flagRequired
	flagService
	flagPublished
	flagAudit
	flagConsistent
)

// AppendSnapshot appends a deterministic binary encoding of the state to
// dst: the same state always gives the same bytes, whatever the order in
// which it was built. The aggregates are not stored; RestoreSnapshot
// recomputes them.
func (r *Region) AppendSnapshot(dst []byte) []byte {
	dst = appendString(dst, r.code)
	dst = appendStamp(dst, r.platform.stamp)
	dst = appendBool(dst, r.platform.integrated)
	dst = append(dst, r.platform.levels)
	dst = binary.AppendVarint(dst, r.platform.portals)

	keys := make([]itemKey, 0, len(r.items))
	for k := range r.items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b itemKey) int {
		if c := cmp.Compare(a.level, b.level); c != 0 {
			return c
		}
		return strings.Compare(a.code, b.code)
	})
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		it := r.items[k]
		dst = append(dst, k.level)
		dst = appendString(dst, k.code)
		var f byte
		if it.catStamp.ID != "" {
			f |= flagCatalog
		}
		if it.required {
			f |= flagRequired
		}
		if it.svcStamp.ID != "" {
			f |= flagService
		}
		if it.published {
			f |= flagPublished
		}
		if it.audStamp.ID != "" {
			f |= flagAudit
		}
		if it.consistent {
			f |= flagConsistent
		}
		dst = append(dst, f)
		if f&flagCatalog != 0 {
			dst = appendStamp(dst, it.catStamp)
		}
		if f&flagService != 0 {
			dst = appendStamp(dst, it.svcStamp)
			dst = append(dst, it.modes, it.maturity)
		}
		if f&flagAudit != 0 {
			dst = appendStamp(dst, it.audStamp)
			dst = append(dst, it.correct)
		}
	}
	return dst
}

// RestoreSnapshot replaces the state of r, which must have been created by
// NewRegion with the same code, by the one encoded at the start of b, and
// returns the bytes after it. It returns an error matching ErrCorrupt when
// the encoding is invalid or belongs to another region; r is then unusable.
func (r *Region) RestoreSnapshot(b []byte) ([]byte, error) {
	d := decoder{b: b}
	if code := d.string(); d.err == nil && code != r.code {
		return nil, fmt.Errorf("%w: region %q, want %q", ErrCorrupt, code, r.code)
	}
	r.items = make(map[itemKey]*item)
	r.published, r.modes, r.maturity = 0, 0, 0
	r.required, r.covered = [LevelCount]int64{}, [LevelCount]int64{}
	r.audited, r.correctConsistent, r.correctInconsistent = 0, 0, 0

	r.platform.stamp = d.stamp()
	r.platform.integrated = d.bool()
	r.platform.levels = d.byte()
	r.platform.portals = d.varint()
	if r.platform.levels >= 1<<LevelCount {
		d.fail("platform levels")
	}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("item count")
	}
	var last itemKey
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := itemKey{level: d.byte(), code: d.string()}
		if k.level >= LevelCount || k.code == "" {
			d.fail("item key")
		}
		if i > 0 && (k.level < last.level || k.level == last.level && k.code <= last.code) {
			d.fail("item order")
		}
		last = k
		f := d.byte()
		it := &item{required: f&flagRequired != 0, published: f&flagPublished != 0, consistent: f&flagConsistent != 0}
		if f&flagCatalog != 0 {
			it.catStamp = d.stamp()
		}
		if f&flagService != 0 {
			it.svcStamp = d.stamp()
			it.modes, it.maturity = d.byte(), d.byte()
		}
		if f&flagAudit != 0 {
			it.audStamp = d.stamp()
			it.correct = d.byte()
		}
		if f >= flagConsistent<<1 || it.maturity > MaxMaturity || it.correct > ElementCount {
			d.fail("item value")
		}
		if d.err != nil {
			break
		}
		r.items[k] = it
		r.contribute(int(k.level), it, +1)
	}
	if d.err != nil {
		return nil, d.err
	}
	return d.b, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// appendStamp encodes a stamp; the zero stamp (absent key) encodes as an
// empty id and the zero time.
func appendStamp(dst []byte, s Stamp) []byte {
	dst = appendString(dst, s.ID)
	if s.ID == "" {
		return dst
	}
	dst = binary.AppendVarint(dst, s.Time.Unix())
	return binary.AppendUvarint(dst, uint64(s.Time.Nanosecond()))
}

// decoder reads the encoding of AppendSnapshot; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bool")
	return false
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("string length")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) stamp() Stamp {
	id := d.string()
	if id == "" || d.err != nil {
		return Stamp{}
	}
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail("stamp nanoseconds")
		return Stamp{}
	}
	return Stamp{ID: id, Time: time.Unix(sec, int64(nsec)).UTC()}
}
