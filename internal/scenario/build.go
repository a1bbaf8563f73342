package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// item is one catalogue item of a unit.
type item struct {
	level events.Level
	code  string
	name  string
	dept  string
}

// service is the final published state of an item.
type service struct {
	it       item
	modes    int
	maturity int
}

// builder generates the events of one unit.
type builder struct {
	r   *rand.Rand
	id  string // the prefix of every event id: "scn"
	u   Unit
	ph  phases
	q   float64 // the unit's quality, 0..1, from its target
	n   int     // events emitted so far
	out []pending

	required [4][]item // required items per level
	optional [4][]item // catalogue items that are not required
	pub      []service // the items whose final state is published
	spare    []item    // required items that end unpublished
}

func newBuilder(r *rand.Rand, u Unit, ph phases) *builder {
	return &builder{r: r, id: "scn", u: u, ph: ph, q: clamp((u.Target-40)/55, 0, 1)}
}

// emit appends an event at time t, delivered delay after it.
func (b *builder) emit(t time.Time, delay time.Duration, data events.Payload) {
	b.n++
	typ := data.EventType()
	b.out = append(b.out, pending{
		ev: events.Event{
			ID:     b.id + "-" + b.u.Region + "-" + strconv.Itoa(b.n),
			Type:   typ,
			Region: b.u.Region,
			Time:   t.UTC(),
			Source: "scenario/" + string(typ.Family()),
			Data:   data,
		},
		deliver: t.Add(delay),
	})
}

// stale returns the delay that delivers an event of time old some hours
// after an event of time newer: a late report of an older state, which the
// newer state must outlive.
func (b *builder) stale(old, newer time.Time) time.Duration {
	return newer.Sub(old) + time.Duration(1+b.r.IntN(48))*time.Hour
}

// build generates every event of the unit. last puts one user-experience
// event at [End], the scenario's largest event time.
func (b *builder) build(last bool) {
	b.catalogue()
	b.platform()
	coverage := b.publish()
	sm, ga, om := b.targets(coverage)
	ratings, apps, done, s, o := b.userCounts(om)
	d := clamp((om/100-0.3*o-0.2*s)/0.5, 0, 1)
	b.services(sm, d)
	b.withdrawn()
	b.audits(ga)
	b.ratings(ratings, last)
	b.applications(apps, done)
}

// catalogue emits the standard catalogue: required and optional items per
// level, a few of them reclassified during October.
func (b *builder) catalogue() {
	r := b.r
	counts := [4]int{56 + r.IntN(25), 36 + r.IntN(17), 26 + r.IntN(11), 14 + r.IntN(9)}
	b.catalogueOf(counts, func(int) int { return 3 + r.IntN(4) })
}

// catalogueOf emits a catalogue of required[l] required items per level and
// optional(l) optional ones (asked once per level, after its required items
// are named).
func (b *builder) catalogueOf(required [4]int, optional func(li int) int) {
	r := b.r
	for li, lvl := range events.Levels() {
		for k := range required[li] {
			b.required[li] = append(b.required[li], b.newItem(lvl, k))
		}
		for k := range optional(li) {
			b.optional[li] = append(b.optional[li], b.newItem(lvl, required[li]+k))
		}
	}
	for li := range 4 {
		for _, it := range b.required[li] {
			b.emit(b.ph.catalogMain.at(r), 0, &events.CatalogItemData{ItemCode: it.code, Level: it.level, Required: true})
		}
		for _, it := range b.optional[li] {
			b.emit(b.ph.catalogMain.at(r), 0, &events.CatalogItemData{ItemCode: it.code, Level: it.level, Required: false})
		}
	}
	// Reclassifications: an earlier entry that the October catalogue
	// replaced; one of them is reported late.
	for k := range 5 {
		li := r.IntN(4)
		list, required := b.required[li], false
		if k >= 3 {
			list, required = b.optional[li], true
		}
		it := list[r.IntN(len(list))]
		t := b.ph.catalogEarly.at(r)
		var delay time.Duration
		if k == 0 {
			delay = b.stale(t, b.ph.catalogMain.to)
		}
		b.emit(t, delay, &events.CatalogItemData{ItemCode: it.code, Level: it.level, Required: required})
	}
}

// newItem names the k-th item (0-based) of a level.
func (b *builder) newItem(lvl events.Level, k int) item {
	prefix := [4]string{"prov", "city", "cnty", "town"}[lvl.Index()]
	names := serviceNames()
	depts := departments()
	return item{
		level: lvl,
		code:  fmt.Sprintf("%s-%04d", prefix, k+1),
		name:  names[b.r.IntN(len(names))],
		dept:  depts[b.r.IntN(len(depts))],
	}
}

