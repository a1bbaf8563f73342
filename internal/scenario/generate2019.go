package scenario

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Method2019 is the scoring method the 2019 scenario ([Generate2019]) is built for: method 2022,
// the five dimensions (在线服务成效度, 在线办理成熟度, 服务方式完备度, 服务事项覆盖度, 办事指南准确度) that the
// 2020 report scores too. Under it every final composite equals its published figure exactly.
const Method2019 = scoring.Method2022

// End2019 returns the event time of the 2019 scenario's last event, 2019-12-31T21:00:00+08:00:
// the final watermark falls on 31 December 2019 (China Standard Time) and its 30-day rolling
// window is [2019-12-02, 2020-01-01).
func End2019() time.Time { return dateIn(2019, time.December, 31, 21) }

// phases2019 are the periods of the 2019 scenario: the catalogue in the first months, the
// platforms in March and September, services published from May, guides audited from June, the
// user experience of the year and, for the final window, of December.
func phases2019() phases {
	d := func(month time.Month, day, hour int) time.Time { return dateIn(2019, month, day, hour) }
	return phases{
		platformFirst: span{d(time.March, 1, 8), d(time.March, 30, 18)},
		platformFinal: span{d(time.September, 2, 8), d(time.September, 27, 18)},
		catalogEarly:  span{d(time.January, 2, 8), d(time.January, 31, 0)},
		catalogMain:   span{d(time.February, 1, 8), d(time.April, 30, 0)},
		publishMain:   span{d(time.May, 6, 8), d(time.November, 29, 0)},
		publishFirst:  span{d(time.May, 6, 8), d(time.June, 28, 0)},
		withdrawMid:   span{d(time.July, 1, 8), d(time.August, 30, 0)},
		publishAgain:  span{d(time.September, 2, 8), d(time.November, 29, 0)},
		withdrawLate:  span{d(time.September, 2, 8), d(time.December, 13, 0)},
		auditEarly:    span{d(time.June, 3, 8), d(time.July, 31, 0)},
		auditMain:     span{d(time.August, 1, 8), d(time.December, 20, 0)},
		user:          span{d(time.December, 2, 8), End2019()},
	}
}

// userEarly2019 is when the user experience of the year before the final window happens: it
// moves the scores during the year and is out of the final window.
func userEarly2019() span {
	return span{dateIn(2019, time.January, 7, 8), dateIn(2019, time.November, 1, 0)}
}

// Report2019 returns the figures the 2019 scenario is built to: the provinces, then the key
// cities, each in the report's order.
func Report2019() []Published {
	return append(Report2019Provinces(), Report2019KeyCities()...)
}

// Generate2019 returns the 2019 scenario: the portal changes and user experience of 2019 of the
// 31 provinces and the 32 key cities the 2020 report published composites for, about 1,400 events
// a unit, in the order a producer sends them (by delivery time, which equals the event time
// except for a few events delivered late). Under [Method2019] the final composite of every unit
// equals its figure in [Report2019] exactly (to the micro-unit, so units tied in the report are
// tied here and rank by code). The Xinjiang Production and Construction Corps (660000), which the
// report gives no figure for, has no events: it ranks last among the provincial units, as every
// unit without events does. Every event is valid, every id is unique (s19-<region>-<n>) and every
// event time is in 2019. The result is the same for equal options; the seed decides the details
// and the counts behind each composite, never the composite.
func Generate2019(opts Options) []events.Event {
	opts = opts.WithDefaults()
	ph := phases2019()
	var all []pending
	for i, p := range Report2019() {
		r := rand2019(opts.Seed, p.Region)
		b := newBuilder(r, unit2019(p), ph)
		b.id = "s19"
		b.build2019(plan2019For(r, p), i == 0)
		all = append(all, b.out...)
	}
	return inDeliveryOrder(all)
}

// rand2019 returns the source of a unit's choices in the 2019 scenario of a seed.
func rand2019(seed int64, region string) *rand.Rand {
	code, _ := strconv.ParseUint(region, 10, 64)
	return rand.New(rand.NewPCG(uint64(seed), code^0x2019))
}

