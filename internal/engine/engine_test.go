package engine

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

const (
	zj = "330000"
	bj = "110000"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero value is the default partition", Config{}, true},
		{"subset", Config{Regions: []string{zj, bj}}, true},
		{"unknown region", Config{Regions: []string{"999999"}}, false},
		{"duplicate region", Config{Regions: []string{zj, zj}}, false},
		{"negative bound", Config{OutOfOrderness: -time.Second}, false},
		{"negative lateness", Config{AllowedLateness: -time.Second}, false},
		{"negative item limit", Config{MaxItemsPerLevel: -1}, false},
		{"negative portal limit", Config{PortalLimits: portals.Limits{MaxPortals: -1}}, false},
		{"negative items per portal", Config{PortalLimits: portals.Limits{MaxItemsPerPortal: -1}}, false},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New error = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	e := mustNew(t, Config{Regions: []string{zj, bj}})
	c := e.Config()
	if c.Regions[0] != bj || c.OutOfOrderness != 10*time.Minute || c.AllowedLateness != 7*24*time.Hour ||
		c.MaxItemsPerLevel != DefaultMaxItemsPerLevel ||
		c.PortalLimits != (portals.Limits{MaxPortals: portals.DefaultMaxPortals, MaxItemsPerPortal: portals.DefaultMaxItemsPerPortal}) {
		t.Fatalf("defaults: %+v", c)
	}
	if len(mustNew(t, Config{}).Config().Regions) != 32 {
		t.Fatal("the default partition must hold the 32 units")
	}
}

// TestFirstEventScoresEveryRegion: 32 rows exist after the first event;
// regions without events have zeros, grade low, no platform, no
// satisfaction.
func TestFirstEventScoresEveryRegion(t *testing.T) {
	e := mustNew(t, Config{})
	if len(e.Scores()) != 0 || e.Ranking() != nil {
		t.Fatal("scores before the first event")
	}
	if _, ok := e.Watermark(); ok {
		t.Fatal("watermark before the first event")
	}
	feed(t, e, 1, published("p1", zj, atMin(60), "x", 4, events.Modes()...))
	out := e.Drain()
	if len(out.Scores) != 32 {
		t.Fatalf("first drain has %d scores, want 32", len(out.Scores))
	}
	w, _ := e.Watermark()
	if !w.Equal(atMin(50)) {
		t.Fatalf("watermark %v, want %v", w, atMin(50))
	}
	for i, s := range out.Scores {
		if i > 0 && out.Scores[i-1].Region >= s.Region {
			t.Fatal("scores not sorted by region")
		}
		if s.Version != 1 || !s.AsOf.Equal(w) || s.Method != scoring.Method || s.NameZH == "" {
			t.Fatalf("score header: %+v", s)
		}
		if !s.WindowStart.Equal(base.AddDate(0, 0, -29)) || !s.WindowEnd.Equal(base.AddDate(0, 0, 1)) {
			t.Fatalf("window [%v, %v)", s.WindowStart, s.WindowEnd)
		}
		if s.Region == zj {
			// service_modes 100, online_maturity 100 (D only): composite 50.
			if s.Composite != 50 || s.PublishedItems != 1 {
				t.Fatalf("zhejiang: %+v", s)
			}
			continue
		}
		if s.Composite != 0 || s.Grade != scoring.GradeLow || s.PlatformLevels != 0 || s.Integrated ||
			s.Satisfaction != nil || s.ServiceModes != 0 || s.PublishedItems != 0 {
			t.Fatalf("region without events: %+v", s)
		}
	}
	rk := out.RankingOf(scoring.Method)
	if rk == nil || len(rk.Entries) != 32 || rk.Version != 1 || rk.Entries[0].Region != zj ||
		rk.Entries[1].Region != bj || rk.Entries[0].PrevRank != 0 || rk.Entries[0].Change != 0 {
		t.Fatalf("first ranking: %+v", rk)
	}
	if again := e.Drain(); !again.Empty() {
		t.Fatalf("second drain not empty: %+v", again)
	}
}