// platform emits the unit's platform: an October state and, for units with
// a platform, the December state that replaces it.
func (b *builder) platform() {
	r, u := b.r, b.u
	if u.PlatformLevels == 0 {
		b.emit(b.ph.platformFirst.at(r), 0, &events.PlatformUpdatedData{Integrated: false, Portals: 15 + r.IntN(40)})
		return
	}
	first := &events.PlatformUpdatedData{
		Integrated: u.Integrated && u.PlatformLevels >= 3,
		Levels:     slices.Clone(events.Levels()[:max(1, u.PlatformLevels-1)]),
		Portals:    5 + r.IntN(20),
	}
	final := &events.PlatformUpdatedData{
		Integrated: u.Integrated,
		Levels:     slices.Clone(events.Levels()[:u.PlatformLevels]),
		Portals:    8 + r.IntN(15),
	}
	if u.Integrated {
		final.Portals = 1 + r.IntN(3)
	}
	if r.IntN(3) == 0 { // the list's order does not matter
		r.Shuffle(len(final.Levels), func(i, j int) { final.Levels[i], final.Levels[j] = final.Levels[j], final.Levels[i] })
	}
	t1, t2 := b.ph.platformFirst.at(r), b.ph.platformFinal.at(r)
	var delay time.Duration
	if r.IntN(4) == 0 {
		delay = b.stale(t1, t2)
	}
	b.emit(t1, delay, first)
	b.emit(t2, 0, final)
}

// publish chooses the items whose final state is published and returns the
// unit's item coverage (0..100, rounded as the method rounds it). Levels
// that the platform reaches are well covered; the others much less.
func (b *builder) publish() float64 {
	weights := [4]float64{0.4, 0.3, 0.2, 0.1} // province, city, county, township
	coverage := 0.0
	for li := range 4 {
		req := b.required[li]
		frac := 0.15 + 0.35*b.q
		if li < b.u.PlatformLevels {
			frac = 0.75 + 0.23*b.q
		}
		k := min(max(int(math.Round(frac*float64(len(req)))), 1), len(req))
		b.publishLevel(li, k, int(math.Round(0.4*float64(len(b.optional[li])))))
		coverage += weights[li] * float64(k) / float64(len(req))
	}
	return round6(100 * coverage)
}

// publishLevel chooses k required and opt optional items of level index li
// whose final state is published; the other required items are spare.
func (b *builder) publishLevel(li, k, opt int) {
	req := b.required[li]
	perm := b.r.Perm(len(req))
	for _, i := range perm[:k] {
		b.pub = append(b.pub, service{it: req[i]})
	}
	for _, i := range perm[k:] {
		b.spare = append(b.spare, req[i])
	}
	optional := b.optional[li]
	for _, i := range b.r.Perm(len(optional))[:opt] {
		b.pub = append(b.pub, service{it: optional[i]})
	}
}

// targets splits the rest of the unit's target composite between service
// modes, guide accuracy and online maturity, a few points apart.
func (b *builder) targets(coverage float64) (sm, ga, om float64) {
	rest := 4*b.u.Target - coverage
	third := rest / 3
	sm = clamp(third+b.uniform(-4, 4), 3, 99)
	ga = clamp(third+b.uniform(-4, 4), 3, 99)
	om = clamp(rest-sm-ga, 3, 99)
	return sm, ga, om
}

// userCounts chooses the ratings and the number of applications (done of
// them completed online) the unit receives in the final window, near the
// online-maturity target om, and returns the realised satisfaction
// s = (mean rating - 1) / 4 and online completion rate o.
func (b *builder) userCounts(om float64) (ratings []int, apps, done int, s, o float64) {
	r := b.r
	nr := 110 + r.IntN(80) + int(80*b.q)
	na := 130 + r.IntN(100) + int(100*b.q)
	m := om / 100
	sTarget := clamp(m+b.uniform(-0.1, 0.1), 0.05, 0.95)
	sum := int(math.Round(float64(nr) * (1 + 4*sTarget)))
	ratings = spread(r, nr, sum, 1, 5, 3)
	s = (float64(sum)/float64(nr) - 1) / 4
	oTarget := clamp(m+b.uniform(-0.08, 0.08), 0.05, 0.97)
	k := int(math.Round(oTarget * float64(na)))
	return ratings, na, k, s, float64(k) / float64(na)
}

