package scenario

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// StreamOptions configures [Stream]. The zero value means the defaults.
type StreamOptions struct {
	// Seed decides every choice of the stream. 0 means [DefaultSeed].
	Seed int64
	// Events is how many events the stream yields. 0 means 200,000.
	Events int
	// Start is the event time of the first event. The zero value means
	// 2016-01-01T00:00:00+08:00.
	Start time.Time
	// Step is how far event time advances per event. 0 means 100ms, so
	// 200,000 events span about 5.6 hours.
	Step time.Duration
	// Jitter is how far an event time may lie before its place in the
	// stream (out of order). 0 means one minute; a negative value means
	// none.
	Jitter time.Duration
	// IDPrefix starts every id ("<prefix>-<n>"). "" means "syn".
	IDPrefix string
	// Lifecycle adds the lifecycle of reviews (好差评) to the mix: about 8% of the events become
	// appeals, their decisions (upheld or rejected), and rectifications opened and closed, each
	// naming one of the last 64 reviews; and every 97th hour (UTC+8) is a burst in which every
	// review is a bad one of unit 110000, whose reviews are good otherwise: each burst raises an
	// alert there, which the next hour ends. The number of events
	// stays Events. False gives the stream of earlier versions, event for event.
	Lifecycle bool
	// AllUnits spreads the events evenly over every unit of the hierarchy
	// (events.Units) instead of the 32 provincial units.
	AllUnits bool
}

// burstRegion is the unit whose reviews a burst hour of a stream with Lifecycle sends.
const burstRegion = "110000"

// burstHour reports whether t is in a burst hour of a stream with Lifecycle.
func burstHour(t time.Time) bool {
	h := (t.Unix() + 8*3600) / 3600
	return h%97 == 40
}

// lifecycleEvent returns the payload of a lifecycle event naming ref, a review of its region.
func lifecycleEvent(r *rand.Rand, ref string) events.Payload {
	switch r.IntN(6) {
	case 0:
		return &events.FeedbackAppealedData{ReviewID: ref, Reason: "申诉"}
	case 1, 2:
		d := events.RejectedAppeal
		if r.IntN(2) == 0 {
			d = events.Upheld
		}
		return &events.FeedbackAppealDecidedData{ReviewID: ref, Decision: d}
	case 3, 4:
		return &events.RectificationOpenedData{ReviewID: ref, DeadlineDays: 1 + r.IntN(7)}
	}
	return &events.RectificationClosedData{ReviewID: ref, Resolved: r.IntN(4) > 0, Rating: r.IntN(6)}
}

// WithDefaults returns o with every zero field set to its default.
func (o StreamOptions) WithDefaults() StreamOptions {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Events == 0 {
		o.Events = 200_000
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2016, time.January, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*60*60))
	}
	if o.Step == 0 {
		o.Step = 100 * time.Millisecond
	}
	if o.Jitter == 0 {
		o.Jitter = time.Minute
	}
	if o.IDPrefix == "" {
		o.IDPrefix = "syn"
	}
	return o
}

// streamItems is how many item codes each level of each region uses.
const streamItems = 256