func TestApplyOutcomes(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj, bj}})
	day := 24 * 60
	feed(t, e, 1, rated("r1", zj, atMin(10*day), 5)) // W = day 10 - 10 min

	// Not in the partition: not applied; an older time leaves the watermark
	// (TestOtherPartitionsMoveTheWatermark shows a newer one raising it).
	w0, _ := e.Watermark()
	if r := e.Apply(2, rated("x", "440000", atMin(5*day), 1)); r.Outcome != NotInPartition {
		t.Fatalf("other region: %v", r)
	}
	if w, _ := e.Watermark(); !w.Equal(w0) || e.LastSeq() != 2 {
		t.Fatalf("other region moved the watermark to %v (last seq %d)", w, e.LastSeq())
	}
	for _, sc := range e.Drain().Scores {
		if sc.Version != 1 {
			t.Fatalf("other region's event rescored %s at version %d", sc.Region, sc.Version)
		}
	}

	// Too late: before W - 7 days; the reason names time, horizon and watermark.
	late := rated("late", zj, atMin(3*day-11), 1)
	r := e.Apply(3, late)
	if r.Outcome != TooLate {
		t.Fatalf("late event: %v", r)
	}
	for _, want := range []string{"2017-03-03T15:49:00Z", "horizon 2017-03-03T15:50:00Z", "watermark 2017-03-10T15:50:00Z"} {
		if !strings.Contains(r.Reason, want) {
			t.Fatalf("reason %q lacks %q", r.Reason, want)
		}
	}
	// Exactly at the horizon is in time.
	if r := e.Apply(4, rated("edge", zj, atMin(3*day-10), 3)); r.Outcome != Applied {
		t.Fatalf("event at the horizon: %v", r)
	}
	// A too-late event does not make its id applied (rule 7).
	if r := e.Apply(5, rated("late", zj, atMin(9*day), 2)); r.Outcome != Applied {
		t.Fatalf("id of a too-late event: %v", r)
	}
	// Duplicate: same id, content ignored; nothing changes.
	before := scoreOf(t, e, zj)
	if r := e.Apply(6, rated("r1", zj, atMin(9*day), 1)); r.Outcome != Duplicate {
		t.Fatalf("duplicate: %v", r)
	}
	if after := scoreOf(t, e, zj); after != before {
		t.Fatalf("duplicate changed the score: %v -> %v", before, after)
	}
	// An event's identity is its region and id (rule 7): the same id in
	// another region is another event and counts.
	if r := e.Apply(7, app("r1", bj, atMin(9*day), events.Completed, true)); r.Outcome != Applied {
		t.Fatalf("same id in another region: %v", r)
	}
	if s := scoreOf(t, e, bj); s.Apps != 1 || s.Version != 7 {
		t.Fatalf("same id in another region not counted: %v", s)
	}
	// Too late before duplicate: a late event with an applied id is too late.
	if r := e.Apply(8, rated("r1", zj, atMin(day), 1)); r.Outcome != TooLate {
		t.Fatalf("late duplicate: %v", r)
	}
	// A replayed stream sequence changes nothing.
	if r := e.Apply(8, rated("new", zj, atMin(9*day), 1)); r.Outcome != Duplicate {
		t.Fatalf("replayed sequence: %v", r)
	}
	// A portal change that loses to a newer writer is applied without effect.
	feed(t, e, 9, published("p2", zj, atMin(9*day), "x", 4))
	if r := e.Apply(10, published("p1", zj, atMin(8*day), "x", 1)); r.Outcome != Applied || r.Reason == "" {
		t.Fatalf("superseded portal change: %v", r)
	}
	if s := scoreOf(t, e, zj); s.Version != 9 || s.Maturity == 0 {
		t.Fatalf("superseded change rescored: %v", s)
	}
	// Portal changes are never too late (rule 3).
	if r := e.Apply(11, published("old", zj, atMin(0), "y", 4)); r.Outcome != Applied || r.Reason != "" {
		t.Fatalf("old portal change: %v", r)
	}
	if s := scoreOf(t, e, zj); s.Version != 11 || s.Published != 2 {
		t.Fatalf("old portal change not applied: %v", s)
	}
}