// services emits the published items so that the mean number of modes is
// sm% of the checklist and the mean maturity is d of the top level. Some
// items are withdrawn and republished; some older reports arrive late.
func (b *builder) services(sm, d float64) {
	n := float64(len(b.pub))
	b.servicesOf(int(math.Round(sm/100*8*n)), int(math.Round(d*4*n)))
}

// servicesOf emits the published items with modes modes and maturity
// levels in all, as services does.
func (b *builder) servicesOf(modesTotal, maturityTotal int) {
	r := b.r
	n := len(b.pub)
	modes := spread(r, n, modesTotal, 0, 8, 2)
	maturity := spread(r, n, maturityTotal, 0, 4, 2)
	// Richer services tend to be deeper: pair the sorted counts.
	slices.Sort(modes)
	slices.Sort(maturity)
	for i, j := range r.Perm(n) {
		b.pub[j].modes, b.pub[j].maturity = modes[i], maturity[i]
	}
	for _, s := range b.pub {
		switch x := r.Float64(); {
		case x < 0.08: // withdrawn in November, republished in December
			t1, t2, t3 := b.ph.publishFirst.at(r), b.ph.withdrawMid.at(r), b.ph.publishAgain.at(r)
			b.emit(t1, 0, b.published(s.it, max(0, s.modes-1-r.IntN(2)), max(0, s.maturity-1)))
			var delay time.Duration
			if r.IntN(3) == 0 {
				delay = b.stale(t2, t3)
			}
			b.emit(t2, delay, &events.ServiceWithdrawnData{ItemCode: s.it.code, Level: s.it.level})
			b.emit(t3, 0, b.published(s.it, s.modes, s.maturity))
		case x < 0.10: // an older probe result that arrives after the newer one
			t := b.ph.publishMain.at(r)
			old := t.Add(-time.Duration(1+r.IntN(240)) * time.Hour)
			b.emit(t, 0, b.published(s.it, s.modes, s.maturity))
			b.emit(old, b.stale(old, t), b.published(s.it, r.IntN(9), r.IntN(5)))
		default:
			b.emit(b.ph.publishMain.at(r), 0, b.published(s.it, s.modes, s.maturity))
		}
	}
}

// published returns a service.published payload with the first modes of a
// random order of the checklist.
func (b *builder) published(it item, modes, maturity int) *events.ServicePublishedData {
	all := events.Modes()
	var list []events.Mode
	for _, i := range b.r.Perm(len(all))[:modes] {
		list = append(list, all[i])
	}
	slices.SortFunc(list, func(x, y events.Mode) int { return x.Index() - y.Index() })
	return &events.ServicePublishedData{
		ItemCode: it.code, Level: it.level, Name: it.name, Department: it.dept,
		Modes: list, Maturity: maturity,
	}
}

// withdrawn emits a few required items that were published in November and
// withdrawn in December, one of them with a guide audit that no longer counts.
func (b *builder) withdrawn() {
	r := b.r
	n := min(2+r.IntN(4), len(b.spare))
	for k, i := range r.Perm(len(b.spare))[:n] {
		it := b.spare[i]
		b.emit(b.ph.publishFirst.at(r), 0, b.published(it, r.IntN(9), r.IntN(5)))
		b.emit(b.ph.withdrawLate.at(r), 0, &events.ServiceWithdrawnData{ItemCode: it.code, Level: it.level})
		if k == 0 {
			b.emit(b.ph.auditMain.at(r), 0, b.audit(it, r.IntN(9), true))
		}
	}
}

// audits emits the guide audits of most published items so that their mean
// accuracy is ga%. Some guides are inconsistent across channels (their
// accuracy counts 0.8 times); some items were audited before.
func (b *builder) audits(ga float64) {
	n := int(math.Round((0.6 + 0.35*b.q) * float64(len(b.pub))))
	order := b.r.Perm(len(b.pub))[:n]
	inconsistent := int(math.Round(float64(n) * (0.25 - 0.2*b.q)))
	perItem := ga / 100 * 8 // correct elements per audited item, consistent equivalent
	incSum := int(math.Round(min(8, perItem) * float64(inconsistent)))
	consSum := int(math.Round(perItem*float64(n) - 0.8*float64(incSum)))
	b.auditsOf(order, inconsistent, incSum, consSum)
}

