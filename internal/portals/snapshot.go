package portals

import (
	"errors"
	"fmt"
	"slices"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/snapcodec"
	"github.com/govpulse/govpulse/pkg/events"
)

// ErrCorrupt is matched by the error of RestoreSnapshot for bytes that are
// not an intact snapshot of the unit.
var ErrCorrupt = errors.New("portals: corrupt snapshot")

// Flags of a description in the snapshot.
const (
	flagService   = 1 << 0
	flagPublished = 1 << 1
	flagGuide     = 1 << 2
)

// AppendSnapshot appends the unit's state to dst: the descriptions of every
// item by portal, the open inconsistencies, the closed totals and what Take
// has not returned yet. The encoding is deterministic; the counts derived
// from the descriptions are recomputed by RestoreSnapshot.
func (u *Unit) AppendSnapshot(dst []byte) []byte {
	dst = snapcodec.AppendString(dst, u.region)
	keys := make([]ItemKey, 0, len(u.items))
	for k := range u.items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareItems)
	dst = snapcodec.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		it := u.items[k]
		dst = append(dst, byte(k.Level.Index()))
		dst = snapcodec.AppendString(dst, k.Code)
		dst = snapcodec.AppendUvarint(dst, uint64(len(it.by))) // ordered by portal
		for i := range it.by {
			dst = appendDesc(snapcodec.AppendString(dst, it.by[i].portal), &it.by[i].d)
		}
	}
	open := u.Open()
	dst = snapcodec.AppendUvarint(dst, uint64(len(open)))
	for i := range open {
		dst = appendInc(dst, &open[i])
	}
	dst = snapcodec.AppendVarint(dst, u.closed)
	dst = snapcodec.AppendVarint(dst, u.openNanos)
	pending, _, _ := u.peek()
	dst = snapcodec.AppendUvarint(dst, uint64(len(pending)))
	for i := range pending {
		dst = appendInc(dst, &pending[i])
	}
	dst = snapcodec.AppendBool(dst, u.measuresDirty)
	return snapcodec.AppendUvarint(dst, u.version)
}

// peek returns what Take would return, without taking it.
func (u *Unit) peek() ([]Inconsistency, Measures, bool) {
	saved := make(map[pendingKey]Inconsistency, len(u.pending))
	for k, v := range u.pending {
		saved[k] = v
	}
	dirty := u.measuresDirty
	c, m, ok := u.Take()
	u.pending, u.measuresDirty = saved, dirty
	return c, m, ok
}

func appendDesc(dst []byte, d *desc) []byte {
	var f byte
	if d.svc.stamp.ID != "" {
		f |= flagService
	}
	if d.svc.published {
		f |= flagPublished
	}
	if d.gd.stamp.ID != "" {
		f |= flagGuide
	}
	dst = append(dst, f)
	if f&flagService != 0 {
		dst = appendStamp(dst, d.svc.stamp)
		dst = snapcodec.AppendString(dst, d.svc.name)
		dst = snapcodec.AppendString(dst, d.svc.dept)
		dst = append(dst, d.svc.modes, d.svc.maturity)
	}
	if f&flagGuide != 0 {
		dst = appendStamp(dst, d.gd.stamp)
		for _, v := range d.gd.verdicts {
			dst = append(dst, byte(v))
		}
	}
	return dst
}

func appendStamp(dst []byte, s scoring.Stamp) []byte {
	return snapcodec.AppendString(snapcodec.AppendTime(dst, s.Time), s.ID)
}

func readStamp(d *snapcodec.Reader) scoring.Stamp {
	t := d.Time()
	id := d.String()
	if d.Err() == nil && id == "" {
		d.Fail("stamp id")
	}
	return scoring.Stamp{Time: t, ID: id}
}

func appendInc(dst []byte, c *Inconsistency) []byte {
	dst = append(dst, byte(events.Level(c.Level).Index()))
	dst = snapcodec.AppendString(dst, c.ItemCode)
	dst = snapcodec.AppendString(dst, c.PortalA)
	dst = snapcodec.AppendString(dst, c.PortalB)
	dst = snapcodec.AppendUvarint(dst, uint64(len(c.Fields)))
	for _, f := range c.Fields {
		dst = snapcodec.AppendString(dst, f.Name)
		dst = snapcodec.AppendString(dst, f.A)
		dst = snapcodec.AppendString(dst, f.B)
	}
	dst = snapcodec.AppendTime(dst, c.OpenedAt)
	dst = snapcodec.AppendUvarint(dst, c.OpenedVersion)
	dst = snapcodec.AppendTime(dst, c.ClosedAt)
	dst = snapcodec.AppendUvarint(dst, c.ClosedVersion)
	return snapcodec.AppendUvarint(dst, c.Version)
}

