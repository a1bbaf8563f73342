// Package portals keeps the state of a unit's portals, one description of
// an item per portal, and the inconsistencies between them: whenever two
// portals of a unit currently describe the same item differently, an
// inconsistency is open for that item and that pair of portals, naming the
// fields that differ and their values on each side; it closes when they
// agree again or one description goes away.
//
// A portal's description of an item is the last writer (newest event time,
// ties by the larger id, scoring.Stamp) of two keys per (level, item_code,
// portal): its service (service.published / service.withdrawn) and its guide
// audit (guide.audited). Two portals are compared per item:
//
//   - neither publishes the item (withdrawn, or no service event): they agree;
//   - one publishes it, the other has withdrawn it or never named it: the
//     field "published" differs ("published" against "withdrawn" or "absent");
//   - both publish it: "name", "department", "modes" (the modes in checklist
//     order, joined by ","), "maturity", and "guide.<element>" for every guide
//     element whose verdicts differ when both portals have an audit of the
//     item (an audit of an item a portal does not publish is not compared,
//     as method 2017 counts an audit only for a published item).
//
// A portal takes part in the comparison from the first event that names it
// in the unit ("seen"), so a portal joining opens an inconsistency for every
// item published elsewhere that it does not publish. An event without a
// portal belongs to the unit's main portal, whose name is "".
//
// Everything is deterministic: the same events in the same order give the
// same rows, versions and event times, whatever the batching. Versions are
// the stream sequences of the events that caused the change.
package portals

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Default bounds of a unit's portal state.
const (
	// DefaultMaxPortals is the most portals one unit may have.
	DefaultMaxPortals = 16
	// DefaultMaxItemsPerPortal is the most items (level, item_code) one
	// portal of a unit may describe. It is four times the engine's default
	// items per level, so that the unit's own bound (the items of all its
	// portals together, per level) is reached first by default.
	DefaultMaxItemsPerPortal = 80000
)

// Limits bounds a unit's portal state; zero members take the defaults. An
// event beyond them is refused (Unit.Check).
type Limits struct {
	// MaxPortals is the most portals one unit may have. Zero means
	// DefaultMaxPortals.
	MaxPortals int
	// MaxItemsPerPortal is the most items (level, item_code) one portal of
	// a unit may describe. Zero means DefaultMaxItemsPerPortal.
	MaxItemsPerPortal int
}

// WithDefaults returns l with its zero members set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxPortals <= 0 {
		l.MaxPortals = DefaultMaxPortals
	}
	if l.MaxItemsPerPortal <= 0 {
		l.MaxItemsPerPortal = DefaultMaxItemsPerPortal
	}
	return l
}

// Validate reports a negative member of l (zero means the default).
func (l Limits) Validate() error {
	switch {
	case l.MaxPortals < 0:
		return fmt.Errorf("portals: max portals %d: must not be negative", l.MaxPortals)
	case l.MaxItemsPerPortal < 0:
		return fmt.Errorf("portals: max items per portal %d: must not be negative", l.MaxItemsPerPortal)
	}
	return nil
}

// ItemKey identifies an item within a unit.
type ItemKey struct {
	Level events.Level
	Code  string
}

func compareItems(a, b ItemKey) int {
	if c := cmp.Compare(a.Level.Index(), b.Level.Index()); c != 0 {
		return c
	}
	return strings.Compare(a.Code, b.Code)
}

// pairKey identifies an inconsistency's item and pair of portals (a < b).
type pairKey struct {
	item ItemKey
	a, b string
}

func comparePairs(x, y pairKey) int {
	if c := compareItems(x.item, y.item); c != 0 {
		return c
	}
	if c := strings.Compare(x.a, y.a); c != 0 {
		return c
	}
	return strings.Compare(x.b, y.b)
}