// unit2019 returns the profile of a unit of the 2019 scenario: every unit has an integrated
// platform (the 2020 report's 一体化 platforms); it reaches four levels above 90, three above 80,
// two below.
func unit2019(p Published) Unit {
	levels := 2
	switch {
	case p.Composite >= 90:
		levels = 4
	case p.Composite >= 80:
		levels = 3
	}
	return Unit{Region: p.Region, Target: p.Composite, PlatformLevels: levels, Integrated: true}
}

// plan2019 is what the events of a unit of the 2019 scenario realise: the counts behind its final
// score (portal counts and the counts of the final window) and how they are made up.
type plan2019 struct {
	c            scoring.Counts
	optional     [4]int // optional catalogue items per level
	optionalPub  [4]int // of them published
	inconsistent int64  // audited items whose guide is inconsistent
	completed    int64  // applications with outcome completed
}

// The sizes a plan chooses from. Each is 2^a·5^b with the powers small enough that every term of
// method 2022 (a ratio of a count to one of them, times its weight) is a decimal with at most 6
// places: then no term is rounded, the composite moves by a fixed step per count, and a composite
// with two decimals is reached exactly.
var (
	sizesRequired  = [4][]int64{{50, 64, 80}, {40, 50}, {25, 32, 40}, {16, 20, 25}}
	sizesPublished = []int64{200, 250}
	sizesAudited   = []int64{100, 125, 200, 250}
	sizesRatings   = []int64{160, 200, 250, 320, 400}
	sizesApps      = []int64{200, 250, 320, 400}
	sizesTimed     = []int64{100, 125, 160, 200}
)

// plan2019For returns the plan of a unit whose composite under Method2019 is exactly p.Composite.
// It draws a plan near the figure (dimension targets a few points around it) and then moves a few
// counts by the fixed steps of the method until the composite is exact; a draw that cannot be
// moved there is drawn again.
func plan2019For(r *rand.Rand, p Published) plan2019 {
	spec, _ := scoring.Lookup(Method2019)
	target := scoring.Micro(math.Round(p.Composite * 1e6))
	for range 200 {
		pl := drawPlan2019(r, p.Composite)
		if solve2019(spec, &pl, target) {
			return pl
		}
	}
	panic("scenario: no plan reaches " + p.Region + "'s composite") // unreachable: TestGenerate2019Seeds
}

