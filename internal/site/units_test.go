package site

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/groups"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// cityScore is a score of a unit below the provincial level with the given composite.
func cityScore(code string, version uint64, composite float64) scoring.Score {
	u, _ := events.LookupUnit(code)
	sc := scores(version, t0, 0)[0]
	sc.Region, sc.NameZH, sc.NameEN, sc.Composite, sc.Grade = u.Code, u.NameZH, u.NameEN, composite, grade(composite)
	return sc
}

// publishGroup ranks a group from scores as the aggregator does and sends the ranking on the
// group's subject and, when kv is set, into the bucket.
func (e *env) publishGroup(name string, scs []scoring.Score, prev *scoring.Ranking, kv bool) *scoring.Ranking {
	e.t.Helper()
	g, ok := groups.Lookup(name)
	if !ok {
		e.t.Fatalf("no group %s", name)
	}
	byCode := map[string]scoring.Score{}
	for _, sc := range scs {
		byCode[sc.Region] = sc
	}
	r := groups.Rank(g, byCode, prev, scs[0].Version, scs[0].AsOf)
	data, err := json.Marshal(r)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nc.Publish(e.names.GroupRankingsSubject(name), data); err != nil {
		e.t.Fatal(err)
	}
	if kv {
		if _, err := e.kv.Put(context.Background(), natsjs.GroupRankingKey(name), data); err != nil {
			e.t.Fatal(err)
		}
	}
	return r
}