// TestWatermarkRaisedByEveryEvent: rule 1, even by duplicates and too-late
// events, and a day change rescores every region at that sequence.
func TestWatermarkAndDayChange(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj, bj}})
	feed(t, e, 1, rated("a", zj, atMin(100), 5))
	e.Drain()
	// A duplicate whose time is in the next day (UTC+8) still raises W.
	if r := e.Apply(2, rated("a", zj, atMin(24*60+20), 5)); r.Outcome != Duplicate {
		t.Fatalf("duplicate: %v", r)
	}
	w, _ := e.Watermark()
	if !w.Equal(atMin(24*60 + 10)) {
		t.Fatalf("watermark %v", w)
	}
	out := e.Drain()
	if len(out.Scores) != 2 || out.Scores[0].Version != 2 || out.Scores[1].Version != 2 {
		t.Fatalf("day change must rescore every region at its sequence: %+v", out.Scores)
	}
	// The day boundary is midnight in UTC+8 (16:00 UTC), at nanosecond precision.
	feed(t, e, 3, rated("b", zj, base.Add(2*24*time.Hour+10*time.Minute-time.Nanosecond), 5))
	if out := e.Drain(); len(out.Scores) != 1 {
		t.Fatalf("W one nanosecond before midnight rescored %d regions", len(out.Scores))
	}
	feed(t, e, 4, rated("c", zj, base.Add(2*24*time.Hour+10*time.Minute), 5))
	if out := e.Drain(); len(out.Scores) != 2 {
		t.Fatalf("W at midnight rescored %d regions, want 2", len(out.Scores))
	}
}

// TestRollingWindow: the window is [day(W) - 29 d, day(W) + 1 d), including
// events later than W in W's day (rule 6), and old events leave it when the
// day changes (rule 8).
func TestRollingWindow(t *testing.T) {
	day := 24 * 60
	e := mustNew(t, Config{Regions: []string{zj}, AllowedLateness: 40 * 24 * time.Hour})
	feed(t, e, 1,
		rated("a", zj, atMin(29*day+600), 5), // W: day 29, 09:50
		rated("b", zj, atMin(30*day-1), 1),   // later than W, same day: counted
		rated("c", zj, atMin(0), 3),          // day 0: inside [day 0, day 30)
		rated("d", zj, atMin(-1), 3),         // day -1: outside
	)
	if s := scoreOf(t, e, zj); s.Ratings != 3 || s.RatingSum != 9 {
		t.Fatalf("window counts: %v", s)
	}
	// The next day: day 0 leaves the window.
	feed(t, e, 5, app("e", zj, atMin(30*day+10), events.Completed, true))
	if s := scoreOf(t, e, zj); s.Ratings != 2 || s.RatingSum != 6 || s.Apps != 1 || s.Version != 5 {
		t.Fatalf("window after the day change: %v", s)
	}
}

func TestOnlineMaturityFromWindow(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj}})
	feed(t, e, 1,
		app("a1", zj, atMin(60), events.Completed, true),
		app("a2", zj, atMin(61), events.Completed, false),
		app("a3", zj, atMin(62), events.Rejected, true),
		app("a4", zj, atMin(63), events.Abandoned, false),
		rated("r1", zj, atMin(64), 4),
	)
	s := e.Scores()[0]
	// O = 1/4, S = 0.75: (0.3*0.25 + 0.2*0.75) / 0.5 = 0.45.
	if s.Applications != 4 || s.ApplicationsOnlineCompleted != 1 || s.OnlineMaturity != 45 ||
		s.Satisfaction == nil || *s.Satisfaction != 75 || s.Version != 5 {
		t.Fatalf("score: %+v", s)
	}
}