// drawPlan2019 draws a plan whose composite is near target (0..100).
func drawPlan2019(r *rand.Rand, target float64) plan2019 {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	choose := func(list []int64) int64 { return list[r.IntN(len(list))] }
	q := clamp((target-60)/40, 0, 1)
	var pl plan2019
	c := &pl.c

	// The five dimensions a few points around the target; online effectiveness takes the rest.
	cov := clamp(target+u(0, 6), 40, 99.5)
	modes := clamp(target+u(-6, 3), 20, 99)
	guide := clamp(target+u(-5, 4), 20, 99)
	handling := clamp(target+u(-6, 5), 20, 99)
	effect := clamp((100*target-15*(cov+modes+guide)-25*handling)/30, 20, 99)

	// Catalogue and coverage.
	var req, covered [4]int64
	for l := range 4 {
		req[l] = choose(sizesRequired[l])
		covered[l] = int64(math.Round(clamp(cov/100+u(-0.03, 0.03), 0.3, 1) * float64(req[l])))
	}
	c.RequiredProvince, c.RequiredCity, c.RequiredCounty, c.RequiredTownship = req[0], req[1], req[2], req[3]
	c.CoveredProvince, c.CoveredCity, c.CoveredCounty, c.CoveredTownship = covered[0], covered[1], covered[2], covered[3]
	total := covered[0] + covered[1] + covered[2] + covered[3]
	c.PublishedItems = sizesPublished[0]
	if total+8 > c.PublishedItems {
		c.PublishedItems = sizesPublished[1]
	}
	rest := c.PublishedItems - total // optional items published, spread over the levels
	for l := range 4 {
		pl.optionalPub[l] = int(rest / int64(4-l))
		if l == 3 {
			pl.optionalPub[l] = int(rest)
		}
		rest -= int64(pl.optionalPub[l])
		pl.optional[l] = pl.optionalPub[l] + 2 + r.IntN(3)
	}
	np := float64(c.PublishedItems)
	c.ModesTotal = int64(math.Round(modes / 100 * 8 * np))

	// Guides: more audited and fewer inconsistent in better units.
	for _, n := range sizesAudited {
		if n <= c.PublishedItems && float64(n) <= (0.6+0.4*q)*np {
			c.AuditedItems = n
		}
	}
	pl.inconsistent = int64(math.Round(float64(c.AuditedItems) * (0.25 - 0.2*q)))
	perItem := guide / 100 * 8
	c.AuditCorrectInconsistent = int64(math.Round(min(8, perItem) * float64(pl.inconsistent)))
	c.AuditCorrectConsistent = min(int64(math.Round(perItem*float64(c.AuditedItems)-0.8*float64(c.AuditCorrectInconsistent))),
		8*(c.AuditedItems-pl.inconsistent))

	// Handling: the share completed online and the depth of the services.
	c.Applications = choose(sizesApps)
	na := float64(c.Applications)
	online := clamp(handling/100+u(-0.05, 0.05), 0.05, 0.95)
	c.ApplicationsOnlineCompleted = int64(math.Round(online * na))
	c.MaturityTotal = int64(math.Round(clamp((handling/100-0.4*online)/0.6, 0, 1) * 4 * np))
	failed := int64(math.Round(na * u(0.02, 0.06) * (1.5 - q)))
	pl.completed = max(c.Applications-failed, c.ApplicationsOnlineCompleted)

	// Effectiveness: satisfaction, ratings that are not bad, completed without a visit, on time.
	c.Ratings = choose(sizesRatings)
	nr := float64(c.Ratings)
	e := effect / 100
	s := clamp(e+u(-0.05, 0.03), 0.1, 0.97)
	noVisit := clamp(e+u(-0.1, 0.05), 0.05, 0.97)
	onTime := clamp(e+u(-0.04, 0.06), 0.05, 1)
	good := clamp((e-0.4*s-0.2*noVisit-0.2*onTime)/0.2, 0.6, 1)
	c.RatingsBad = int64(math.Round((1 - good) * nr))
	c.RatingSum = c.Ratings + int64(math.Round(s*4*nr))
	c.ApplicationsNoVisit = min(max(int64(math.Round(noVisit*na)), c.ApplicationsOnlineCompleted), pl.completed)
	for _, n := range sizesTimed {
		if n <= pl.completed/2 || c.ApplicationsTimed == 0 {
			c.ApplicationsTimed = n
		}
	}
	c.ApplicationsOnTime = int64(math.Round(onTime * float64(c.ApplicationsTimed)))
	pl.clampRatings()
	return pl
}

// clampRatings moves the rating sum into what bad ratings of 1 or 2 and the others of 3 to 5 can
// add up to.
func (pl *plan2019) clampRatings() {
	c := &pl.c
	good := c.Ratings - c.RatingsBad
	c.RatingSum = min(max(c.RatingSum, c.RatingsBad+3*good), 2*c.RatingsBad+5*good)
}

