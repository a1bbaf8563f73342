package scoring

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govpulse/govpulse/internal/snapcodec"
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
	dst = snapcodec.AppendString(dst, r.code)
	dst = appendStamp(dst, r.platform.stamp)
	dst = snapcodec.AppendBool(dst, r.platform.integrated)
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
		dst = snapcodec.AppendString(dst, k.code)
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
	d := snapcodec.NewReader(b, ErrCorrupt)
	if code := d.String(); d.Err() == nil && code != r.code {
		return nil, fmt.Errorf("%w: region %q, want %q", ErrCorrupt, code, r.code)
	}
	r.items = make(map[itemKey]*item)
	r.itemCount = [LevelCount]int{}
	r.published, r.modes, r.maturity = 0, 0, 0
	r.required, r.covered = [LevelCount]int64{}, [LevelCount]int64{}
	r.audited, r.correctConsistent, r.correctInconsistent = 0, 0, 0

	r.platform.stamp = readStamp(d)
	r.platform.integrated = d.Bool()
	r.platform.levels = d.Byte()
	r.platform.portals = d.Varint()
	if r.platform.levels >= 1<<LevelCount {
		d.Fail("platform levels")
	}
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("item count")
	}
	var last itemKey
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		k := itemKey{level: d.Byte(), code: d.String()}
		if k.level >= LevelCount || k.code == "" {
			d.Fail("item key")
		}
		if i > 0 && (k.level < last.level || k.level == last.level && k.code <= last.code) {
			d.Fail("item order")
		}
		last = k
		f := d.Byte()
		it := &item{required: f&flagRequired != 0, published: f&flagPublished != 0, consistent: f&flagConsistent != 0}
		if f&flagCatalog != 0 {
			it.catStamp = readStamp(d)
		}
		if f&flagService != 0 {
			it.svcStamp = readStamp(d)
			it.modes, it.maturity = d.Byte(), d.Byte()
		}
		if f&flagAudit != 0 {
			it.audStamp = readStamp(d)
			it.correct = d.Byte()
		}
		if f >= flagConsistent<<1 || it.maturity > MaxMaturity || it.correct > ElementCount {
			d.Fail("item value")
		}
		if d.Err() != nil {
			break
		}
		r.items[k] = it
		r.itemCount[k.level]++
		r.contribute(int(k.level), it, +1)
	}
	if d.Err() != nil {
		return nil, d.Err()
	}
	return d.Rest(), nil
}

// appendStamp encodes a stamp; the zero stamp (absent key) encodes as an
// empty id and the zero time.
func appendStamp(dst []byte, s Stamp) []byte {
	dst = snapcodec.AppendString(dst, s.ID)
	if s.ID == "" {
		return dst
	}
	return snapcodec.AppendTime(dst, s.Time)
}

// readStamp reads what appendStamp wrote.
func readStamp(d *snapcodec.Reader) Stamp {
	id := d.String()
	if id == "" || d.Err() != nil {
		return Stamp{}
	}
	t := d.Time()
	if d.Err() != nil {
		return Stamp{}
	}
	return Stamp{ID: id, Time: t}
}