func (u *Unit) readInc(d *snapcodec.Reader) Inconsistency {
	c := Inconsistency{Region: u.region}
	c.Level = string(readLevel(d))
	c.ItemCode, c.PortalA, c.PortalB = d.String(), d.String(), d.String()
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("field count")
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		c.Fields = append(c.Fields, Field{Name: d.String(), A: d.String(), B: d.String()})
	}
	c.OpenedAt = d.Time()
	c.OpenedVersion = d.Uvarint()
	c.ClosedAt = d.Time()
	c.ClosedVersion = d.Uvarint()
	c.Version = d.Uvarint()
	if d.Err() == nil && (c.PortalA >= c.PortalB || len(c.Fields) == 0) {
		d.Fail("inconsistency")
	}
	return c
}

func readLevel(d *snapcodec.Reader) events.Level {
	i := int(d.Byte())
	if i >= len(events.Levels()) {
		d.Fail("level")
		return ""
	}
	return events.Levels()[i]
}

// RestoreSnapshot replaces the unit's state with the one AppendSnapshot
// wrote at the start of b, and returns the rest of b. The unit keeps its
// region and limits; a snapshot of another region is corrupt.
func (u *Unit) RestoreSnapshot(b []byte) ([]byte, error) {
	d := snapcodec.NewReader(b, ErrCorrupt)
	if code := d.String(); d.Err() == nil && code != u.region {
		return nil, fmt.Errorf("%w: region %q, want %q", ErrCorrupt, code, u.region)
	}
	fresh := NewUnit(u.region, u.limits)
	n := d.Uvarint()
	if n > uint64(d.Len()) {
		d.Fail("item count")
	}
	var lastItem ItemKey
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		k := ItemKey{Level: readLevel(d), Code: d.String()}
		if d.Err() == nil && (k.Code == "" || i > 0 && compareItems(lastItem, k) >= 0) {
			d.Fail("item order")
		}
		lastItem = k
		np := d.Uvarint()
		if np > uint64(d.Len()) || np == 0 {
			d.Fail("portal count")
		}
		it := &item{by: make([]portalDesc, 0, min(np, uint64(fresh.limits.MaxPortals)))}
		lastPortal := ""
		for j := uint64(0); j < np && d.Err() == nil; j++ {
			p := d.String()
			if j > 0 && p <= lastPortal {
				d.Fail("portal order")
			}
			lastPortal = p
			it.by = append(it.by, portalDesc{portal: p}) // in order: checked above
			x := &it.by[len(it.by)-1].d
			f := d.Byte()
			if f&^(flagService|flagPublished|flagGuide) != 0 || f&(flagService|flagGuide) == 0 ||
				f&flagPublished != 0 && f&flagService == 0 {
				d.Fail("description flags")
			}
			if f&flagService != 0 {
				x.svc.stamp = readStamp(d)
				x.svc.published = f&flagPublished != 0
				x.svc.name, x.svc.dept = d.String(), d.String()
				x.svc.modes, x.svc.maturity = d.Byte(), d.Byte()
			}
			if f&flagGuide != 0 {
				x.gd.stamp = readStamp(d)
				for e := range x.gd.verdicts {
					v := int(d.Byte()) - 1
					if v < 0 || v >= len(events.Verdicts()) {
						d.Fail("verdict")
						break
					}
					x.gd.verdicts[e] = verdict(v + 1)
				}
			}
			fresh.portals[p]++
			if x.published() {
				fresh.countPublished(it, false, true)
			}
		}
		fresh.items[k] = it
	}
	no := d.Uvarint()
	if no > uint64(d.Len()) {
		d.Fail("open count")
	}
	var lastOpen pairKey
	for i := uint64(0); i < no && d.Err() == nil; i++ {
		c := fresh.readInc(d)
		if d.Err() == nil && i > 0 && comparePairs(lastOpen, c.key()) >= 0 {
			d.Fail("open order")
		}
		lastOpen = c.key()
		it := fresh.items[ItemKey{Level: events.Level(c.Level), Code: c.ItemCode}]
		if d.Err() == nil && (it == nil || !c.Open()) {
			d.Fail("open inconsistency")
			break
		}
		if d.Err() != nil {
			break
		}
		fresh.open[c.key()] = &c
		if it.openPairs == 0 {
			fresh.inconsistent++
		}
		it.openPairs++
	}
	fresh.closed, fresh.openNanos = d.Varint(), d.Varint()
	np := d.Uvarint()
	if np > uint64(d.Len()) {
		d.Fail("pending count")
	}
	var lastPending pendingKey
	for i := uint64(0); i < np && d.Err() == nil; i++ {
		c := fresh.readInc(d)
		k := pendingKey{pair: c.key(), opened: c.OpenedVersion}
		if d.Err() == nil && i > 0 && comparePending(lastPending, k) >= 0 {
			d.Fail("pending order")
		}
		lastPending = k
		fresh.pending[k] = c
	}
	fresh.measuresDirty = d.Bool()
	fresh.version = d.Uvarint()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("portals: region %s: %w", u.region, err)
	}
	*u = *fresh
	return d.Rest(), nil
}
