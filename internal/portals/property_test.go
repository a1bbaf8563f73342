package portals

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/pkg/events"
)

// model is the brute-force recomputation: the newest writer of every
// (item, portal, key) found by scanning every event so far, the portals
// seen, and the differing fields of every pair of portals on every item
// computed from scratch after each event.
type model struct {
	evs []*events.Event
}

type mkey struct {
	item   string // level/code
	portal string
	guide  bool
}

// newest returns the newest writer of every key among the events.
func (m *model) newest() (map[mkey]*events.Event, map[string]bool, map[string]bool) {
	w := map[mkey]*events.Event{}
	portals := map[string]bool{}
	items := map[string]bool{}
	for _, ev := range m.evs {
		k, p, _ := Of(ev)
		_, g := ev.Data.(*events.GuideAuditedData)
		mk := mkey{item: string(k.Level) + "/" + k.Code, portal: p, guide: g}
		portals[p], items[mk.item] = true, true
		old := w[mk]
		if old == nil || ev.Time.After(old.Time) || ev.Time.Equal(old.Time) && ev.ID > old.ID {
			w[mk] = ev
		}
	}
	return w, portals, items
}

// attrs returns a portal's description of an item as field -> value, nil
// when the portal does not publish it.
func attrs(w map[mkey]*events.Event, item, portal string) map[string]string {
	ev := w[mkey{item, portal, false}]
	if ev == nil {
		return nil
	}
	s, ok := ev.Data.(*events.ServicePublishedData)
	if !ok {
		return nil
	}
	var modes []string
	for _, mo := range events.Modes() {
		if slices.Contains(s.Modes, mo) {
			modes = append(modes, string(mo))
		}
	}
	a := map[string]string{"name": s.Name, "department": s.Department,
		"modes": strings.Join(modes, ","), "maturity": fmt.Sprint(s.Maturity)}
	if g := w[mkey{item, portal, true}]; g != nil {
		for i, e := range events.Elements() {
			a["guide."+string(e)] = string(g.Data.(*events.GuideAuditedData).Elements[i])
		}
	}
	return a
}

func word(w map[mkey]*events.Event, item, portal string) string {
	ev := w[mkey{item, portal, false}]
	if ev == nil {
		return "absent"
	}
	switch ev.Data.(type) {
	case *events.ServicePublishedData:
		return "published"
	case *events.ServiceWithdrawnData:
		return "withdrawn"
	}
	return "absent"
}

// diffs returns the differing fields of every pair of seen portals on every
// item, keyed "item|a|b", as "name=a/b" strings in the fixed field order.
func (m *model) diffs() map[string][]string {
	w, portals, items := m.newest()
	order := []string{"published", "name", "department", "modes", "maturity"}
	for _, e := range events.Elements() {
		order = append(order, "guide."+string(e))
	}
	out := map[string][]string{}
	for item := range items {
		for a := range portals {
			for b := range portals {
				if a >= b {
					continue
				}
				x, y := attrs(w, item, a), attrs(w, item, b)
				var f []string
				switch {
				case x == nil && y == nil:
				case x == nil || y == nil:
					f = []string{"published=" + word(w, item, a) + "/" + word(w, item, b)}
				default:
					for _, name := range order {
						xv, xok := x[name]
						yv, yok := y[name]
						if xok && yok && xv != yv {
							f = append(f, name+"="+xv+"/"+yv)
						}
					}
				}
				if len(f) > 0 {
					out[item+"|"+a+"|"+b] = f
				}
			}
		}
	}
	return out
}

func fieldStrings(c Inconsistency) []string {
	var f []string
	for _, x := range c.Fields {
		f = append(f, x.Name+"="+x.A+"/"+x.B)
	}
	return f
}

