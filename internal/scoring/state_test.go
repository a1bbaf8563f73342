package scoring

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

const zj = "330000"

var t0 = time.Date(2017, 3, 1, 10, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func mk(id string, tm time.Time, d events.Payload) *events.Event {
	return &events.Event{ID: id, Type: d.EventType(), Region: zj, Time: tm, Source: "test", Data: d}
}

func pub(code string, lv events.Level, maturity int, modes ...events.Mode) *events.ServicePublishedData {
	return &events.ServicePublishedData{ItemCode: code, Level: lv, Name: "n", Department: "d", Modes: modes, Maturity: maturity}
}

func audit(code string, lv events.Level, correct int, consistent bool) *events.GuideAuditedData {
	d := &events.GuideAuditedData{ItemCode: code, Level: lv, Consistent: consistent}
	for i := range d.Elements {
		d.Elements[i] = events.Missing
		if i < correct {
			d.Elements[i] = events.Correct
		}
	}
	return d
}

func newZJ() *Region { return NewRegion(zj, "浙江省", "Zhejiang") }

func TestStampAfter(t *testing.T) {
	tests := []struct {
		name string
		a, b Stamp
		want bool
	}{
		{"later time wins", Stamp{at(2), "a"}, Stamp{at(1), "z"}, true},
		{"earlier time loses", Stamp{at(1), "z"}, Stamp{at(2), "a"}, false},
		{"nanosecond precision", Stamp{at(1).Add(time.Nanosecond), "a"}, Stamp{at(1), "b"}, true},
		{"tie: larger id wins", Stamp{at(1), "b"}, Stamp{at(1), "a"}, true},
		{"tie: bytes, not length", Stamp{at(1), "b"}, Stamp{at(1), "aaaa"}, true},
		{"tie: upper case sorts before lower", Stamp{at(1), "B"}, Stamp{at(1), "a"}, false},
		{"equal stamps: replay is not newer", Stamp{at(1), "a"}, Stamp{at(1), "a"}, false},
		{"anything beats absent", Stamp{time.Time{}, "a"}, Stamp{}, true},
		{"same instant in another zone", Stamp{at(1).In(time.FixedZone("CST", 8*3600)), "a"}, Stamp{at(1), "a"}, false},
	}
	for _, tt := range tests {
		if got := tt.a.After(tt.b); got != tt.want {
			t.Errorf("%s: After = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRegionRules(t *testing.T) {
	P, C := events.LevelProvince, events.LevelCity
	tests := []struct {
		name   string
		events []*events.Event
		won    []bool
		want   Counts
		levels int
	}{
		{"empty", nil, nil, Counts{}, 0},
		{"published item counts modes and maturity",
			[]*events.Event{mk("a", at(1), pub("x", P, 3, events.ModeMobile, events.ModeOnlineApply))},
			[]bool{true}, Counts{PublishedItems: 1, ModesTotal: 2, MaturityTotal: 3}, 0},
		{"withdrawal removes the item",
			[]*events.Event{mk("a", at(1), pub("x", P, 3)), mk("b", at(2), &events.ServiceWithdrawnData{ItemCode: "x", Level: P})},
			[]bool{true, true}, Counts{}, 0},
		{"older withdrawal loses",
			[]*events.Event{mk("a", at(2), pub("x", P, 3)), mk("b", at(1), &events.ServiceWithdrawnData{ItemCode: "x", Level: P})},
			[]bool{true, false}, Counts{PublishedItems: 1, MaturityTotal: 3}, 0},
		{"equal time: larger id wins",
			[]*events.Event{mk("b", at(1), pub("x", P, 3)), mk("a", at(1), &events.ServiceWithdrawnData{ItemCode: "x", Level: P})},
			[]bool{true, false}, Counts{PublishedItems: 1, MaturityTotal: 3}, 0},
		{"replay of the same event changes nothing",
			[]*events.Event{mk("a", at(1), pub("x", P, 3)), mk("a", at(1), pub("x", P, 1))},
			[]bool{true, false}, Counts{PublishedItems: 1, MaturityTotal: 3}, 0},
		{"levels are separate items",
			[]*events.Event{mk("a", at(1), pub("x", P, 1)), mk("b", at(1), pub("x", C, 2))},
			[]bool{true, true}, Counts{PublishedItems: 2, MaturityTotal: 3}, 0},
		{"required and covered",
			[]*events.Event{
				mk("a", at(1), &events.CatalogItemData{ItemCode: "x", Level: P, Required: true}),
				mk("b", at(1), &events.CatalogItemData{ItemCode: "y", Level: P, Required: true}),
				mk("c", at(1), &events.CatalogItemData{ItemCode: "z", Level: C, Required: false}),
				mk("d", at(1), pub("x", P, 0)),
				mk("e", at(1), pub("z", C, 0)),
			},
			[]bool{true, true, true, true, true},
			Counts{PublishedItems: 2, RequiredProvince: 2, CoveredProvince: 1}, 0},
		{"catalogue and service are separate keys",
			[]*events.Event{
				mk("z", at(5), pub("x", P, 0)),
				mk("a", at(1), &events.CatalogItemData{ItemCode: "x", Level: P, Required: true}),
			},
			[]bool{true, true}, Counts{PublishedItems: 1, RequiredProvince: 1, CoveredProvince: 1}, 0},
		{"audit without publication does not count",
			[]*events.Event{mk("a", at(1), audit("x", P, 8, true))},
			[]bool{true}, Counts{}, 0},
		{"rule 4: audit older than withdrawal and republication counts",
			[]*events.Event{
				mk("a", at(1), pub("x", P, 0)),
				mk("b", at(2), audit("x", P, 6, false)),
				mk("c", at(3), &events.ServiceWithdrawnData{ItemCode: "x", Level: P}),
				mk("d", at(4), pub("x", P, 2)),
			},
			[]bool{true, true, true, true},
			Counts{PublishedItems: 1, MaturityTotal: 2, AuditedItems: 1, AuditCorrectInconsistent: 6}, 0},
		{"newer audit replaces the verdicts",
			[]*events.Event{mk("a", at(1), pub("x", P, 0)), mk("b", at(2), audit("x", P, 6, false)), mk("c", at(3), audit("x", P, 7, true))},
			[]bool{true, true, true},
			Counts{PublishedItems: 1, AuditedItems: 1, AuditCorrectConsistent: 7}, 0},
		{"platform: counted from province without a gap",
			[]*events.Event{mk("a", at(1), &events.PlatformUpdatedData{Integrated: true, Levels: []events.Level{C, P, events.LevelTownship}, Portals: 3})},
			[]bool{true}, Counts{}, 2},
		{"platform: no province means 0",
			[]*events.Event{mk("a", at(1), &events.PlatformUpdatedData{Levels: []events.Level{C, events.LevelCounty}, Portals: 1})},
			[]bool{true}, Counts{}, 0},
		{"platform: all four",
			[]*events.Event{mk("a", at(1), &events.PlatformUpdatedData{Levels: events.Levels(), Portals: 1})},
			[]bool{true}, Counts{}, 4},
		{"platform: newest wins",
			[]*events.Event{
				mk("b", at(2), &events.PlatformUpdatedData{Levels: []events.Level{P}, Portals: 1}),
				mk("a", at(1), &events.PlatformUpdatedData{Levels: events.Levels(), Portals: 1}),
			},
			[]bool{true, false}, Counts{}, 1},
		{"user-experience events are not state",
			[]*events.Event{mk("a", at(1), &events.FeedbackRatedData{Rating: 5, Channel: events.ChannelWeb})},
			[]bool{false}, Counts{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newZJ()
			for i, ev := range tt.events {
				if got := r.Apply(ev); got != tt.won[i] {
					t.Fatalf("event %d (%s): Apply = %v, want %v", i, ev.ID, got, tt.won[i])
				}
			}
			if got := r.Counts(); got != tt.want {
				t.Fatalf("Counts = %+v, want %+v", got, tt.want)
			}
			if got := r.PlatformLevels(); got != tt.levels {
				t.Fatalf("PlatformLevels = %d, want %d", got, tt.levels)
			}
			checkAggregates(t, r)
		})
	}
}

func TestApplyOtherRegion(t *testing.T) {
	r := newZJ()
	ev := mk("a", at(1), pub("x", events.LevelProvince, 1))
	ev.Region = "110000"
	if r.Apply(ev) {
		t.Fatal("Apply accepted an event of another region")
	}
}

// bruteCounts recomputes the portal counts from the item maps.
func bruteCounts(r *Region) Counts {
	var c Counts
	var req, cov [LevelCount]int64
	for k, it := range r.items {
		p := it.svcStamp.ID != "" && it.published
		if p {
			c.PublishedItems++
			c.ModesTotal += int64(bits.OnesCount8(it.modes))
			c.MaturityTotal += int64(it.maturity)
			if it.audStamp.ID != "" {
				c.AuditedItems++
				if it.consistent {
					c.AuditCorrectConsistent += int64(it.correct)
				} else {
					c.AuditCorrectInconsistent += int64(it.correct)
				}
			}
		}
		if it.catStamp.ID != "" && it.required {
			req[k.level]++
			if p {
				cov[k.level]++
			}
		}
	}
	c.setLevels(req, cov)
	return c
}

func checkAggregates(t *testing.T, r *Region) {
	t.Helper()
	if got, want := r.Counts(), bruteCounts(r); got != want {
		t.Fatalf("incremental counts %+v\n differ from recomputation %+v", got, want)
	}
}

// randomPortalEvent returns a random portal change over a few items, with
// times and ids chosen so that ties and reorderings are frequent.
func randomPortalEvent(rng *rand.Rand, i int) *events.Event {
	lv := events.Levels()[rng.IntN(4)]
	code := fmt.Sprintf("item-%d", rng.IntN(6))
	tm := at(rng.IntN(20))
	id := fmt.Sprintf("e%d", rng.IntN(40))
	if rng.IntN(3) == 0 {
		id = fmt.Sprintf("u%d", i)
	}
	var d events.Payload
	switch rng.IntN(6) {
	case 0:
		d = &events.CatalogItemData{ItemCode: code, Level: lv, Required: rng.IntN(3) > 0}
	case 1, 2:
		var modes []events.Mode
		for _, m := range events.Modes() {
			if rng.IntN(2) == 0 {
				modes = append(modes, m)
			}
		}
		d = pub(code, lv, rng.IntN(5), modes...)
	case 3:
		d = &events.ServiceWithdrawnData{ItemCode: code, Level: lv}
	case 4:
		d = audit(code, lv, rng.IntN(9), rng.IntN(2) == 0)
	default:
		var levels []events.Level
		for _, l := range events.Levels() {
			if rng.IntN(3) > 0 {
				levels = append(levels, l)
			}
		}
		d = &events.PlatformUpdatedData{Integrated: rng.IntN(2) == 0, Levels: levels, Portals: 1 + rng.IntN(9)}
	}
	return mk(id, tm, d)
}

// TestIncrementalMatchesRecomputation is the property test of the O(1)
// aggregates: after every event of random streams they equal a
// recomputation from the maps, and the final state does not depend on the
// order in which the events were applied (last writer wins).
func TestIncrementalMatchesRecomputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 300; round++ {
		evs := make([]*events.Event, 1+rng.IntN(80))
		for i := range evs {
			evs[i] = randomPortalEvent(rng, i)
		}
		r := newZJ()
		for _, ev := range evs {
			r.Apply(ev)
			checkAggregates(t, r)
		}
		shuffled := newZJ()
		for _, i := range rng.Perm(len(evs)) {
			shuffled.Apply(evs[i])
		}
		// Two events may share id and time but differ in content; then the
		// order decides and the states may differ legitimately. Compare
		// only when every (time, id) is unique.
		if uniqueStamps(evs) {
			a, b := r.AppendSnapshot(nil), shuffled.AppendSnapshot(nil)
			if !bytes.Equal(a, b) {
				t.Fatalf("round %d: state depends on the order of events", round)
			}
		}
	}
}

func uniqueStamps(evs []*events.Event) bool {
	seen := map[Stamp]bool{}
	for _, ev := range evs {
		s := Stamp{ev.Time, ev.ID}
		if seen[s] {
			return false
		}
		seen[s] = true
	}
	return true
}

func TestSnapshotRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := 0; round < 100; round++ {
		r := newZJ()
		for i := 0; i < rng.IntN(60); i++ {
			r.Apply(randomPortalEvent(rng, i))
		}
		snap := r.AppendSnapshot([]byte("prefix"))
		got := newZJ()
		rest, err := got.RestoreSnapshot(append(snap[len("prefix"):], "tail"...))
		if err != nil {
			t.Fatalf("RestoreSnapshot: %v", err)
		}
		if string(rest) != "tail" {
			t.Fatalf("rest = %q, want tail", rest)
		}
		if got.Counts() != r.Counts() || got.PlatformLevels() != r.PlatformLevels() || got.platform != r.platform {
			t.Fatalf("restored state differs")
		}
		if !bytes.Equal(got.AppendSnapshot(nil), snap[len("prefix"):]) {
			t.Fatalf("snapshot of the restored state differs")
		}
		// Applying the same event to both gives the same state.
		ev := randomPortalEvent(rng, 1000)
		if r.Apply(ev) != got.Apply(ev) || r.Counts() != got.Counts() {
			t.Fatalf("restored state behaves differently")
		}
	}
}

func TestRestoreSnapshotRejectsCorrupt(t *testing.T) {
	r := newZJ()
	r.Apply(mk("a", at(1), pub("x", events.LevelCity, 2, events.ModeMobile)))
	r.Apply(mk("b", at(1), audit("x", events.LevelCity, 5, true)))
	snap := r.AppendSnapshot(nil)
	for n := 0; n < len(snap); n++ {
		if _, err := newZJ().RestoreSnapshot(snap[:n]); err == nil {
			t.Fatalf("truncated snapshot (%d of %d bytes) accepted", n, len(snap))
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not match ErrCorrupt", err)
		}
	}
	other := NewRegion("110000", "北京市", "Beijing")
	if _, err := other.RestoreSnapshot(snap); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("snapshot of another region: err = %v", err)
	}
}

func TestRegionScore(t *testing.T) {
	r := newZJ()
	r.Apply(mk("a", at(1), pub("x", events.LevelProvince, 4, events.Modes()...)))
	r.Apply(mk("b", at(1), &events.CatalogItemData{ItemCode: "x", Level: events.LevelProvince, Required: true}))
	r.Apply(mk("c", at(1), audit("x", events.LevelProvince, 8, true)))
	r.Apply(mk("d", at(1), &events.PlatformUpdatedData{Integrated: true, Levels: []events.Level{events.LevelProvince}, Portals: 7}))
	cst := time.FixedZone("CST", 8*3600)
	w := Window{Start: time.Date(2017, 2, 1, 0, 0, 0, 0, cst), End: time.Date(2017, 3, 3, 0, 0, 0, 0, cst),
		Applications: 4, OnlineCompleted: 2, Ratings: 2, RatingSum: 7}
	s := r.Score(w, at(5).In(cst), 42)
	if s.Region != zj || s.NameEN != "Zhejiang" || s.Method != Method || s.Version != 42 {
		t.Fatalf("identity fields: %+v", s)
	}
	if s.AsOf.Location() != time.UTC || s.WindowStart.Location() != time.UTC || !s.WindowStart.Equal(w.Start) {
		t.Fatalf("times must be UTC: %v %v", s.AsOf, s.WindowStart)
	}
	// D = 1, O = 0.5, S = (3.5-1)/4 = 0.625: 0.5 + 0.15 + 0.125 = 0.775.
	if s.ServiceModes != 100 || s.ItemCoverage != 100 || s.GuideAccuracy != 100 || s.OnlineMaturity != 77.5 {
		t.Fatalf("indices: %+v", s)
	}
	if s.Composite != 94.375 || s.Grade != GradeVeryHigh || s.Satisfaction == nil || *s.Satisfaction != 62.5 {
		t.Fatalf("composite/grade/satisfaction: %v %v %v", s.Composite, s.Grade, s.Satisfaction)
	}
	if s.PlatformLevels != 1 || !s.Integrated || s.Portals != 7 || s.Applications != 4 || s.RatingSum != 7 {
		t.Fatalf("platform and window counts: %+v", s)
	}
	empty := newZJ().Score(Window{}, at(0), 1)
	if empty.Composite != 0 || empty.Grade != GradeLow || empty.Satisfaction != nil || empty.PlatformLevels != 0 || empty.Integrated {
		t.Fatalf("empty region: %+v", empty)
	}
}

// TestItems: every portal change that names an item adds it once, whether
// or not it wins its key; the platform and user-experience events add none;
// a restored state counts the same items.
func TestItems(t *testing.T) {
	r := newZJ()
	for i, d := range []events.Payload{
		pub("A", events.LevelProvince, 2),
		&events.ServiceWithdrawnData{ItemCode: "A", Level: events.LevelProvince},
		&events.CatalogItemData{ItemCode: "B", Level: events.LevelProvince},
		audit("C", events.LevelCity, 8, true),
		&events.PlatformUpdatedData{Portals: 1},
	} {
		r.Apply(mk(fmt.Sprintf("e%d", i), at(i), d))
	}
	r.Apply(mk("old", at(-1), pub("D", events.LevelProvince, 1))) // stale, still an item
	if got := [4]int{r.Items(events.LevelProvince), r.Items(events.LevelCity), r.Items(events.LevelCounty), r.Items("bogus")}; got != [4]int{3, 1, 0, 0} {
		t.Fatalf("items per level %v, want [3 1 0 0]", got)
	}
	if !r.HasItem(events.LevelCity, "C") || r.HasItem(events.LevelProvince, "C") {
		t.Fatal("HasItem confuses levels")
	}
	restored := newZJ()
	if _, err := restored.RestoreSnapshot(r.AppendSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if restored.Items(events.LevelProvince) != 3 || restored.Items(events.LevelCity) != 1 {
		t.Fatal("restored state counts other items")
	}
	for _, tc := range []struct {
		d    events.Payload
		code string
		ok   bool
	}{
		{pub("A", events.LevelCity, 1), "A", true},
		{&events.ServiceWithdrawnData{ItemCode: "W", Level: events.LevelCity}, "W", true},
		{&events.CatalogItemData{ItemCode: "K", Level: events.LevelCity}, "K", true},
		{audit("G", events.LevelCity, 1, false), "G", true},
		{&events.PlatformUpdatedData{}, "", false},
		{&events.FeedbackRatedData{Rating: 1, Channel: events.ChannelWeb, ItemCode: "F", Level: events.LevelCity}, "", false},
	} {
		lv, code, ok := ItemOf(mk("x", at(0), tc.d))
		if ok != tc.ok || code != tc.code || ok && lv != events.LevelCity {
			t.Errorf("ItemOf(%T) = %s %q %v", tc.d, lv, code, ok)
		}
	}
}