func TestGroupAPI(t *testing.T) {
	e := start(t, Config{})
	const zhejiang, hangzhou, ningbo = "330000", "330100", "330200"
	g, _ := groups.Lookup(groups.CitiesOf(zhejiang))
	cities := len(g.Members)

	// Before any ranking of the group: every member, ranked as a unit without events, by code.
	var got GroupRanking
	if resp, body := e.get("/api/v1/groups/cities-330000", &got); resp.StatusCode != http.StatusOK {
		t.Fatalf("before a ranking: %s %s", resp.Status, body)
	}
	if got.Version != 0 || len(got.Entries) != cities || got.Entries[0].Region != hangzhou || got.Entries[0].Rank != 1 ||
		got.Entries[0].ScoreVersion != 0 || got.Parent == nil || got.Parent.NameEN != "Zhejiang" || got.Parent.Level != "provincial" {
		t.Fatalf("before a ranking: %+v", got)
	}
	var prov GroupRanking
	if resp, body := e.get("/api/v1/groups/provinces", &prov); resp.StatusCode != http.StatusOK || len(prov.Entries) != 32 || prov.Parent != nil {
		t.Fatalf("provinces: %s %s", resp.Status, body)
	}
	for path, status := range map[string]int{
		"/api/v1/groups/cities-330100":           http.StatusNotFound, // a city has no cities
		"/api/v1/groups/nope":                    http.StatusNotFound,
		"/api/v1/groups/key-cities?x=1":          http.StatusBadRequest,
		"/api/v1/units/999999":                   http.StatusNotFound,
		"/api/v1/stream?group=provinces":         http.StatusBadRequest,
		"/api/v1/stream?group=cities-110000":     http.StatusBadRequest, // Beijing's districts are counties-110000
		"/api/v1/stream?group=a,b,c,d,e,f,g,h,i": http.StatusBadRequest,
	} {
		if resp, body := e.get(path, nil); resp.StatusCode != status || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %s %s, want %d", path, resp.Status, body, status)
		}
	}

	// A stream that follows the group gets its rankings and the scores of its unit; one that does
	// not gets neither.
	follow, _ := e.stream("?group=cities-330000,key-cities&region="+ningbo, "")
	plain, _ := e.stream("", "")
	scs := []scoring.Score{cityScore(hangzhou, 10, 70), cityScore(ningbo, 10, 85)}
	for _, sc := range scs {
		e.publishScore(sc)
	}
	r := e.publishGroup(groups.CitiesOf(zhejiang), scs, nil, true)
	waitFor(t, 5*time.Second, func() error {
		got = GroupRanking{}
		e.get("/api/v1/groups/cities-330000", &got)
		if got.Version != 10 {
			return fmt.Errorf("version %d, want 10", got.Version)
		}
		return nil
	})
	if got.Group != "cities-330000" || got.Method != scoring.Method || len(got.Entries) != cities ||
		got.Entries[0].Region != ningbo || got.Entries[0].NameZH != "宁波市" || got.Entries[0].Composite != 85 ||
		got.Entries[0].ScoreVersion != 10 || got.Entries[0].ServiceModes != scs[1].ServiceModes ||
		got.Entries[1].Region != hangzhou || got.Entries[2].ScoreVersion != 0 || got.Entries[2].Composite != 0 {
		t.Fatalf("group ranking: %+v", got)
	}
	evs := until(t, follow, 5*time.Second, func(ev sse) bool { return ev.event == "group" })
	last := evs[len(evs)-1]
	var ev GroupRanking
	if err := json.Unmarshal([]byte(last.data), &ev); err != nil || ev.Group != "cities-330000" || last.id != "10" ||
		len(ev.Entries) != cities || ev.Entries[0].Region != ningbo {
		t.Fatalf("group event %s: %+v (%v)", last.id, ev, err)
	}
	if !slices.ContainsFunc(evs, func(ev sse) bool { return ev.event == "score" && strings.Contains(ev.data, `"region":"`+ningbo+`"`) }) {
		t.Errorf("the stream of %s did not get its score: %v", ningbo, evs)
	}
	// The plain stream gets the next provincial ranking, and nothing of the cities before it.
	e.publishAll(scores(11, t0, 0), nil)
	for _, ev := range until(t, plain, 5*time.Second, rankingEvent(11)) {
		if ev.event == "group" || strings.Contains(ev.data, `"region":"`+hangzhou+`"`) && ev.event == "score" {
			t.Fatalf("a stream without groups got %s %s", ev.event, ev.data)
		}
	}
	// A stream that comes later gets the group's latest ranking first.
	late, _ := e.stream("?group=cities-330000", "")
	until(t, late, 5*time.Second, func(ev sse) bool { return ev.event == "group" && ev.id == "10" })

	// A newer ranking moves Hangzhou up; an older one is ignored.
	scs2 := []scoring.Score{cityScore(hangzhou, 12, 90), scs[1]}
	scs2[1].Version = 12
	e.publishScore(scs2[0])
	e.publishGroup(groups.CitiesOf(zhejiang), scs2, r, true)
	e.publishGroup(groups.CitiesOf(zhejiang), scs, nil, false) // version 10 again
	until(t, follow, 5*time.Second, func(ev sse) bool { return ev.event == "group" && ev.id == "12" })
	got = GroupRanking{}
	e.get("/api/v1/groups/cities-330000", &got)
	if got.Version != 12 || got.Entries[0].Region != hangzhou || got.Entries[0].Change != 1 || got.Entries[0].PrevRank != 2 {
		t.Fatalf("after the move: %+v", got.Entries[:2])
	}

	// The unit page of a city and of a county: the API of any unit.
	var rd RegionDetail
	if resp, body := e.get("/api/v1/regions/"+hangzhou, &rd); resp.StatusCode != http.StatusOK || rd.NameEN != "Hangzhou" ||
		rd.Score == nil || rd.Score.Composite != 90 || rd.ISO != "" {
		t.Fatalf("region %s: %s %s", hangzhou, resp.Status, body)
	}
	for _, path := range []string{"/units/330106", "/region/330106"} {
		if resp, body := e.get(path, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<!doctype html>") {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
}

func TestUnitAPI(t *testing.T) {
	e := start(t, Config{})
	for _, c := range []struct {
		code                   string
		ancestors, grps, below []string
		children               int
	}{
		{"330000", nil, []string{"provinces"}, []string{"cities-330000"}, 11},
		{"330100", []string{"330000"}, []string{"cities-330000", "key-cities"}, []string{"counties-330100"}, 13},
		{"330106", []string{"330000", "330100"}, []string{"counties-330100"}, nil, 0},
		{"110000", nil, []string{"provinces"}, []string{"counties-110000"}, 16},
		{"410000", nil, []string{"provinces"}, []string{"cities-410000", "counties-410000"}, -1},
	} {
		var u UnitDetail
		if resp, body := e.get("/api/v1/units/"+c.code, &u); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %s", c.code, resp.Status, body)
		}
		var anc []string
		for _, a := range u.Ancestors {
			anc = append(anc, a.Region)
		}
		if u.Region != c.code || !slices.Equal(anc, c.ancestors) || !slices.Equal(u.Groups, c.grps) ||
			!slices.Equal(u.ChildGroups, c.below) || c.children >= 0 && len(u.Children) != c.children {
			t.Errorf("%s: %+v", c.code, u)
		}
		for _, ch := range u.Children {
			if ch.NameZH == "" || ch.NameEN == "" || ch.Level == "" {
				t.Errorf("%s: child %+v", c.code, ch)
			}
		}
	}
	var hz UnitDetail
	e.get("/api/v1/units/330100", &hz)
	if hz.NameZH != "杭州市" || hz.Level != "prefecture" || hz.Parent != "330000" || hz.Ancestors[0].NameEN != "Zhejiang" ||
		hz.Children[0].Children != 0 {
		t.Errorf("Hangzhou: %+v", hz)
	}
	var zj UnitDetail
	e.get("/api/v1/units/330000", &zj)
	if zj.Children[0].Region != "330100" || zj.Children[0].Children != 13 {
		t.Errorf("Zhejiang's first city: %+v", zj.Children[0])
	}
}

