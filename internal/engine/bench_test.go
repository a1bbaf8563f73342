package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/benchkit"
	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/pkg/windows"
)

// benchStream generates a realistic mix over 32 regions with about 200
// items each: 45% feedback, 35% applications, 20% portal changes, event
// times advancing about one second per event with up to 10 minutes of
// disorder.
type benchStream struct {
	rng     *rand.Rand
	regions []string
	codes   []string
	now     time.Time
	n       int
}

func newBenchStream(regions []string) *benchStream {
	s := &benchStream{rng: rand.New(rand.NewPCG(21, 22)), regions: regions, now: base}
	for i := 0; i < 200; i++ {
		s.codes = append(s.codes, fmt.Sprintf("item-%03d", i))
	}
	return s
}

func (s *benchStream) next() *events.Event {
	s.n++
	s.now = s.now.Add(time.Duration(s.rng.IntN(2000)) * time.Millisecond)
	t := s.now.Add(-time.Duration(s.rng.IntN(600)) * time.Second)
	region := s.regions[s.rng.IntN(len(s.regions))]
	code := s.codes[s.rng.IntN(len(s.codes))]
	lv := events.Levels()[s.rng.IntN(4)]
	var d events.Payload
	switch k := s.rng.IntN(100); {
	case k < 45:
		d = &events.FeedbackRatedData{Rating: 1 + s.rng.IntN(5), Channel: events.ChannelWeb}
	case k < 80:
		d = &events.ApplicationCompletedData{ItemCode: code, Level: lv, Outcome: events.Outcomes()[s.rng.IntN(3)], Online: s.rng.IntN(2) == 0}
	case k < 88:
		d = &events.ServicePublishedData{ItemCode: code, Level: lv, Name: "n", Department: "d",
			Modes: events.Modes()[:s.rng.IntN(9)], Maturity: s.rng.IntN(5)}
	case k < 90:
		d = &events.ServiceWithdrawnData{ItemCode: code, Level: lv}
	case k < 96:
		g := &events.GuideAuditedData{ItemCode: code, Level: lv, Consistent: s.rng.IntN(4) > 0}
		for j := range g.Elements {
			g.Elements[j] = events.Verdicts()[s.rng.IntN(3)]
		}
		d = g
	case k < 99:
		d = &events.CatalogItemData{ItemCode: code, Level: lv, Required: s.rng.IntN(3) > 0}
	default:
		d = &events.PlatformUpdatedData{Integrated: true, Levels: events.Levels()[:s.rng.IntN(5)], Portals: 10}
	}
	return &events.Event{ID: fmt.Sprintf("ev-%09d", s.n), Type: d.EventType(), Region: region, Time: t.UTC(), Source: "bench", Data: d}
}

// BenchmarkApply measures Apply on a mixed stream over the 32 units after
// their portals were filled with 200 items each; the events are generated
// outside the timed region in chunks.
func BenchmarkApply(b *testing.B) { benchApply(b, Config{}) }

// BenchmarkApplyExplain is BenchmarkApply with Config.Explain, as the
// aggregator runs by default: Drain also returns the changes and causes.
func BenchmarkApplyExplain(b *testing.B) { benchApply(b, Config{Explain: true}) }