// valid reports whether events can realise the plan's counts.
func (pl *plan2019) valid() bool {
	c := &pl.c
	good := c.Ratings - c.RatingsBad
	return c.ModesTotal >= 0 && c.ModesTotal <= 8*c.PublishedItems &&
		c.MaturityTotal >= 0 && c.MaturityTotal <= 4*c.PublishedItems &&
		pl.inconsistent >= 0 && pl.inconsistent <= c.AuditedItems &&
		c.AuditCorrectInconsistent >= 0 && c.AuditCorrectInconsistent <= 8*pl.inconsistent &&
		c.AuditCorrectConsistent >= 0 && c.AuditCorrectConsistent <= 8*(c.AuditedItems-pl.inconsistent) &&
		c.RatingsBad >= 0 && good >= 0 && c.RatingSum >= c.RatingsBad+3*good && c.RatingSum <= 2*c.RatingsBad+5*good &&
		c.ApplicationsOnlineCompleted >= 0 && c.ApplicationsOnlineCompleted <= c.ApplicationsNoVisit &&
		c.ApplicationsNoVisit <= pl.completed && pl.completed <= c.Applications &&
		c.ApplicationsTimed <= pl.completed && c.ApplicationsOnTime >= 0 && c.ApplicationsOnTime <= c.ApplicationsTimed
}

// composite returns the plan's composite under spec.
func (pl *plan2019) composite(spec *scoring.Spec) scoring.Micro {
	_, comp := spec.Evaluate(&pl.c)
	return comp
}

