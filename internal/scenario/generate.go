package scenario

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// DefaultSeed is the seed of the sample scenario when [Options.Seed] is 0.
const DefaultSeed int64 = 2017

// Options configures [Generate]. The zero value is the sample scenario.
type Options struct {
	// Seed decides the scenario's details: which items are covered, audited
	// or withdrawn, the modes and guide elements of each item, the event
	// times. It never changes the counts, so the final ranking and platform
	// facts are the same for every seed. 0 means [DefaultSeed].
	Seed int64
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	return o
}

// date returns the instant of a day and hour of 2016 in China Standard Time
// (UTC+8), the time zone of every scenario event.
func date(month time.Month, day, hour int) time.Time { return dateIn(2016, month, day, hour) }

// dateIn returns the instant of a day and hour of a year in China Standard
// Time.
func dateIn(year int, month time.Month, day, hour int) time.Time {
	return time.Date(year, month, day, hour, 0, 0, 0, time.FixedZone("CST", 8*60*60))
}

// End returns the event time of the scenario's last event,
// 2016-12-31T21:00:00+08:00. The final watermark therefore falls on
// 31 December (China Standard Time) and its 30-day rolling window is
// [2016-12-02, 2017-01-01).
func End() time.Time { return date(time.December, 31, 21) }

// phases are the periods of the scenario. Every event time lies in 2016.
// Ratings and applications lie inside the final rolling window; portal
// changes are spread over October to December.
type phases struct {
	platformFirst, platformFinal span
	catalogEarly, catalogMain    span
	publishMain                  span
	publishFirst, withdrawMid    span
	publishAgain, withdrawLate   span
	auditEarly, auditMain        span
	user                         span
}

func scenarioPhases() phases {
	return phases{
		platformFirst: span{date(time.October, 1, 8), date(time.October, 9, 18)},
		platformFinal: span{date(time.December, 1, 8), date(time.December, 16, 18)},
		catalogEarly:  span{date(time.October, 1, 8), date(time.October, 10, 0)},
		catalogMain:   span{date(time.October, 10, 8), date(time.November, 1, 0)},
		publishMain:   span{date(time.November, 1, 8), date(time.December, 20, 0)},
		publishFirst:  span{date(time.November, 1, 8), date(time.November, 15, 0)},
		withdrawMid:   span{date(time.November, 16, 8), date(time.December, 1, 0)},
		publishAgain:  span{date(time.December, 1, 8), date(time.December, 20, 0)},
		withdrawLate:  span{date(time.December, 1, 8), date(time.December, 26, 0)},
		auditEarly:    span{date(time.November, 5, 8), date(time.November, 20, 0)},
		auditMain:     span{date(time.November, 20, 8), date(time.December, 28, 0)},
		user:          span{date(time.December, 2, 8), End()},
	}
}

// span is a half-open interval of event time.
type span struct{ from, to time.Time }

// at returns a random instant of s at millisecond precision.
func (s span) at(r *rand.Rand) time.Time {
	ms := s.to.Sub(s.from).Milliseconds()
	return s.from.Add(time.Duration(r.Int64N(ms)) * time.Millisecond)
}

// Generate returns the sample scenario: about 25,000 events for all 32 units,
// in the order a producer would send them (by delivery time, which equals
// the event time except for a few events delivered late). Every event is
// valid, every id is unique (scn-<region>-<n>) and every event time is in
// 2016. The result is the same for equal options.
func Generate(opts Options) []events.Event {
	opts = opts.WithDefaults()
	ph := scenarioPhases()
	var all []pending
	for i, u := range Units() {
		code, _ := strconv.ParseUint(u.Region, 10, 64)
		r := rand.New(rand.NewPCG(uint64(opts.Seed), code))
		b := newBuilder(r, u, ph)
		b.build(i == 0)
		all = append(all, b.out...)
	}
	return inDeliveryOrder(all)
}

// inDeliveryOrder returns the events of all in the order a producer sends
// them: by delivery time, then by id.
func inDeliveryOrder(all []pending) []events.Event {
	slices.SortFunc(all, func(a, b pending) int {
		if c := a.deliver.Compare(b.deliver); c != 0 {
			return c
		}
		return cmp.Compare(a.ev.ID, b.ev.ID)
	})
	out := make([]events.Event, len(all))
	for i := range all {
		out[i] = all[i].ev
	}
	return out
}

// pending is a generated event and the time a producer delivers it.
type pending struct {
	ev      events.Event
	deliver time.Time
}