// TestGroupResync: the rankings of groups and the scores of cities put in the latest-value bucket
// while no message reaches the site are read at the next resync.
func TestGroupResync(t *testing.T) {
	e := start(t, Config{Resync: 200 * time.Millisecond})
	scs := []scoring.Score{cityScore("330100", 5, 77), cityScore("330200", 5, 66)}
	for _, sc := range scs {
		data, _ := json.Marshal(sc)
		if _, err := e.kv.Put(context.Background(), natsjs.ScoreKey(sc.Region), data); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := groups.Lookup("key-cities")
	r := groups.Rank(g, map[string]scoring.Score{"330100": scs[0], "330200": scs[1]}, nil, 5, t0)
	data, _ := json.Marshal(r)
	if _, err := e.kv.Put(context.Background(), natsjs.GroupRankingKey("key-cities"), data); err != nil {
		t.Fatal(err)
	}
	var got GroupRanking
	waitFor(t, 5*time.Second, func() error {
		got = GroupRanking{}
		e.get("/api/v1/groups/key-cities", &got)
		if got.Version != 5 || got.Entries[0].ScoreVersion != 5 {
			return fmt.Errorf("version %d", got.Version)
		}
		return nil
	})
	if got.Entries[0].Region != "330100" || got.Entries[1].Region != "330200" || len(got.Entries) != 32 || got.Parent != nil {
		t.Fatalf("key cities: %+v", got.Entries[:3])
	}
}

// TestClientWants is the rule of which stream events a client gets.
func TestClientWants(t *testing.T) {
	provScore := &frame{region: "330000", provincial: true}
	cityScore := &frame{region: "330100"}
	group := &frame{group: "cities-330000"}
	ranking := &frame{}
	for _, c := range []struct {
		client *client
		want   [4]bool // provScore, cityScore, group, ranking
	}{
		{&client{}, [4]bool{true, false, false, true}},
		{&client{region: "330000"}, [4]bool{true, false, false, true}},
		{&client{region: "110000"}, [4]bool{false, false, false, true}},
		{&client{region: "330100"}, [4]bool{false, true, false, true}},
		{&client{groups: []string{"key-cities", "cities-330000"}}, [4]bool{true, false, true, true}},
		{&client{region: "330106", groups: []string{"counties-330100"}}, [4]bool{false, false, false, true}},
	} {
		for i, f := range []*frame{provScore, cityScore, group, ranking} {
			if got := c.client.wants(f); got != c.want[i] {
				t.Errorf("client %+v, frame %d: %v, want %v", c.client, i, got, c.want[i])
			}
		}
	}
}

// FuzzDecodeGroupRanking feeds arbitrary bytes to the decoder of a group's ranking: it may not
// panic, and whatever decodes ranks members of the group only and becomes one well-formed stream
// event.
func FuzzDecodeGroupRanking(f *testing.F) {
	g, _ := groups.Lookup("counties-330100")
	r := groups.Rank(g, map[string]scoring.Score{"330106": cityScore("330106", 3, 70)}, nil, 3, t0)
	b, err := json.Marshal(r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("counties-330100", b)
	f.Add("key-cities", b)
	f.Add("provinces", b)
	f.Add("cities-330100", []byte(`{"version":1,"ranking":[{"rank":1,"region":"330106"}]}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		r, err := decodeGroupRanking(name, data)
		if err != nil {
			return
		}
		grp, ok := groups.Lookup(name)
		if !ok || name == groups.Provinces {
			t.Fatalf("decoded a ranking of group %q", name)
		}
		for _, e := range r.Entries {
			if !slices.Contains(grp.Members, e.Region) {
				t.Fatalf("group %s: %s is not a member", name, e.Region)
			}
		}
		fr, err := eventFrame("group", r.Version, groupRanking(name, r, map[string]*scoring.Score{}))
		if err == nil && (!strings.HasSuffix(string(fr.data), "\n\n") || strings.Count(string(fr.data), "\n") != 4) {
			t.Fatalf("malformed event %q", fr.data)
		}
	})
}

// TestGroupUnderAnotherMethod: the aggregator ranks the groups under its first method, which may
// not be the site's default; the entries then carry the scores of that method, read again from the
// bucket as the rankings are.
func TestGroupUnderAnotherMethod(t *testing.T) {
	e := start(t, Config{Methods: []string{scoring.Method, scoring.Method2022}, Resync: 200 * time.Millisecond})
	sc := cityScore("330100", 9, 81)
	sc.Method = scoring.Method2022
	data, _ := json.Marshal(sc)
	if _, err := e.kv.Put(context.Background(), natsjs.MethodScoreKey(scoring.Method2022, sc.Region), data); err != nil {
		t.Fatal(err)
	}
	g, _ := groups.Lookup("key-cities")
	r := groups.RankFunc(scoring.Method2022, g, func(code string) (float64, scoring.Grade, bool) {
		return sc.Composite, sc.Grade, code == sc.Region
	}, nil, 9, t0)
	data, _ = json.Marshal(r)
	if _, err := e.kv.Put(context.Background(), natsjs.GroupRankingKey("key-cities"), data); err != nil {
		t.Fatal(err)
	}
	var got GroupRanking
	waitFor(t, 5*time.Second, func() error {
		got = GroupRanking{}
		e.get("/api/v1/groups/key-cities", &got)
		if got.Version != 9 || got.Entries[0].ScoreVersion != 9 {
			return fmt.Errorf("version %d, first %+v", got.Version, got.Entries[0])
		}
		return nil
	})
	spec, _ := scoring.Lookup(scoring.Method2022)
	first := got.Entries[0]
	if got.Method != scoring.Method2022 || first.Region != "330100" || len(first.Terms) != len(spec.Terms) ||
		first.Terms[0].Name != spec.Terms[0].Name {
		t.Fatalf("key cities under 2022: %+v", first)
	}
}