// auditsOf emits the guide audits of the published items b.pub[order[k]]:
// the first inconsistent of them with inconsistent guides and incSum
// correct elements in all, the others with consistent guides and consSum.
func (b *builder) auditsOf(order []int, inconsistent, incSum, consSum int) {
	r := b.r
	n := len(order)
	inc := spread(r, inconsistent, incSum, 0, 8, 2)
	cons := spread(r, n-inconsistent, consSum, 0, 8, 2)
	for k, j := range order {
		it := b.pub[j].it
		correct, consistent := 0, true
		if k < inconsistent {
			correct, consistent = inc[k], false
		} else {
			correct = cons[k-inconsistent]
		}
		t := b.ph.auditMain.at(r)
		b.emit(t, 0, b.audit(it, correct, consistent))
		if r.Float64() < 0.12 { // an earlier audit, superseded
			old := b.ph.auditEarly.at(r)
			var delay time.Duration
			if r.IntN(8) == 0 {
				delay = b.stale(old, t)
			}
			b.emit(old, delay, b.audit(it, r.IntN(9), r.IntN(4) != 0))
		}
	}
}

// audit returns a guide.audited payload with correct random elements
// correct and the others missing or incorrect.
func (b *builder) audit(it item, correct int, consistent bool) *events.GuideAuditedData {
	d := &events.GuideAuditedData{ItemCode: it.code, Level: it.level, Consistent: consistent}
	for k, i := range b.r.Perm(8) {
		switch {
		case k < correct:
			d.Elements[i] = events.Correct
		case b.r.IntN(2) == 0:
			d.Elements[i] = events.Missing
		default:
			d.Elements[i] = events.Incorrect
		}
	}
	return d
}

// userDelay returns the delivery delay of a user-experience event: zero for
// most, minutes to hours for a few (well inside the allowed lateness).
func (b *builder) userDelay() time.Duration {
	if b.r.IntN(200) != 0 {
		return 0
	}
	return time.Duration(5+b.r.IntN(355)) * time.Minute
}

// ratings emits the feedback of the final window with the given ratings.
func (b *builder) ratings(ratings []int, last bool) {
	r := b.r
	channels := []events.Channel{events.ChannelWeb, events.ChannelMobile, events.ChannelHall, events.ChannelHotline, events.ChannelKiosk}
	weights := []int{35, 30, 20, 10, 5}
	for k, rating := range ratings {
		d := &events.FeedbackRatedData{Rating: rating, Channel: channels[pick(r, weights)]}
		if r.IntN(5) < 2 {
			it := b.pub[r.IntN(len(b.pub))].it
			d.ItemCode, d.Level = it.code, it.level
		}
		t := b.ph.user.at(r)
		if last && k == 0 {
			t = b.ph.user.to
		}
		b.emit(t, b.userDelay(), d)
	}
}

// applications emits n applications of the final window, done of them
// completed entirely online.
func (b *builder) applications(n, done int) {
	r := b.r
	for k := range n {
		it := b.pub[r.IntN(len(b.pub))].it
		if r.IntN(7) == 0 { // any catalogue item counts
			li := r.IntN(4)
			it = b.required[li][r.IntN(len(b.required[li]))]
		}
		d := &events.ApplicationCompletedData{ItemCode: it.code, Level: it.level, Outcome: events.Completed, Online: true}
		if k >= done {
			switch x := r.IntN(10); {
			case x < 5:
				d.Online, d.Visits = false, 1+r.IntN(3)
			case x < 8:
				d.Outcome, d.Online, d.Visits = events.Abandoned, r.IntN(2) == 0, r.IntN(2)
			default:
				d.Outcome, d.Online, d.Visits = events.Rejected, false, r.IntN(3)
			}
		}
		b.emit(b.ph.user.at(r), b.userDelay(), d)
	}
}

// pick returns an index chosen with the given integer weights.
func pick(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// spread returns n integers in [lo, hi] that add up to sum (clamped to what
// is reachable), starting level and scattered by random unit transfers.
func spread(r *rand.Rand, n, sum, lo, hi, rounds int) []int {
	if n <= 0 {
		return nil
	}
	sum = min(max(sum, lo*n), hi*n)
	a := make([]int, n)
	base, rem := sum/n, sum%n
	for i := range a {
		a[i] = base
	}
	for _, i := range r.Perm(n)[:rem] {
		a[i]++
	}
	for range rounds * n {
		i, j := r.IntN(n), r.IntN(n)
		if i != j && a[i] < hi && a[j] > lo {
			a[i]++
			a[j]--
		}
	}
	return a
}

// uniform returns a random number in [lo, hi).
func (b *builder) uniform(lo, hi float64) float64 { return lo + (hi-lo)*b.r.Float64() }

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// round6 rounds x to 6 decimal places, half away from zero, as the method
// rounds every sub-index.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