func TestHourlyWindows(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj, bj}})
	feed(t, e, 1,
		rated("a", zj, atMin(61), 5),
		rated("b", zj, atMin(62), 3),
		app("c", zj, atMin(63), events.Completed, true),
		rated("d", bj, atMin(125), 1),
		rated("e", zj, atMin(119), 5),
	)
	out := e.Drain()
	want := []WindowRow{
		{Region: bj, Metric: "feedback.rated", Start: atMin(120), End: atMin(180), Version: 4, Count: 1, RatingSum: 1, Ratings: [5]int64{1, 0, 0, 0, 0}},
		{Region: zj, Metric: "feedback.rated", Start: atMin(60), End: atMin(120), Version: 5, Count: 3, RatingSum: 13, Ratings: [5]int64{0, 0, 1, 0, 2}},
		{Region: zj, Metric: "application.completed", Start: atMin(60), End: atMin(120), Version: 3, Count: 1, Completed: 1, OnlineCompleted: 1},
	}
	if len(out.Windows) != len(want) {
		t.Fatalf("windows: %+v", out.Windows)
	}
	for i := range want {
		if out.Windows[i] != want[i] {
			t.Fatalf("window %d:\n got %+v\nwant %+v", i, out.Windows[i], want[i])
		}
	}
	feed(t, e, 6, app("f", zj, atMin(70), events.Abandoned, false))
	out = e.Drain()
	if len(out.Windows) != 1 || out.Windows[0].Version != 6 || out.Windows[0].Count != 2 || out.Windows[0].Abandoned != 1 {
		t.Fatalf("second drain: %+v", out.Windows)
	}
}

func TestRankingChanges(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{bj, zj, "320000"}})
	feed(t, e, 1, rated("a", "320000", atMin(60), 5)) // composite 25
	first := drainRanking(e)
	if got := regionsOf(first); got != "320000 110000 330000" || first.Entries[0].PrevRank != 0 {
		t.Fatalf("first ranking %s %+v", got, first)
	}
	feed(t, e, 2, published("p", zj, atMin(61), "x", 4, events.Modes()...)) // composite 50
	// Same composite again: no new ranking.
	feed(t, e, 3, rated("b", "320000", atMin(62), 5))
	out := e.Drain()
	rk := out.RankingOf(scoring.Method)
	if rk == nil || rk.Version != 2 || regionsOf(rk) != "330000 320000 110000" {
		t.Fatalf("ranking after a change: %+v", rk)
	}
	want := []scoring.RankEntry{
		{Rank: 1, Region: zj, Composite: 50, Grade: scoring.GradeLow, PrevRank: 3, Change: 2},
		{Rank: 2, Region: "320000", Composite: 25, Grade: scoring.GradeLow, PrevRank: 1, Change: -1},
		{Rank: 3, Region: bj, Composite: 0, Grade: scoring.GradeLow, PrevRank: 2, Change: -1},
	}
	for i := range want {
		if rk.Entries[i] != want[i] {
			t.Fatalf("entry %d = %+v, want %+v", i, rk.Entries[i], want[i])
		}
	}
	if len(out.Scores) != 2 {
		t.Fatalf("scores rescored: %d", len(out.Scores))
	}
	// A composite change that keeps the order is still a new ranking.
	feed(t, e, 4, rated("c", zj, atMin(63), 1))
	rk = drainRanking(e)
	if rk == nil || rk.Version != 4 || rk.Entries[0].PrevRank != 1 || rk.Entries[0].Change != 0 {
		t.Fatalf("ranking after a composite change: %+v", rk)
	}
}

func regionsOf(rk *scoring.Ranking) string {
	var s []string
	for _, e := range rk.Entries {
		s = append(s, e.Region)
	}
	return strings.Join(s, " ")
}