// Field is one field that two portals describe differently, with its value
// on each side (A: the portal that sorts first).
type Field struct {
	Name string `json:"name"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// Inconsistency is the state of one inconsistency: an item of a unit that
// two portals (PortalA < PortalB; "" is the main portal) describe
// differently. It is open while ClosedVersion is 0. Fields are the fields
// that differ, as they were when it closed or as they are now; Version is
// the stream sequence of the last change (opening, change of fields,
// closing). The message govpulse.inconsistencies.<region> is its JSON form.
type Inconsistency struct {
	Region        string    `json:"region"`
	Level         string    `json:"level"`
	ItemCode      string    `json:"item_code"`
	PortalA       string    `json:"portal_a"`
	PortalB       string    `json:"portal_b"`
	Fields        []Field   `json:"fields"`
	OpenedAt      time.Time `json:"opened_at"`
	OpenedVersion uint64    `json:"opened_version"`
	ClosedAt      time.Time `json:"closed_at"`
	ClosedVersion uint64    `json:"closed_version"`
	Version       uint64    `json:"version"`
}

// Open reports whether the inconsistency is still open.
func (c *Inconsistency) Open() bool { return c.ClosedVersion == 0 }

func (c *Inconsistency) key() pairKey {
	return pairKey{item: ItemKey{Level: events.Level(c.Level), Code: c.ItemCode}, a: c.PortalA, b: c.PortalB}
}

// Measures are a unit's portal measures at Version.
type Measures struct {
	Region string `json:"region"`
	// Portals is the number of portals seen.
	Portals int64 `json:"portals"`
	// PublishedItems is the number of items published on at least one
	// portal, MultiPortalItems on more than one.
	PublishedItems   int64 `json:"published_items"`
	MultiPortalItems int64 `json:"multi_portal_items"`
	// Open is the number of open inconsistencies, InconsistentItems the
	// items with at least one; Share is InconsistentItems / PublishedItems
	// (0 without published items).
	Open              int64   `json:"open"`
	InconsistentItems int64   `json:"inconsistent_items"`
	Share             float64 `json:"share"`
	// Closed is the number of inconsistencies closed so far and
	// OpenNanosTotal the sum of their open times (closing event time minus
	// opening event time, at least 0); MeanOpenSeconds is their mean.
	Closed          int64   `json:"closed"`
	OpenNanosTotal  int64   `json:"open_nanos_total"`
	MeanOpenSeconds float64 `json:"mean_open_seconds"`
	Version         uint64  `json:"version"`
}

// service is a portal's service key of an item.
type service struct {
	stamp      scoring.Stamp
	published  bool
	name, dept string
	modes      uint8
	maturity   uint8
}

// guide is a portal's audit key of an item.
type guide struct {
	stamp    scoring.Stamp
	verdicts [8]verdict
}

// verdict is an events.Verdict as one byte: its index in events.Verdicts plus one, 0 for none.
type verdict uint8

// verdictOf returns the byte of v.
func verdictOf(v events.Verdict) verdict { return verdict(slices.Index(events.Verdicts(), v) + 1) }

// String returns the verdict's word, "" for none.
func (v verdict) String() string {
	if v == 0 || int(v) > len(events.Verdicts()) {
		return ""
	}
	return string(events.Verdicts()[v-1])
}

// verdictsOf returns the bytes of the verdicts of an audit's elements.
func verdictsOf(vs [8]events.Verdict) [8]verdict {
	var out [8]verdict
	for i, v := range vs {
		out[i] = verdictOf(v)
	}
	return out
}

// desc is one portal's description of an item.
type desc struct {
	svc service
	gd  guide
}

func (d *desc) published() bool { return d != nil && d.svc.stamp.ID != "" && d.svc.published }

// item is an item's descriptions by portal, ordered by portal: a unit has at most
// Limits.MaxPortals portals and most items are described by one or two, so a short sorted slice
// holds them in a fraction of a map's memory (a unit's items are most of its state).
type item struct {
	by        []portalDesc
	pubCount  int // portals that publish it
	openPairs int // open inconsistencies of the item
}

// portalDesc is one portal's description of an item.
type portalDesc struct {
	portal string
	d      desc
}

// get returns portal p's description of the item, nil when it has none. The pointer is valid
// until the next add.
func (it *item) get(p string) *desc {
	for i := range it.by {
		if it.by[i].portal == p {
			return &it.by[i].d
		}
	}
	return nil
}

// add adds portal p's empty description of the item, which it must not have, and returns it.
// It moves the other descriptions: pointers get returned before are no longer valid.
func (it *item) add(p string) *desc {
	i, _ := slices.BinarySearchFunc(it.by, p, func(x portalDesc, p string) int { return strings.Compare(x.portal, p) })
	it.by = slices.Insert(it.by, i, portalDesc{portal: p})
	return &it.by[i].d
}

// Unit is the portal state of one unit. It is not safe for concurrent use.
type Unit struct {
	region string
	limits Limits

	portals map[string]int // portal -> items it describes
	items   map[ItemKey]*item
	open    map[pairKey]*Inconsistency

	published, multi, inconsistent int64
	closed, openNanos              int64

	// Changed since the last Take: inconsistencies by (pair, opened
	// version), and the version of the measures when they changed.
	pending       map[pendingKey]Inconsistency
	measuresDirty bool
	version       uint64
}

type pendingKey struct {
	pair   pairKey
	opened uint64
}

func comparePending(x, y pendingKey) int {
	if c := comparePairs(x.pair, y.pair); c != 0 {
		return c
	}
	return cmp.Compare(x.opened, y.opened)
}

// NewUnit returns the empty portal state of the unit region.
func NewUnit(region string, limits Limits) *Unit {
	return &Unit{
		region:  region,
		limits:  limits.WithDefaults(),
		portals: make(map[string]int),
		items:   make(map[ItemKey]*item),
		open:    make(map[pairKey]*Inconsistency),
		pending: make(map[pendingKey]Inconsistency),
	}
}

// Of returns the item and portal that a service.published,
// service.withdrawn or guide.audited event describes; ok is false for any
// other payload.
func Of(ev *events.Event) (key ItemKey, portal string, ok bool) {
	switch d := ev.Data.(type) {
	case *events.ServicePublishedData:
		return ItemKey{d.Level, d.ItemCode}, d.Portal, true
	case *events.ServiceWithdrawnData:
		return ItemKey{d.Level, d.ItemCode}, d.Portal, true
	case *events.GuideAuditedData:
		return ItemKey{d.Level, d.ItemCode}, d.Portal, true
	}
	return ItemKey{}, "", false
}

// Check reports, as a reason in words, why ev would exceed the unit's
// bounds (a new portal beyond Limits.MaxPortals, or a new item of a portal
// beyond Limits.MaxItemsPerPortal); "" when it would not, or when ev is not
// a portal description.
func (u *Unit) Check(ev *events.Event) string {
	k, p, ok := Of(ev)
	if !ok {
		return ""
	}
	n, seen := u.portals[p]
	if !seen && len(u.portals) >= u.limits.MaxPortals {
		return fmt.Sprintf("region %s already has %d portals, the limit: portal %q is not added",
			u.region, len(u.portals), p)
	}
	if it := u.items[k]; (it == nil || it.get(p) == nil) && n >= u.limits.MaxItemsPerPortal {
		return fmt.Sprintf("portal %q of region %s already describes %d items, the limit: item %s/%s is not added",
			p, u.region, n, k.Level, k.Code)
	}
	return ""
}

// Apply applies ev, a service.published, service.withdrawn or guide.audited
// event of the unit with stream sequence seq, last writer wins within its
// (item, portal) key, and updates the inconsistencies. It reports whether
// the event became the newest writer of its key. Any other event, an event
// of another unit or one over the bounds (Check) changes nothing.
func (u *Unit) Apply(seq uint64, ev *events.Event) bool {
	k, p, ok := Of(ev)
	if !ok || ev.Region != u.region || u.Check(ev) != "" {
		return false
	}
	st := scoring.Stamp{Time: ev.Time, ID: ev.ID}
	var d *desc
	if it := u.items[k]; it != nil {
		d = it.get(p)
	}
	if d != nil {
		switch ev.Data.(type) {
		case *events.GuideAuditedData:
			if !st.After(d.gd.stamp) {
				return false
			}
		default:
			if !st.After(d.svc.stamp) {
				return false
			}
		}
	}
	it, d, joined := u.describe(k, p)
	wasPub := d.published()
	switch x := ev.Data.(type) {
	case *events.ServicePublishedData:
		d.svc = service{stamp: st, published: true, name: x.Name, dept: x.Department,
			modes: modeBits(x.Modes), maturity: uint8(min(max(x.Maturity, 0), 4))}
	case *events.ServiceWithdrawnData:
		d.svc = service{stamp: st}
	case *events.GuideAuditedData:
		d.gd = guide{stamp: st, verdicts: verdictsOf(x.Elements)}
	}
	u.countPublished(it, wasPub, d.published())
	u.measuresDirty, u.version = true, seq
	if joined {
		// A new portal is compared with every other portal on every item.
		for ik, other := range u.items {
			for q := range u.portals {
				if q != p {
					u.recompute(ik, other, p, q, seq, ev.Time)
				}
			}
		}
		return true
	}
	for q := range u.portals {
		if q != p {
			u.recompute(k, it, p, q, seq, ev.Time)
		}
	}
	return true
}

// describe returns the item k and portal p's description of it, creating
// them; joined reports that p is a new portal of the unit.
func (u *Unit) describe(k ItemKey, p string) (it *item, d *desc, joined bool) {
	it = u.items[k]
	if it == nil {
		it = &item{}
		u.items[k] = it
	}
	d = it.get(p)
	if d == nil {
		d = it.add(p)
		_, seen := u.portals[p]
		joined = !seen
		u.portals[p]++
	}
	return it, d, joined
}

// countPublished keeps the counts of published items as one portal's
// service of it goes from wasPub to isPub.
func (u *Unit) countPublished(it *item, wasPub, isPub bool) {
	if wasPub == isPub {
		return
	}
	before := it.pubCount
	if isPub {
		it.pubCount++
	} else {
		it.pubCount--
	}
	u.published += b2i(it.pubCount >= 1) - b2i(before >= 1)
	u.multi += b2i(it.pubCount >= 2) - b2i(before >= 2)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// recompute compares portals p and q on item k and opens, changes or
// closes their inconsistency at version seq and event time t.
func (u *Unit) recompute(k ItemKey, it *item, p, q string, seq uint64, t time.Time) {
	a, b := p, q
	if b < a {
		a, b = b, a
	}
	pk := pairKey{item: k, a: a, b: b}
	fields := compareDesc(it.get(a), it.get(b))
	cur := u.open[pk]
	switch {
	case cur == nil && len(fields) == 0:
		return
	case cur == nil:
		cur = &Inconsistency{Region: u.region, Level: string(k.Level), ItemCode: k.Code, PortalA: a, PortalB: b,
			Fields: fields, OpenedAt: t.UTC(), OpenedVersion: seq, Version: seq}
		u.open[pk] = cur
		if it.openPairs == 0 {
			u.inconsistent++
		}
		it.openPairs++
	case len(fields) == 0:
		cur.ClosedAt, cur.ClosedVersion, cur.Version = t.UTC(), seq, seq
		delete(u.open, pk)
		it.openPairs--
		if it.openPairs == 0 {
			u.inconsistent--
		}
		u.closed++
		u.openNanos += max(cur.ClosedAt.Sub(cur.OpenedAt).Nanoseconds(), 0)
	case slices.Equal(fields, cur.Fields):
		return
	default:
		cur.Fields, cur.Version = fields, seq
	}
	u.pending[pendingKey{pair: pk, opened: cur.OpenedVersion}] = cloneInc(cur)
}

func cloneInc(c *Inconsistency) Inconsistency {
	x := *c
	x.Fields = slices.Clone(c.Fields)
	return x
}

// compareDesc returns the fields that the descriptions a and b of one item
// differ in (see the package documentation), in a fixed order: published,
// name, department, modes, maturity, then guide.<element> in the order of
// events.Elements. A nil description is a portal that has never named the
// item ("absent"); both portals are seen in the unit.
func compareDesc(a, b *desc) []Field {
	pa, pb := a.published(), b.published()
	if !pa && !pb {
		return nil
	}
	if pa != pb {
		return []Field{{Name: "published", A: pubWord(a), B: pubWord(b)}}
	}
	var f []Field
	add := func(name, x, y string) {
		if x != y {
			f = append(f, Field{Name: name, A: x, B: y})
		}
	}
	add("name", a.svc.name, b.svc.name)
	add("department", a.svc.dept, b.svc.dept)
	add("modes", modeWords(a.svc.modes), modeWords(b.svc.modes))
	add("maturity", strconv.Itoa(int(a.svc.maturity)), strconv.Itoa(int(b.svc.maturity)))
	if a.gd.stamp.ID != "" && b.gd.stamp.ID != "" {
		for i, e := range events.Elements() {
			add("guide."+string(e), a.gd.verdicts[i].String(), b.gd.verdicts[i].String())
		}
	}
	return f
}

func pubWord(d *desc) string {
	switch {
	case d == nil || d.svc.stamp.ID == "":
		return "absent"
	case d.svc.published:
		return "published"
	}
	return "withdrawn"
}

func modeBits(modes []events.Mode) uint8 {
	var b uint8
	for _, m := range modes {
		if i := m.Index(); i >= 0 {
			b |= 1 << i
		}
	}
	return b
}

func modeWords(b uint8) string {
	w := make([]string, 0, bits.OnesCount8(b))
	for i, m := range events.Modes() {
		if b&(1<<i) != 0 {
			w = append(w, string(m))
		}
	}
	return strings.Join(w, ",")
}

// Take returns the inconsistencies that changed since the last Take, in
// the order of item, portals and opening version, and the unit's measures
// when they changed (ok false otherwise).
func (u *Unit) Take() (changed []Inconsistency, m Measures, ok bool) {
	if len(u.pending) > 0 {
		keys := make([]pendingKey, 0, len(u.pending))
		for k := range u.pending {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, comparePending)
		changed = make([]Inconsistency, len(keys))
		for i, k := range keys {
			changed[i] = u.pending[k]
		}
		clear(u.pending)
	}
	if u.measuresDirty {
		u.measuresDirty = false
		return changed, u.Measures(), true
	}
	return changed, Measures{}, false
}

// Measures returns the unit's measures now.
func (u *Unit) Measures() Measures {
	m := Measures{Region: u.region, Portals: int64(len(u.portals)), PublishedItems: u.published,
		MultiPortalItems: u.multi, Open: int64(len(u.open)), InconsistentItems: u.inconsistent,
		Closed: u.closed, OpenNanosTotal: u.openNanos, Version: u.version}
	if m.PublishedItems > 0 {
		m.Share = float64(m.InconsistentItems) / float64(m.PublishedItems)
	}
	if m.Closed > 0 {
		m.MeanOpenSeconds = float64(m.OpenNanosTotal) / float64(m.Closed) / 1e9
	}
	return m
}

// Open returns the open inconsistencies of the unit in the order of item
// and portals.
func (u *Unit) Open() []Inconsistency {
	keys := make([]pairKey, 0, len(u.open))
	for k := range u.open {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, comparePairs)
	out := make([]Inconsistency, len(keys))
	for i, k := range keys {
		out[i] = cloneInc(u.open[k])
	}
	return out
}