// solve2019 moves counts of pl until its composite under spec is target, keeping it valid, and
// reports whether it did. Four counts move within a box of ±6 around the drawn plan and a fifth
// takes the rest, each count moving the composite by the fixed step the method gives it (the
// plan's sizes make the method exact, so the steps add up; the result is checked).
func solve2019(spec *scoring.Spec, pl *plan2019, target scoring.Micro) bool {
	if !pl.valid() {
		return false
	}
	c := &pl.c
	box := []*int64{&c.ModesTotal, &c.AuditCorrectConsistent, &c.RatingSum, &c.AuditCorrectInconsistent}
	last := []*int64{&c.ApplicationsOnTime, &c.RatingsBad, &c.ApplicationsNoVisit, &c.MaturityTotal, &c.ApplicationsOnlineCompleted}
	base := pl.composite(spec)
	step := func(v *int64) int64 {
		*v++
		s := pl.composite(spec) - base
		*v--
		return int64(s)
	}
	var boxStep [4]int64
	for i, v := range box {
		boxStep[i] = step(v)
	}
	const reach = 6
	offsets := make([]int64, 0, 2*reach+1) // 0, 1, -1, 2, -2, ...: the smallest changes first
	offsets = append(offsets, 0)
	for k := int64(1); k <= reach; k++ {
		offsets = append(offsets, k, -k)
	}
	rem := int64(target - base)
	for _, lv := range last {
		ls := step(lv)
		if ls == 0 {
			continue
		}
		for _, d0 := range offsets {
			for _, d1 := range offsets {
				for _, d2 := range offsets {
					for _, d3 := range offsets {
						left := rem - d0*boxStep[0] - d1*boxStep[1] - d2*boxStep[2] - d3*boxStep[3]
						if left%ls != 0 {
							continue
						}
						d := [5]int64{d0, d1, d2, d3, left / ls}
						if try2019(spec, pl, append(box[:4:4], lv), d, target) {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// try2019 moves the counts vars of pl by d and keeps the move when the plan stays valid and its
// composite is target.
func try2019(spec *scoring.Spec, pl *plan2019, vars []*int64, d [5]int64, target scoring.Micro) bool {
	for i, v := range vars {
		*v += d[i]
	}
	if pl.valid() && pl.composite(spec) == target {
		return true
	}
	for i, v := range vars {
		*v -= d[i]
	}
	return false
}

// build2019 emits every event of the unit so that its final counts are pl's. last puts one rating
// at the end of the scenario.
func (b *builder) build2019(pl plan2019, last bool) {
	c := &pl.c
	req := [4]int{int(c.RequiredProvince), int(c.RequiredCity), int(c.RequiredCounty), int(c.RequiredTownship)}
	covered := [4]int{int(c.CoveredProvince), int(c.CoveredCity), int(c.CoveredCounty), int(c.CoveredTownship)}
	b.catalogueOf(req, func(li int) int { return pl.optional[li] })
	b.platform()
	for li := range 4 {
		b.publishLevel(li, covered[li], pl.optionalPub[li])
	}
	b.servicesOf(int(c.ModesTotal), int(c.MaturityTotal))
	b.withdrawn()
	order := b.r.Perm(len(b.pub))[:c.AuditedItems]
	b.auditsOf(order, int(pl.inconsistent), int(c.AuditCorrectInconsistent), int(c.AuditCorrectConsistent))
	b.earlyUsers()
	b.ratings(b.ratingList(c.Ratings, c.RatingsBad, c.RatingSum), last)
	b.applications2019(&pl)
}

// ratingList returns n ratings in random order that add up to sum, bad of them 1 or 2 and the
// others 3 to 5 (sum must be reachable so).
func (b *builder) ratingList(n, bad, sum int64) []int {
	good := n - bad
	badSum := min(max((3*bad)/2, sum-5*good, bad), 2*bad, sum-3*good)
	list := append(spread(b.r, int(bad), int(badSum), 1, 2, 2), spread(b.r, int(good), int(sum-badSum), 3, 5, 3)...)
	b.r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return list
}

// applications2019 emits the applications of the final window: online ones completed entirely
// online, offline ones completed without a visit (by post) or with visits, abandoned or rejected
// ones; ApplicationsTimed of the completed ones give their time limit, ApplicationsOnTime of those
// kept it.
func (b *builder) applications2019(pl *plan2019) {
	r, c := b.r, &pl.c
	kinds := make([]int, c.Applications) // 0 online, 1 no visit, 2 visits, 3 not completed
	for k := range kinds {
		switch k64 := int64(k); {
		case k64 < c.ApplicationsOnlineCompleted:
		case k64 < c.ApplicationsNoVisit:
			kinds[k] = 1
		case k64 < pl.completed:
			kinds[k] = 2
		default:
			kinds[k] = 3
		}
	}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	var done []int // the completed ones, in order
	for k, kind := range kinds {
		if kind != 3 {
			done = append(done, k)
		}
	}
	timed := make(map[int]bool, c.ApplicationsTimed) // application -> on time
	for i, j := range r.Perm(len(done))[:c.ApplicationsTimed] {
		timed[done[j]] = int64(i) < c.ApplicationsOnTime
	}
	for k, kind := range kinds {
		it := b.pub[r.IntN(len(b.pub))].it
		d := &events.ApplicationCompletedData{ItemCode: it.code, Level: it.level, Outcome: events.Completed}
		switch kind {
		case 0:
			d.Online = true
		case 2:
			d.Visits = 1 + r.IntN(3)
		case 3:
			if r.IntN(3) == 0 {
				d.Outcome, d.Visits = events.Rejected, r.IntN(2)
			} else {
				d.Outcome, d.Online = events.Abandoned, r.IntN(2) == 0
			}
		}
		if onTime, ok := timed[k]; ok {
			d.Timed, d.PromisedDays = true, 1+r.IntN(20)
			d.TookDays = r.IntN(d.PromisedDays + 1)
			if !onTime {
				d.TookDays = d.PromisedDays + 1 + r.IntN(10)
			}
		}
		b.emit(b.ph.user.at(r), b.userDelay(), d)
	}
}

// earlyUsers emits the ratings and applications of the year before the final window, which the
// final scores no longer count.
func (b *builder) earlyUsers() {
	r := b.r
	sp := userEarly2019()
	channels := events.Channels()
	for range 80 + r.IntN(60) {
		rating := 3 + r.IntN(3)
		if r.IntN(8) == 0 {
			rating = 1 + r.IntN(2)
		}
		b.emit(sp.at(r), 0, &events.FeedbackRatedData{Rating: rating, Channel: channels[r.IntN(len(channels))]})
	}
	for range 80 + r.IntN(60) {
		it := b.pub[r.IntN(len(b.pub))].it
		d := &events.ApplicationCompletedData{ItemCode: it.code, Level: it.level, Outcome: events.Completed, Online: r.IntN(3) != 0}
		if !d.Online {
			d.Visits = r.IntN(3)
		}
		b.emit(sp.at(r), 0, d)
	}
}