func TestRestoreRejects(t *testing.T) {
	cfg := Config{Regions: []string{zj, bj}}
	e := mustNew(t, cfg)
	feed(t, e, 1, rated("a", zj, atMin(60), 5), published("p", bj, atMin(61), "x", 2))
	snap := e.AppendSnapshot(nil)
	if _, err := Restore(cfg, snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	// Region order in the config does not matter.
	if _, err := Restore(Config{Regions: []string{bj, zj}}, snap); err != nil {
		t.Fatalf("Restore with reordered regions: %v", err)
	}
	for n := 0; n < len(snap); n++ {
		if _, err := Restore(cfg, snap[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	for i := 0; i < len(snap); i++ {
		b := append([]byte(nil), snap...)
		b[i] ^= 0x40
		if _, err := Restore(cfg, b); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	if _, err := Restore(Config{Regions: []string{zj}}, snap); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("other regions: err = %v", err)
	}
	if _, err := Restore(Config{Regions: []string{zj, bj}, AllowedLateness: time.Hour}, snap); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("other lateness: err = %v", err)
	}
	if _, err := Restore(Config{Regions: []string{zj, bj}, MaxItemsPerLevel: 5}, snap); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("other item limit: err = %v", err)
	}
	for _, l := range []portals.Limits{{MaxPortals: 3}, {MaxItemsPerPortal: 7}} {
		if _, err := Restore(Config{Regions: []string{zj, bj}, PortalLimits: l}, snap); !errors.Is(err, ErrIncompatible) {
			t.Fatalf("other portal limits %+v: err = %v", l, err)
		}
	}
	// A snapshot of format 7 lacks the portal limits: it is rebuilt, and
	// the error says why.
	v7 := reseal(snap, func(b []byte) { b[3] = 7 })
	if _, err := Restore(cfg, v7); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "bounds of the portal state") {
		t.Fatalf("format 7: err = %v", err)
	}
	// A snapshot of format 8 lacks the lifecycle of reviews: rebuilt too.
	v8 := reseal(snap, func(b []byte) { b[3] = 8 })
	if _, err := Restore(cfg, v8); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "lifecycle of reviews") {
		t.Fatalf("format 8: err = %v", err)
	}
	// A snapshot of format 10 holds every review three times: rebuilt, so
	// that each is held once, as a record beside its remembered id.
	v10 := reseal(snap, func(b []byte) { b[3] = 10 })
	if _, err := Restore(cfg, v10); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "holds it once") {
		t.Fatalf("format 10: err = %v", err)
	}
	other := reseal(snap, func(b []byte) { b[3] = 0x7f })
	if _, err := Restore(cfg, other); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("other version: err = %v", err)
	}
	// A snapshot of format 1 remembered bare ids: it is never read, and
	// the error says why, for the log line of the rebuild.
	v1 := reseal(snap, func(b []byte) { b[3] = 1 })
	if _, err := Restore(cfg, v1); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "region and id") {
		t.Fatalf("format 1: err = %v, want incompatible, naming the identity by region and id", err)
	}
	// Format 2 lacks the composites before the last ranking change.
	v2 := reseal(snap, func(b []byte) { b[3] = 2 })
	if _, err := Restore(cfg, v2); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "before the last ranking change") {
		t.Fatalf("format 2: err = %v", err)
	}
	// Format 3 held one method without what explains the next changes;
	// format 4 one of the two.
	v3 := reseal(snap, func(b []byte) { b[3] = 3 })
	if _, err := Restore(cfg, v3); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "one method") ||
		!strings.Contains(err.Error(), "explains the next changes") {
		t.Fatalf("format 3: err = %v", err)
	}
	v4 := reseal(snap, func(b []byte) { b[3] = 4 })
	if _, err := Restore(cfg, v4); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "format 5 holds both") {
		t.Fatalf("format 4: err = %v", err)
	}
	if _, err := Restore(Config{Regions: []string{zj, bj}, Methods: []string{"2017", "2022"}}, snap); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("other methods: err = %v", err)
	}
	// Format 5 lacks the state of the units' portals.
	v5 := reseal(snap, func(b []byte) { b[3] = 5 })
	if _, err := Restore(cfg, v5); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "portals") {
		t.Fatalf("format 5: err = %v", err)
	}
	method := reseal(snap, func(b []byte) { b[7] = '8' }) // "2017" -> "2817"
	if _, err := Restore(cfg, method); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("other method: err = %v", err)
	}
}

