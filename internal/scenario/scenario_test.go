package scenario

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// topTen is the published 2016 top ten, in order.
func topTen() []string {
	return []string{"330000", "520000", "320000", "310000", "350000",
		"360000", "370000", "620000", "440000", "500000"}
}

func TestUnits(t *testing.T) {
	units := Units()
	if len(units) != 32 {
		t.Fatalf("%d units, want 32", len(units))
	}
	seen := map[string]bool{}
	depth := map[int]int{}
	integrated := 0
	for i, u := range units {
		if _, ok := events.LookupRegion(u.Region); !ok || seen[u.Region] {
			t.Errorf("unit %d: region %q unknown or repeated", i, u.Region)
		}
		seen[u.Region] = true
		depth[u.PlatformLevels]++
		if u.Integrated {
			integrated++
		}
		if i > 0 && units[i-1].Target-u.Target < 1 {
			t.Errorf("targets of %s and %s are closer than 1 point", units[i-1].Region, u.Region)
		}
	}
	if want := map[int]int{4: 3, 3: 8, 2: 3, 1: 15, 0: 3}; !reflect.DeepEqual(depth, want) {
		t.Errorf("platform depths %v, want %v", depth, want)
	}
	if integrated != 27 {
		t.Errorf("%d integrated, want 27", integrated)
	}
	for i, r := range topTen() {
		if units[i].Region != r {
			t.Errorf("unit %d is %s, want %s", i, units[i].Region, r)
		}
	}
}

func TestGenerateValid(t *testing.T) {
	evs := Generate(Options{})
	if n := len(evs); n < 20000 || n > 40000 {
		t.Errorf("%d events, want 20,000..40,000", n)
	}
	idRE := regexp.MustCompile(`^scn-([0-9]{6})-([1-9][0-9]*)$`)
	ids := map[string]bool{}
	regions := map[string]int{}
	types := map[events.Type]int{}
	y2016 := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	y2017 := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	var maxT time.Time
	for i := range evs {
		ev := &evs[i]
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %d (%s): %v", i, ev.ID, err)
		}
		m := idRE.FindStringSubmatch(ev.ID)
		if m == nil || m[1] != ev.Region {
			t.Errorf("event %d: id %q is not scn-<region>-<n>", i, ev.ID)
		}
		if ids[ev.ID] {
			t.Errorf("id %s repeated", ev.ID)
		}
		ids[ev.ID] = true
		regions[ev.Region]++
		types[ev.Type]++
		if ev.Time.Before(y2016) || !ev.Time.Before(y2017) {
			t.Errorf("event %s at %v, not in 2016", ev.ID, ev.Time)
		}
		if ev.Time.After(maxT) {
			maxT = ev.Time
		}
	}
	if len(regions) != 32 {
		t.Errorf("%d regions have events, want 32", len(regions))
	}
	for _, typ := range events.Types() {
		if types[typ] == 0 && !typ.Lifecycle() { // the 2017 scenarios have no review lifecycle
			t.Errorf("no %s events", typ)
		}
	}
	if !maxT.Equal(End()) {
		t.Errorf("last event time %v, want %v", maxT, End())
	}
	t.Logf("%d events: %v", len(evs), types)
}

// TestGenerateLateness replays the scenario's watermark: no user-experience
// event is too late (older than the watermark minus 7 days) when it
// arrives, every one lies in the final rolling window, and some arrive out
// of order.
func TestGenerateLateness(t *testing.T) {
	evs := Generate(Options{})
	var maxT time.Time
	outOfOrder := 0
	for i := range evs {
		ev := &evs[i]
		if ev.Time.Before(maxT) {
			outOfOrder++
		} else {
			maxT = ev.Time
		}
		if ev.Type.Portal() {
			continue
		}
		if w := maxT.Add(-10 * time.Minute); ev.Time.Before(w.Add(-7 * 24 * time.Hour)) {
			t.Errorf("event %s at %v is too late for watermark %v", ev.ID, ev.Time, w)
		}
	}
	w := maxT.Add(-10 * time.Minute)
	start := chinaDay(w).AddDate(0, 0, -29)
	for i := range evs {
		if ev := &evs[i]; !ev.Type.Portal() && ev.Time.Before(start) {
			t.Errorf("event %s at %v is before the final window %v", ev.ID, ev.Time, start)
		}
	}
	if outOfOrder < 20 {
		t.Errorf("%d events out of order, want some", outOfOrder)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(Options{}), Generate(Options{Seed: DefaultSeed})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs differ")
	}
	c := Generate(Options{Seed: 7})
	if reflect.DeepEqual(a, c) {
		t.Fatal("seed 7 gives the default scenario")
	}
}

// TestGenerateRanking checks the final scores with the reference
// implementation of the method, for the default seed and a few others.
func TestGenerateRanking(t *testing.T) {
	seeds := []int64{0, 1, 7, 99, 123456789}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			scores := reference(Generate(Options{Seed: seed}))
			checkRanking(t, refRanking(scores))
		})
	}
}

func checkRanking(t *testing.T, ranking []refScore) {
	t.Helper()
	var order []string
	for _, s := range ranking {
		order = append(order, s.region)
	}
	var want []string
	for _, u := range Units() {
		want = append(want, u.Region)
	}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("ranking\n%v\nwant\n%v", order, want)
	}
	for i := 1; i < len(ranking); i++ {
		if gap := ranking[i-1].composite - ranking[i].composite; gap < 0.5 {
			t.Errorf("composites of ranks %d and %d are %.3f apart, want >= 0.5", i, i+1, gap)
		}
	}
	units := map[string]Unit{}
	for _, u := range Units() {
		units[u.Region] = u
	}
	var b strings.Builder
	for i, s := range ranking {
		u := units[s.region]
		if s.platformLevels != u.PlatformLevels || s.integrated != u.Integrated {
			t.Errorf("%s: platform %d integrated %v, want %d %v", s.region, s.platformLevels, s.integrated, u.PlatformLevels, u.Integrated)
		}
		if d := s.composite - u.Target; d < -0.3 || d > 0.3 {
			t.Errorf("%s: composite %.3f, target %.1f", s.region, s.composite, u.Target)
		}
		fmt.Fprintf(&b, "%2d %s %8.4f  modes %7.3f coverage %7.3f guide %7.3f online %7.3f  pub %3d aud %3d apps %3d ratings %3d\n",
			i+1, s.region, s.composite, s.modes, s.coverage, s.guide, s.online, s.published, s.audited, s.nApps, s.nRat)
	}
	t.Log("\n" + b.String())
}