func benchApply(b *testing.B, cfg Config) {
	e := mustNew(b, cfg)
	s := newBenchStream(e.Config().Regions)
	seq := uint64(0)
	for _, region := range s.regions {
		for _, code := range s.codes {
			lv := events.Levels()[s.rng.IntN(4)]
			for _, d := range []events.Payload{
				&events.CatalogItemData{ItemCode: code, Level: lv, Required: true},
				&events.ServicePublishedData{ItemCode: code, Level: lv, Name: "n", Department: "d", Modes: events.Modes()[:5], Maturity: 3},
				&events.GuideAuditedData{ItemCode: code, Level: lv, Consistent: true},
			} {
				seq++
				e.Apply(seq, &events.Event{ID: fmt.Sprintf("init-%d", seq), Type: d.EventType(), Region: region, Time: s.now, Source: "bench", Data: d})
			}
		}
	}
	e.Drain()
	const chunk = 1 << 14
	buf := make([]*events.Event, chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(chunk, b.N-done)
		for i := range n {
			buf[i] = s.next()
		}
		e.Drain()
		b.StartTimer()
		for _, x := range buf[:n] {
			seq++
			e.Apply(seq, x)
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// heapBytes returns the live heap after a full collection.
func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkFloodOneUnit floods one unit as a hostile producer within its
// scope would: service.published events with new 12-character item codes
// at every level until the unit holds DefaultMaxItemsPerLevel items at each
// (and a quarter more, which are refused over the limit), then
// feedback.rated events with new ids inside the allowed lateness, which the
// engine must remember. It reports the live heap per item held and per id
// remembered (B/item, B/id), the items one unit can hold (items/unit) and
// the events applied per second.
func BenchmarkFloodOneUnit(b *testing.B) {
	const (
		perLevel = DefaultMaxItemsPerLevel
		extra    = perLevel / 4
		ids      = 100000
	)
	levels := events.Levels()
	var itemBytes, idBytes float64
	applied := 0
	b.ReportAllocs()
	for b.Loop() {
		before := heapBytes()
		e := mustNew(b, Config{})
		seq := uint64(0)
		t := base.UTC()
		for i := range perLevel + extra {
			for _, lv := range levels {
				seq++
				code := fmt.Sprintf("flood-%06d", i)
				r := e.Apply(seq, &events.Event{ID: fmt.Sprintf("f-%s-%d", code, lv.Index()), Type: events.ServicePublished,
					Region: "330000", Time: t, Source: "bench", Data: &events.ServicePublishedData{ItemCode: code, Level: lv,
						Name: "n", Department: "d", Modes: events.Modes()[:3], Maturity: 2}})
				if want := i < perLevel; (r.Outcome == Applied) != want {
					b.Fatalf("item %d at %s: %v, want applied %v", i, lv, r.Outcome, want)
				}
			}
		}
		e.Drain()
		withItems := heapBytes()
		for i := range ids {
			seq++
			r := e.Apply(seq, &events.Event{ID: fmt.Sprintf("flood-rating-%09d", i), Type: events.FeedbackRated,
				Region: "330000", Time: t.Add(time.Duration(i) * time.Millisecond), Source: "bench",
				Data: &events.FeedbackRatedData{Rating: 5, Channel: events.ChannelWeb}})
			if r.Outcome != Applied {
				b.Fatalf("rating %d: %v %s", i, r.Outcome, r.Reason)
			}
		}
		e.Drain()
		withIDs := heapBytes()
		runtime.KeepAlive(e)
		itemBytes = float64(withItems-before) / float64(perLevel*len(levels))
		idBytes = float64(withIDs-withItems) / float64(ids)
		applied += int(seq)
	}
	b.ReportMetric(itemBytes, "B/item")
	b.ReportMetric(idBytes, "B/id")
	b.ReportMetric(float64(DefaultMaxItemsPerLevel*len(levels)), "items/unit")
	b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "events/s")
}

// drainEvery is how many events the unit benchmarks apply between two
// Drains: the aggregator's default batch (aggregate.Config.MaxBatch), whose
// flush drains the engine.
const drainEvery = 10000

// BenchmarkApplyUnits measures the engine as the aggregator runs it
// (Config.Explain, a Drain every drainEvery events, both timed) on a mixed
// stream spread evenly over the 32 provincial units ("units=32") and over
// every unit of the hierarchy ("units=all", 3,340 units), after each unit's
// portal was filled with 20 items. It reports events/s by the clock, events
// per CPU second of the process over the timed parts (events/cpu-s: the
// collector's work included, and steadier than the clock on a shared
// machine), the live heap per unit at the end (B/unit: the heap after the
// run minus the heap before the engine, remembered ids included, divided by
// the units) and the engine snapshot's bytes per unit (snapshot-B/unit). It
// prints the ratio of the two CPU rates, all units to 32, measured in the
// same run. The timed work carries the profiler label phase=timed
// (go tool pprof -tagfocus phase=timed).
func BenchmarkApplyUnits(b *testing.B) {
	var all []string
	for _, u := range events.Units() {
		all = append(all, u.Code)
	}
	provincial := all[:0:0]
	for _, r := range events.Regions() {
		provincial = append(provincial, r.Code)
	}
	rates := map[string]float64{}
	for _, tc := range []struct {
		name  string
		units []string
	}{{"units=32", provincial}, {"units=all", all}} {
		b.Run(tc.name, func(b *testing.B) {
			rates[tc.name] = benchUnits(b, tc.units)
		})
	}
	if r32, rall := rates["units=32"], rates["units=all"]; r32 > 0 && rall > 0 {
		fmt.Printf("apply units: all units / 32 units = %.2f (%.0f events per CPU second over %d units, %.0f over 32)\n",
			rall/r32, rall, len(all), r32)
	}
}

// benchUnits runs BenchmarkApplyUnits over units and returns its events
// per CPU second.
func benchUnits(b *testing.B, units []string) float64 {
	runtime.GC()
	before := heapBytes()
	e := mustNew(b, Config{Explain: true})
	s := newBenchStream(units)
	s.codes = s.codes[:20]
	seq := uint64(0)
	for _, region := range s.regions {
		for _, code := range s.codes {
			lv := events.Levels()[s.rng.IntN(4)]
			for _, d := range []events.Payload{
				&events.CatalogItemData{ItemCode: code, Level: lv, Required: true},
				&events.ServicePublishedData{ItemCode: code, Level: lv, Name: "n", Department: "d", Modes: events.Modes()[:5], Maturity: 3},
			} {
				seq++
				e.Apply(seq, &events.Event{ID: fmt.Sprintf("init-%d", seq), Type: d.EventType(), Region: region, Time: s.now, Source: "bench", Data: d})
			}
		}
	}
	e.Drain()
	buf := make([]*events.Event, drainEvery)
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(drainEvery, b.N-done)
		for i := range n {
			buf[i] = s.next()
		}
		c := benchkit.ProcessCPU(b)
		b.StartTimer()
		pprof.Do(b.Context(), pprof.Labels("phase", "timed"), func(context.Context) {
			for _, x := range buf[:n] {
				seq++
				e.Apply(seq, x)
			}
			e.Drain()
		})
		b.StopTimer()
		cpu += benchkit.ProcessCPU(b) - c
		done += n
	}
	rate := float64(b.N) / cpu.Seconds()
	clear(buf)
	heap := float64(heapBytes()) - float64(before)
	snap := len(e.AppendSnapshot(nil))
	runtime.KeepAlive(e)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(rate, "events/cpu-s")
	b.ReportMetric(heap/float64(len(units)), "B/unit")
	b.ReportMetric(float64(snap)/float64(len(units)), "snapshot-B/unit")
	return rate
}

// envRatingsPerDay sets the ratings a day of BenchmarkStateAllUnits30Days
// (default 1,000,000).
const envRatingsPerDay = "GOVPULSE_BENCH_RATINGS_PER_DAY"

// BenchmarkStateAllUnits30Days measures the engine's memory in the steady
// state of a large deployment: every unit of the hierarchy (3,340), each
// with its 30-day rolling window of ratings and the 7 days of lateness
// behind it, at 1,000,000 ratings a day (GOVPULSE_BENCH_RATINGS_PER_DAY)
// spread evenly over the units and the day, as the aggregator runs it
// (Config.Explain, a Drain every drainEvery events). The days whose ids
// are forgotten by the end (all but the last 7) get one rating per unit,
// enough to create their panes of the rolling window (its memory depends on
// the panes, not the counts); the last 7 days get every rating, each with
// a new 22-character id, which the engine remembers for its allowed
// lateness, each rating with the record of its review beside its id (the
// ledger of the review lifecycle). It reports the live heap of the engine at
// the end (MB), the part of it that the remembered ids with their review
// records take (ids-MB, measured by dropping them), the part the reviews
// tracker takes besides (reviews-MB: its windows, cases and evidence of
// alerts), the ids remembered and the review records among them, the heap
// per unit without the ids (B/unit) and the part of it the satisfaction
// windows take (windows-B/unit, measured by dropping them), the panes per
// unit of the hourly windows and of the rolling window, and the size of the
// snapshot (snapshot-MB). The days before the last 7 get one rating per unit:
// at the full rate every day of the rolling window would hold a million
// review records, which this benchmark leaves out (see docs/benchmarks.md).
func BenchmarkStateAllUnits30Days(b *testing.B) {
	perDay := benchkit.EnvPositive(b, envRatingsPerDay, 1_000_000)
	units := unitCodes()
	const lateDays = int(DefaultAllowedLateness / day)
	days := RollingDays + lateDays
	var total, idsBytes, revBytes, winBytes, snap float64
	var ids, records, hourlyPanes, rollingPanes int
	for b.Loop() {
		runtime.GC()
		before := heapBytes()
		e := mustNew(b, Config{Explain: true})
		apply := ratingApplier(b, e)
		start := base.UTC()
		// at returns the time of the k-th of per events spread evenly over day d
		// (in milliseconds: k * day in nanoseconds would overflow).
		at := func(d, k, per int) time.Time {
			return start.Add(time.Duration(d)*day + time.Duration(int64(k)*day.Milliseconds()/int64(per))*time.Millisecond)
		}
		n := 0
		for d := range days {
			if d < days-lateDays {
				for i, u := range units {
					apply(u, at(d, i, len(units)), n)
					n++
				}
				continue
			}
			for i := range perDay {
				apply(units[i%len(units)], at(d, i, perDay), n)
				n++
			}
		}
		e.Drain()
		after := heapBytes()
		snap = float64(len(e.AppendSnapshot(nil)))
		ids, records = e.dedup.Len(), e.dedup.Records()
		hourlyPanes, rollingPanes = e.hourly.Panes(), e.rolling.Panes()
		withoutTracker, withoutIDs := dropTrackerAndIDs(b, e)
		var err error
		if e.rolling, err = windows.New[int](rollingConfig(e.cfg.AllowedLateness), windows.Aggregator[ux, rollAcc, rollAcc](rolling{})); err != nil {
			b.Fatal(err)
		}
		if e.hourly, err = windows.New[int](hourlyConfig(e.cfg.AllowedLateness), windows.Aggregator[ux, hourAcc, hourAcc](hourly{})); err != nil {
			b.Fatal(err)
		}
		withoutWindows := heapBytes()
		runtime.KeepAlive(e)
		total = float64(after) - float64(before)
		revBytes = float64(after) - float64(withoutTracker)
		idsBytes = float64(withoutTracker) - float64(withoutIDs)
		winBytes = float64(withoutIDs) - float64(withoutWindows)
	}
	b.ReportMetric(total/1e6, "MB")
	b.ReportMetric(idsBytes/1e6, "ids-MB")
	b.ReportMetric(revBytes/1e6, "reviews-MB")
	b.ReportMetric(float64(ids), "ids")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric((total-idsBytes)/float64(len(units)), "B/unit")
	b.ReportMetric(winBytes/float64(len(units)), "windows-B/unit")
	b.ReportMetric(snap/1e6, "snapshot-MB")
	b.ReportMetric(float64(hourlyPanes)/float64(len(units)), "hourly-panes/unit")
	b.ReportMetric(float64(rollingPanes)/float64(len(units)), "daily-panes/unit")
}

// unitCodes returns the code of every unit of the hierarchy.
func unitCodes() []string {
	var units []string
	for _, u := range events.Units() {
		units = append(units, u.Code)
	}
	return units
}

// ratingApplier returns a function that applies to e the n-th rating (a new 22-character id,
// rating 1+n%5) of region at t, in stream order, draining e every drainEvery events as the
// aggregator does.
func ratingApplier(b *testing.B, e *Engine) func(region string, t time.Time, n int) {
	seq := uint64(0)
	data := &events.FeedbackRatedData{Channel: events.ChannelWeb}
	x := &events.Event{Type: events.FeedbackRated, Source: "bench", Data: data}
	id := []byte("rating-")
	return func(region string, t time.Time, n int) {
		seq++
		id = strconv.AppendInt(id[:7], int64(n)+100_000_000_000_000, 10) // 22 characters
		x.ID, x.Region, x.Time, data.Rating = string(id), region, t, 1+n%5
		if r := e.Apply(seq, x); r.Outcome != Applied {
			b.Fatalf("rating %d: %v %s", n, r.Outcome, r.Reason)
		}
		if seq%drainEvery == 0 {
			e.Drain()
		}
	}
}

// dropTrackerAndIDs replaces e's reviews tracker, then its remembered ids with the records of the
// reviews, by empty ones, and returns the live heap after each: what each took is the difference.
func dropTrackerAndIDs(b *testing.B, e *Engine) (withoutTracker, withoutIDs uint64) {
	var err error
	if e.rev, err = newReviews(e.cfg, e.dedup); err != nil {
		b.Fatal(err)
	}
	withoutTracker = heapBytes()
	e.dedup = windows.NewDedup()
	if e.rev, err = newReviews(e.cfg, e.dedup); err != nil {
		b.Fatal(err)
	}
	return withoutTracker, heapBytes()
}

// envSteadyPerDay sets the ratings a day of BenchmarkStateSteady30Days
// (default 100,000; 1000000 runs it at full size).
const envSteadyPerDay = "GOVPULSE_BENCH_STEADY_RATINGS_PER_DAY"

// BenchmarkStateSteady30Days measures the engine's memory in the steady
// state that BenchmarkStateAllUnits30Days leaves out: every day of the
// 30-day rolling window and of the 7 days of lateness behind it carries the
// full rate of ratings (GOVPULSE_BENCH_STEADY_RATINGS_PER_DAY, default
// 100,000 a day; the full 1,000,000 applies 37 million ratings, 48 minutes
// on the loaded shared 2-core machine), each with a new 22-character id,
// spread evenly over every unit of the hierarchy and the day, as the
// aggregator runs it (Config.Explain, a Drain every drainEvery events). It
// measures at the end of the last day, when the most ids are held since the
// daily purge, and reports the live heap after a GC (MB), the part of it the
// remembered ids with the records of the reviews take (ids-MB, measured by
// dropping them after the reviews tracker, whose part is reviews-MB), the
// slots of their table, the ids and records it holds (ids, records: the ones
// the horizons still need, and those not yet swept), the ids needed
// (live-ids: within the allowed lateness), the table's bytes per rating a
// day (ids-B/rating-day), and the heap extrapolated to 1,000,000 ratings a
// day (MB@1M/day): the heap without the ids, which does not grow with the
// rate once every hour of every unit has ratings, plus the table the ids of
// 1,000,000 ratings a day need (the smallest power of two of 21-byte slots
// that holds them at most 55/64 full, where a table near its size sweeps
// instead of growing).
func BenchmarkStateSteady30Days(b *testing.B) {
	perDay := benchkit.EnvPositive(b, envSteadyPerDay, 100_000)
	units := unitCodes()
	days := RollingDays + int(DefaultAllowedLateness/day)
	var total, idsBytes, revBytes float64
	var ids, records, live, slots int
	for b.Loop() {
		runtime.GC()
		before := heapBytes()
		e := mustNew(b, Config{Explain: true})
		apply := ratingApplier(b, e)
		start := base.UTC()
		for n := range days * perDay {
			d, k := n/perDay, n%perDay
			apply(units[n%len(units)], start.Add(time.Duration(d)*day+time.Duration(int64(k)*day.Milliseconds()/int64(perDay))*time.Millisecond), n)
		}
		e.Drain()
		after := heapBytes()
		ids, records, slots = e.dedup.Len(), e.dedup.Records(), e.dedup.Slots()
		w, _ := e.Watermark()
		e.dedup.PurgeRecords(w.Add(-max(e.cfg.AppealHorizon, e.cfg.AllowedLateness)))
		e.dedup.Purge(w.Add(-e.cfg.AllowedLateness))
		live = e.dedup.Len()
		withoutTracker, withoutIDs := dropTrackerAndIDs(b, e)
		runtime.KeepAlive(e)
		total = float64(after) - float64(before)
		revBytes = float64(after) - float64(withoutTracker)
		idsBytes = float64(withoutTracker) - float64(withoutIDs)
	}
	// The table the ids of 1,000,000 ratings a day need.
	full := float64(live) * 1e6 / float64(perDay)
	fullSlots := 64.0
	for full > fullSlots*55/64 {
		fullSlots *= 2
	}
	b.ReportMetric(total/1e6, "MB")
	b.ReportMetric(idsBytes/1e6, "ids-MB")
	b.ReportMetric(revBytes/1e6, "reviews-MB")
	b.ReportMetric(float64(slots), "slots")
	b.ReportMetric(float64(ids), "ids")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(live), "live-ids")
	b.ReportMetric(idsBytes/float64(perDay), "ids-B/rating-day")
	b.ReportMetric((total-idsBytes+fullSlots*21)/1e6, "MB@1M/day")
}