// reseal edits a snapshot and recomputes its checksum.
func reseal(snap []byte, edit func([]byte)) []byte {
	b := append([]byte(nil), snap[:len(snap)-4]...)
	edit(b)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// TestItemLimit: a portal change that would add an item beyond
// MaxItemsPerLevel in its region and level is OverLimit and changes nothing
// but the watermark; changes of items already held, other levels and other
// regions still apply.
func TestItemLimit(t *testing.T) {
	e := mustNew(t, Config{Regions: []string{zj, bj}, MaxItemsPerLevel: 2})
	feed(t, e, 1,
		published("p1", zj, atMin(20), "a", 4),
		ev("c1", zj, atMin(21), &events.CatalogItemData{ItemCode: "b", Level: events.LevelProvince, Required: true}),
	)
	before := scoreOf(t, e, zj)
	for i, x := range []*events.Event{
		published("p2", zj, atMin(30), "c", 4),
		ev("c2", zj, atMin(31), &events.CatalogItemData{ItemCode: "c", Level: events.LevelProvince, Required: true}),
		ev("w1", zj, atMin(32), &events.ServiceWithdrawnData{ItemCode: "d", Level: events.LevelProvince}),
		ev("g1", zj, atMin(33), &events.GuideAuditedData{ItemCode: "e", Level: events.LevelProvince}),
	} {
		r := e.Apply(uint64(3+i), x)
		if r.Outcome != OverLimit || !strings.Contains(r.Reason, "2 items at level province") || r.Outcome.String() != "limit" {
			t.Fatalf("%s: %v %q, want limit", x.ID, r.Outcome, r.Reason)
		}
	}
	if w, _ := e.Watermark(); !w.Equal(atMin(33).Add(-DefaultOutOfOrderness)) {
		t.Fatalf("an event over the limit must still raise the watermark: %v", w)
	}
	if after := scoreOf(t, e, zj); after != before {
		t.Fatalf("an event over the limit changed the score: %v -> %v", before, after)
	}
	feed(t, e, 7,
		published("p3", zj, atMin(40), "b", 2),                                                   // an item already held
		ev("c3", zj, atMin(41), &events.CatalogItemData{ItemCode: "a", Level: events.LevelCity}), // another level
		published("p4", bj, atMin(42), "c", 4),                                                   // another region
		rated("r1", zj, atMin(43), 5),                                                            // not portal state
	)
	if s := scoreOf(t, e, zj); s.Published != 2 {
		t.Fatalf("published items %d, want 2", s.Published)
	}
	// The limit survives a snapshot: the restored state counts its items.
	r, err := Restore(e.Config(), e.AppendSnapshot(nil))
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Apply(11, published("p5", zj, atMin(50), "z", 1)); res.Outcome != OverLimit {
		t.Fatalf("after restore: %v", res)
	}
}

// An event of another partition's region, or a message known by its time
// alone, raises the watermark as it would in one engine holding every
// region: a new day rescores the partition's regions at its sequence, and
// lateness is judged against it.
func TestOtherPartitionsMoveTheWatermark(t *testing.T) {
	day := 24 * 60
	e := mustNew(t, Config{Regions: []string{zj, bj}})
	feed(t, e, 1, rated("r1", zj, atMin(10*day), 5))
	e.Drain()
	if r := e.Apply(2, rated("x", "440000", atMin(20*day), 1)); r.Outcome != NotInPartition {
		t.Fatalf("other region: %v", r)
	}
	if w, _ := e.Watermark(); !w.Equal(atMin(20*day - 10)) {
		t.Fatalf("watermark %v after another region's event, want %v", w, atMin(20*day-10))
	}
	out := e.Drain()
	if len(out.Scores) != 2 || out.Scores[0].Version != 2 || out.Scores[1].Version != 2 {
		t.Fatalf("the new day did not rescore both regions at version 2: %+v", out.Scores)
	}
	if r := e.Apply(3, rated("late", zj, atMin(12*day), 1)); r.Outcome != TooLate {
		t.Fatalf("event before the horizon of the stream's watermark: %v", r)
	}
	if !e.Observe(4, atMin(30*day)) {
		t.Fatal("Observe refused a new sequence")
	}
	if w, _ := e.Watermark(); !w.Equal(atMin(30*day - 10)) {
		t.Fatalf("watermark %v after Observe, want %v", w, atMin(30*day-10))
	}
	if e.Observe(4, atMin(40*day)) || e.LastSeq() != 4 {
		t.Fatal("Observe of a replayed sequence had an effect")
	}
	if w, _ := e.Watermark(); !w.Equal(atMin(30*day - 10)) {
		t.Fatalf("replayed Observe moved the watermark to %v", w)
	}
	for _, sc := range e.Drain().Scores {
		if sc.Version != 4 {
			t.Fatalf("score of %s has version %d after the day changed at 4", sc.Region, sc.Version)
		}
	}
}

// drainRanking drains e and returns the ranking of method 2017 in the output.
func drainRanking(e *Engine) *scoring.Ranking {
	out := e.Drain()
	return out.RankingOf(scoring.Method)
}