// Stream returns a synthetic stream of valid events for benchmarks and load
// tests: all seven types mixed (40% ratings, 30% applications, the rest
// portal changes) over all 32 regions (or every unit, with AllUnits), event
// time increasing by Step with up to Jitter out of order. Equal options give equal streams. Each yielded
// event is newly allocated and belongs to the caller.
func Stream(opts StreamOptions) iter.Seq[*events.Event] {
	opts = opts.WithDefaults()
	return func(yield func(*events.Event) bool) {
		r := rand.New(rand.NewPCG(uint64(opts.Seed), 0x9e3779b97f4a7c15))
		var regions []string
		if opts.AllUnits {
			for _, u := range events.Units() {
				regions = append(regions, u.Code)
			}
		} else {
			for _, reg := range events.Regions() {
				regions = append(regions, reg.Code)
			}
		}
		levels := events.Levels()
		var codes [4][streamItems]string
		prefix := [4]string{"prov", "city", "cnty", "town"}
		for li := range codes {
			for k := range codes[li] {
				codes[li][k] = fmt.Sprintf("%s-%04d", prefix[li], k+1)
			}
		}
		names, depts := serviceNames(), departments()
		modes := events.Modes()
		channels := events.Channels()
		base := opts.Start.UTC()
		type review struct{ region, id string }
		var recent []review // with Lifecycle: the last 64 reviews
		for i := range opts.Events {
			t := base.Add(time.Duration(i) * opts.Step)
			if opts.Jitter > 0 {
				t = t.Add(-time.Duration(r.Int64N(int64(opts.Jitter))))
			}
			if opts.Lifecycle && len(recent) > 0 && r.IntN(100) < 8 {
				ref := recent[r.IntN(len(recent))]
				ev := &events.Event{ID: opts.IDPrefix + "-" + strconv.Itoa(i+1), Region: ref.region, Time: t,
					Source: "synthetic", Data: lifecycleEvent(r, ref.id)}
				ev.Type = ev.Data.EventType()
				if !yield(ev) {
					return
				}
				continue
			}
			li := r.IntN(4)
			lvl, code := levels[li], codes[li][r.IntN(streamItems)]
			ev := &events.Event{
				ID:     opts.IDPrefix + "-" + strconv.Itoa(i+1),
				Region: regions[r.IntN(len(regions))],
				Time:   t,
				Source: "synthetic",
			}
			switch x := r.IntN(100); {
			case x < 40:
				d := &events.FeedbackRatedData{Rating: 1 + r.IntN(5), Channel: channels[r.IntN(len(channels))]}
				if x < 15 {
					d.ItemCode, d.Level = code, lvl
				}
				ev.Data = d
			case x < 70:
				d := &events.ApplicationCompletedData{ItemCode: code, Level: lvl, Outcome: events.Completed, Online: r.IntN(2) == 0}
				switch r.IntN(5) {
				case 0:
					d.Outcome = events.Abandoned
				case 1:
					d.Outcome = events.Rejected
				}
				if !d.Online {
					d.Visits = 1 + r.IntN(3)
				}
				ev.Data = d
			case x < 82:
				mask := r.IntN(256)
				var list []events.Mode
				for k, m := range modes {
					if mask&(1<<k) != 0 {
						list = append(list, m)
					}
				}
				ev.Data = &events.ServicePublishedData{ItemCode: code, Level: lvl,
					Name: names[r.IntN(len(names))], Department: depts[r.IntN(len(depts))],
					Modes: list, Maturity: r.IntN(5)}
			case x < 90:
				d := &events.GuideAuditedData{ItemCode: code, Level: lvl, Consistent: r.IntN(5) != 0}
				for k := range d.Elements {
					switch r.IntN(6) {
					case 4:
						d.Elements[k] = events.Missing
					case 5:
						d.Elements[k] = events.Incorrect
					default:
						d.Elements[k] = events.Correct
					}
				}
				ev.Data = d
			case x < 95:
				ev.Data = &events.CatalogItemData{ItemCode: code, Level: lvl, Required: r.IntN(4) != 0}
			case x < 99:
				ev.Data = &events.ServiceWithdrawnData{ItemCode: code, Level: lvl}
			default:
				depth := r.IntN(5)
				ev.Data = &events.PlatformUpdatedData{Integrated: depth > 0 && r.IntN(4) != 0,
					Levels: append([]events.Level(nil), levels[:depth]...), Portals: 1 + r.IntN(50)}
			}
			ev.Type = ev.Data.EventType()
			if d, ok := ev.Data.(*events.FeedbackRatedData); ok && opts.Lifecycle {
				switch {
				case burstHour(t):
					ev.Region, d.Rating = burstRegion, 1
				case ev.Region == burstRegion:
					d.Rating = 4 + d.Rating%2 // the unit's reviews are good outside its bursts
				}
				if len(recent) == 64 {
					recent = append(recent[:0], recent[1:]...)
				}
				recent = append(recent, review{ev.Region, ev.ID})
			}
			if !yield(ev) {
				return
			}
		}
	}
}
