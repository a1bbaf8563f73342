package scoring

import (
	"math/bits"
	"strings"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// Stamp identifies the writer of a last-writer-wins key: the event time and
// the event id. A stamp is newer than another when its time is later, or on
// equal times when its id is larger comparing bytes (rule 2).
type Stamp struct {
	Time time.Time
	ID   string
}

// After reports whether s is newer than o. Equal stamps (a replay of the
// same event) are not newer, which makes portal changes idempotent.
func (s Stamp) After(o Stamp) bool {
	if c := s.Time.Compare(o.Time); c != 0 {
		return c > 0
	}
	return strings.Compare(s.ID, o.ID) > 0
}

// itemKey identifies an item within a region: its level index and code.
type itemKey struct {
	level uint8
	code  string
}

// item holds the three last-writer-wins keys of one (level, item_code): the
// catalogue entry, the service and the guide audit. A key is absent while
// its stamp's ID is empty (event ids are never empty).
type item struct {
	catStamp Stamp
	required bool

	svcStamp  Stamp
	published bool
	modes     uint8 // bit i set when events.Modes()[i] is offered
	maturity  uint8 // 0..4

	audStamp   Stamp
	correct    uint8 // correct elements, 0..8
	consistent bool
}

// platform is the region's platform key.
type platform struct {
	stamp      Stamp
	integrated bool
	levels     uint8 // bit i set when events.Levels()[i] is joined
	portals    int64
}

// Region is the portal state of one unit under method 2017: the three
// last-writer-wins keys of every item, the platform, and the aggregates
// behind the formulas, maintained incrementally (O(1) per event). A Region
// is not safe for concurrent use.
type Region struct {
	code, nameZH, nameEN string

	items     map[itemKey]*item
	itemCount [LevelCount]int // items per level index
	platform  platform

	// Aggregates over items, kept equal to a recomputation from items.
	published, modes, maturity int64
	required, covered          [LevelCount]int64
	audited                    int64
	correctConsistent          int64
	correctInconsistent        int64
}

// NewRegion returns the empty state of the unit with the given code and
// names.
func NewRegion(code, nameZH, nameEN string) *Region {
	return &Region{code: code, nameZH: nameZH, nameEN: nameEN, items: make(map[itemKey]*item)}
}

// Code returns the region code.
func (r *Region) Code() string { return r.code }

// Apply applies a portal change (catalog.item, service.published,
// service.withdrawn, guide.audited, platform.updated) to the state, last
// writer wins, and reports whether it became the newest writer of its key.
// A user-experience event, an event of another region or an invalid payload
// changes nothing and returns false. The event must be valid
// (events.Event.Validate); Apply does not retain ev or its payload.
func (r *Region) Apply(ev *events.Event) bool {
	if ev.Region != r.code {
		return false
	}
	st := Stamp{Time: ev.Time, ID: ev.ID}
	switch d := ev.Data.(type) {
	case *events.CatalogItemData:
		return r.setCatalog(d.Level, d.ItemCode, st, d.Required)
	case *events.ServicePublishedData:
		modes := modeBits(d.Modes)
		if d.Maturity < 0 || d.Maturity > MaxMaturity {
			return false
		}
		return r.setService(d.Level, d.ItemCode, st, true, modes, uint8(d.Maturity))
	case *events.ServiceWithdrawnData:
		return r.setService(d.Level, d.ItemCode, st, false, 0, 0)
	case *events.GuideAuditedData:
		return r.setAudit(d.Level, d.ItemCode, st, uint8(d.Correct()), d.Consistent)
	case *events.PlatformUpdatedData:
		return r.setPlatform(st, d.Integrated, levelBits(d.Levels), int64(d.Portals))
	}
	return false
}

// lookup returns the item of (level, code), creating it when create is
// true; nil for an invalid level or a missing item.
func (r *Region) lookup(level events.Level, code string, create bool) *item {
	li := level.Index()
	if li < 0 {
		return nil
	}
	k := itemKey{level: uint8(li), code: code}
	it := r.items[k]
	if it == nil && create {
		it = &item{}
		r.items[k] = it
		r.itemCount[li]++
	}
	return it
}

// Items returns how many items (level, item_code) the state holds at level:
// every item that a catalogue entry, a service change or an audit named.
// Items are never removed (a withdrawn service is state too), so this is
// what a bound on the state's memory has to count.
func (r *Region) Items(level events.Level) int {
	li := level.Index()
	if li < 0 {
		return 0
	}
	return r.itemCount[li]
}

// HasItem reports whether the state holds the item (level, code).
func (r *Region) HasItem(level events.Level, code string) bool {
	return r.lookup(level, code, false) != nil
}

// ItemOf returns the item a portal change names: the level and item code of
// catalog.item, service.published, service.withdrawn and guide.audited; ok
// is false for any other payload (platform.updated and the user-experience
// events do not add items to the state).
func ItemOf(ev *events.Event) (level events.Level, code string, ok bool) {
	switch d := ev.Data.(type) {
	case *events.CatalogItemData:
		return d.Level, d.ItemCode, true
	case *events.ServicePublishedData:
		return d.Level, d.ItemCode, true
	case *events.ServiceWithdrawnData:
		return d.Level, d.ItemCode, true
	case *events.GuideAuditedData:
		return d.Level, d.ItemCode, true
	}
	return "", "", false
}

func (r *Region) setCatalog(level events.Level, code string, st Stamp, required bool) bool {
	it := r.lookup(level, code, true)
	if it == nil || !st.After(it.catStamp) {
		return false
	}
	r.contribute(level.Index(), it, -1)
	it.catStamp, it.required = st, required
	r.contribute(level.Index(), it, +1)
	return true
}

func (r *Region) setService(level events.Level, code string, st Stamp, published bool, modes, maturity uint8) bool {
	it := r.lookup(level, code, true)
	if it == nil || !st.After(it.svcStamp) {
		return false
	}
	r.contribute(level.Index(), it, -1)
	it.svcStamp, it.published, it.modes, it.maturity = st, published, modes, maturity
	r.contribute(level.Index(), it, +1)
	return true
}

func (r *Region) setAudit(level events.Level, code string, st Stamp, correct uint8, consistent bool) bool {
	it := r.lookup(level, code, true)
	if it == nil || !st.After(it.audStamp) {
		return false
	}
	if correct > ElementCount {
		correct = ElementCount
	}
	r.contribute(level.Index(), it, -1)
	it.audStamp, it.correct, it.consistent = st, correct, consistent
	r.contribute(level.Index(), it, +1)
	return true
}

func (r *Region) setPlatform(st Stamp, integrated bool, levels uint8, portals int64) bool {
	if !st.After(r.platform.stamp) {
		return false
	}
	r.platform = platform{stamp: st, integrated: integrated, levels: levels, portals: portals}
	return true
}

// contribute adds (sign +1) or removes (sign -1) the item's share of the
// aggregates. Rule 4: an audit counts whenever its item is published,
// whatever the order of the audit and the publication.
func (r *Region) contribute(level int, it *item, sign int64) {
	pub := it.svcStamp.ID != "" && it.published
	if pub {
		r.published += sign
		r.modes += sign * int64(bits.OnesCount8(it.modes))
		r.maturity += sign * int64(it.maturity)
	}
	if it.catStamp.ID != "" && it.required {
		r.required[level] += sign
		if pub {
			r.covered[level] += sign
		}
	}
	if pub && it.audStamp.ID != "" {
		r.audited += sign
		if it.consistent {
			r.correctConsistent += sign * int64(it.correct)
		} else {
			r.correctInconsistent += sign * int64(it.correct)
		}
	}
}

// PlatformLevels returns how many levels, counted down from province
// without a gap, are joined to the provincial platform (0..4).
func (r *Region) PlatformLevels() int { return bits.TrailingZeros8(^r.platform.levels) }

// Score computes the region's score under method 2017 from its state and
// the counts of its rolling window, at watermark asOf, with the given
// version (Spec.Score for any method).
func (r *Region) Score(w Window, asOf time.Time, version uint64) Score {
	return method2017.Score(r, w, asOf, version)
}