// TestPropertyBruteForce applies random streams (few items, portals, names
// and times, so that keys collide, writers lose and pairs open and close)
// and checks after every event: the open inconsistencies equal the
// brute-force recomputation; every change of the open set is returned by
// Take (also when Takes are skipped) with its opening and closing versions
// and event times; the measures equal a recomputation; a snapshot restores
// to a unit that continues identically.
func TestPropertyBruteForce(t *testing.T) {
	rows, closings := 0, 0
	defer func() {
		if !t.Failed() && (rows < 1000 || closings < 200) {
			t.Errorf("the streams gave %d rows, %d closings: too few to test anything", rows, closings)
		}
	}()
	for seed := uint64(1); seed <= 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		u := NewUnit("330000", Limits{})
		m := &model{}
		prev := map[string][]string{}
		opened := map[string]uint64{}      // open key -> opening version
		openedAt := map[string]time.Time{} // open key -> opening time
		var closed, nanos int64
		want := map[string]Inconsistency{} // expected rows not yet taken, by key|opened
		n := 20 + rng.IntN(80)
		for seq := uint64(1); seq <= uint64(n); seq++ {
			ev := randomEvent(rng)
			u.Apply(seq, ev)
			m.evs = append(m.evs, ev)
			cur := m.diffs()
			keys := map[string]bool{}
			for k := range prev {
				keys[k] = true
			}
			for k := range cur {
				keys[k] = true
			}
			for k := range keys {
				was, is := prev[k], cur[k]
				if reflect.DeepEqual(was, is) {
					continue
				}
				parts := strings.Split(k, "|")
				lc := strings.SplitN(parts[0], "/", 2)
				switch {
				case was == nil:
					opened[k], openedAt[k] = seq, ev.Time
				case is == nil:
					closed++
					nanos += max(ev.Time.Sub(openedAt[k]).Nanoseconds(), 0)
				}
				f := is
				if f == nil {
					f = was
				}
				var fields []Field
				for _, s := range f {
					name, v, _ := strings.Cut(s, "=")
					a, b, _ := strings.Cut(v, "/")
					fields = append(fields, Field{Name: name, A: a, B: b})
				}
				row := Inconsistency{Region: "330000", Level: lc[0], ItemCode: lc[1], PortalA: parts[1], PortalB: parts[2],
					Fields: fields, OpenedAt: openedAt[k].UTC(), OpenedVersion: opened[k], Version: seq}
				if is == nil {
					row.ClosedAt, row.ClosedVersion = ev.Time.UTC(), seq
				}
				want[fmt.Sprintf("%s|%d", k, opened[k])] = row
			}
			prev = cur

			var open []string
			for _, c := range u.Open() {
				open = append(open, fmt.Sprintf("%s/%s|%s|%s=%v", c.Level, c.ItemCode, c.PortalA, c.PortalB, fieldStrings(c)))
			}
			var wantOpen []string
			for k, f := range cur {
				wantOpen = append(wantOpen, fmt.Sprintf("%s=%v", k, f))
			}
			sort.Strings(open)
			sort.Strings(wantOpen)
			if !reflect.DeepEqual(open, wantOpen) {
				t.Fatalf("seed %d seq %d: open\n%v\nwant\n%v", seed, seq, open, wantOpen)
			}

			if rng.IntN(3) == 0 {
				b := u.AppendSnapshot(nil)
				r := NewUnit("330000", Limits{})
				rest, err := r.RestoreSnapshot(b)
				if err != nil || len(rest) != 0 {
					t.Fatalf("seed %d seq %d: restore: %v, %d bytes left", seed, seq, err, len(rest))
				}
				if again := r.AppendSnapshot(nil); string(again) != string(b) {
					t.Fatalf("seed %d seq %d: snapshot of the restored unit differs", seed, seq)
				}
				u = r
			}
			if rng.IntN(4) != 0 && seq != uint64(n) {
				continue
			}
			got, meas, _ := u.Take()
			var wantRows []Inconsistency
			for _, r := range want {
				wantRows = append(wantRows, r)
			}
			slices.SortFunc(wantRows, func(x, y Inconsistency) int {
				if c := comparePairs(x.key(), y.key()); c != 0 {
					return c
				}
				return int(x.OpenedVersion) - int(y.OpenedVersion)
			})
			if !reflect.DeepEqual(got, wantRows) {
				t.Fatalf("seed %d seq %d: Take\n%+v\nwant\n%+v", seed, seq, got, wantRows)
			}
			clear(want)
			rows += len(got)
			for _, c := range got {
				if !c.Open() {
					closings++
				}
			}
			if meas.Version != 0 && meas != u.Measures() {
				t.Fatalf("seed %d seq %d: Take's measures %+v, Measures %+v", seed, seq, meas, u.Measures())
			}
			checkMeasures(t, u.Measures(), m, len(cur), closed, nanos, seed, seq)
		}
	}
}

func checkMeasures(t *testing.T, got Measures, m *model, open int, closed, nanos int64, seed, seq uint64) {
	t.Helper()
	w, portals, items := m.newest()
	var pub, multi, incons int64
	for item := range items {
		n := 0
		for p := range portals {
			if attrs(w, item, p) != nil {
				n++
			}
		}
		if n >= 1 {
			pub++
		}
		if n >= 2 {
			multi++
		}
	}
	seen := map[string]bool{}
	for k := range m.diffs() {
		seen[strings.Split(k, "|")[0]] = true
	}
	incons = int64(len(seen))
	if got.Portals != int64(len(portals)) || got.PublishedItems != pub || got.MultiPortalItems != multi ||
		got.Open != int64(open) || got.InconsistentItems != incons || got.Closed != closed || got.OpenNanosTotal != nanos {
		t.Fatalf("seed %d seq %d: measures %+v; want portals %d published %d multi %d open %d inconsistent %d closed %d nanos %d",
			seed, seq, got, len(portals), pub, multi, open, incons, closed, nanos)
	}
}

// randomEvent returns a random description event over 3 items, 3 portals,
// 2 names and 2 maturities, with times that collide.
func randomEvent(rng *rand.Rand) *events.Event {
	portal := []string{"", "app", "mini"}[rng.IntN(3)]
	code := []string{"A1", "A2", "B7"}[rng.IntN(3)]
	level := []events.Level{events.LevelCity, events.LevelCounty}[rng.IntN(2)]
	ev := &events.Event{ID: fmt.Sprintf("e%03d", rng.IntN(40)), Region: "330000", Source: "t",
		Time: t0.Add(time.Duration(rng.IntN(30)) * time.Minute)}
	switch rng.IntN(3) {
	case 0:
		ev.Type = events.ServicePublished
		var modes []events.Mode
		for _, mo := range events.Modes()[:3] {
			if rng.IntN(3) == 0 {
				modes = append(modes, mo)
			}
		}
		ev.Data = &events.ServicePublishedData{ItemCode: code, Level: level, Name: []string{"n", "m"}[rng.IntN(2)],
			Department: []string{"d", "e"}[rng.IntN(2)], Modes: modes, Maturity: 2 + rng.IntN(2), Portal: portal}
	case 1:
		ev.Type = events.ServiceWithdrawn
		ev.Data = &events.ServiceWithdrawnData{ItemCode: code, Level: level, Portal: portal}
	default:
		ev.Type = events.GuideAudited
		d := &events.GuideAuditedData{ItemCode: code, Level: level, Portal: portal}
		for i := range d.Elements {
			d.Elements[i] = events.Correct
			if i < 2 && rng.IntN(3) == 0 {
				d.Elements[i] = events.Missing
			}
		}
		ev.Data = d
	}
	return ev
}
