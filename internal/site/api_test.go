package site

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/portals"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

var t0 = time.Date(2016, 12, 20, 4, 0, 0, 0, time.UTC)

func TestRankingAPI(t *testing.T) {
	e := start(t, Config{})
	resp, body := e.get("/api/v1/ranking", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) {
		t.Fatalf("before any ranking: %s %s", resp.Status, body)
	}
	first := e.publishAll(scores(100, t0, 0), nil)
	second := e.publishAll(scores(200, t0.Add(time.Hour), 5), first)
	var got Ranking
	waitFor(t, 5*time.Second, func() error {
		got = Ranking{}
		e.get("/api/v1/ranking", &got)
		if got.Version != 200 {
			return fmt.Errorf("version %d, want 200", got.Version)
		}
		return nil
	})
	// An older ranking (a replay after a restart) does not replace it.
	e.publishRanking(first)
	e.publishAll(scores(300, t0.Add(2*time.Hour), 5), second) // a marker that the old one was read
	waitFor(t, 5*time.Second, func() error {
		got = Ranking{}
		e.get("/api/v1/ranking", &got)
		if got.Version != 300 {
			return fmt.Errorf("version %d, want 300", got.Version)
		}
		return nil
	})
	if got.Method != scoring.Method || !got.AsOf.Equal(t0.Add(2*time.Hour)) || len(got.Entries) != len(events.Regions()) {
		t.Fatalf("ranking %d: method %q as of %s, %d entries", got.Version, got.Method, got.AsOf, len(got.Entries))
	}
	byRegion := map[string]scoring.Score{}
	for _, sc := range scores(300, t0, 5) {
		byRegion[sc.Region] = sc
	}
	for i, en := range got.Entries {
		reg, _ := events.LookupRegion(en.Region)
		sc := byRegion[en.Region]
		if en.Rank != i+1 || en.NameZH != reg.NameZH || en.NameEN != reg.NameEN || en.Composite != sc.Composite ||
			en.ServiceModes != sc.ServiceModes || en.ItemCoverage != sc.ItemCoverage || en.GuideAccuracy != sc.GuideAccuracy ||
			en.OnlineMaturity != sc.OnlineMaturity || en.ScoreVersion != 300 || en.Grade != sc.Grade {
			t.Errorf("entry %d: %+v, score %+v", i, en, sc)
		}
		if i > 0 && got.Entries[i-1].Composite < en.Composite {
			t.Errorf("entry %d out of order", i)
		}
		if en.PrevRank == 0 || en.Change != en.PrevRank-en.Rank {
			t.Errorf("entry %d: prev_rank %d change %d", i, en.PrevRank, en.Change)
		}
	}
	// The raw answer carries the NATS message's field names.
	_, body = e.get("/api/v1/ranking", nil)
	for _, f := range []string{`"version":300`, `"as_of":`, `"method":"2017"`, `"ranking":[`, `"rank":1,`, `"region":`,
		`"composite":`, `"grade":`, `"prev_rank":`, `"change":`, `"name_zh":`, `"name_en":`, `"service_modes":`,
		`"item_coverage":`, `"guide_accuracy":`, `"online_maturity":`} {
		if !strings.Contains(body, f) {
			t.Errorf("ranking answer lacks %s", f)
		}
	}
}

// storeScores writes score rows to ClickHouse as the aggregator does.
func (e *env) storeScores(rows []chstore.ScoreRow) {
	e.t.Helper()
	if err := e.store.Write(context.Background(), chstore.Batch{MethodScores: rows}); err != nil {
		e.t.Fatal(err)
	}
}

func scoreRow(region string, version uint64, asOf time.Time, composite float64) chstore.ScoreRow {
	return chstore.ScoreRow{Region: region, Version: version, AsOf: asOf, Method: scoring.Method, Composite: composite,
		ServiceModes: composite - 1, ItemCoverage: composite + 1, GuideAccuracy: composite, OnlineMaturity: composite,
		Grade: grade(composite)}
}

func TestRegionAPI(t *testing.T) {
	e := start(t, Config{RecentEvents: 3})
	scs := scores(50, t0, 0)
	e.publishAll(scs, nil)
	const zj = "330000"
	hostile := `<img src=x onerror=alert(1)>`
	var rows []chstore.EventRow
	for i := range 5 {
		ev := fmt.Sprintf(`{"id":"zj-%d","type":"service.published","region":"330000","time":"2016-12-0%dT01:00:00Z","source":"t","data":{"item_code":"P%d","level":"province","name":%q,"department":"D","modes":["mobile"],"maturity":2}}`,
			i, i+1, i, hostile)
		rows = append(rows, chstore.EventRow{Region: zj, ID: fmt.Sprintf("zj-%d", i), Type: "service.published",
			Time: time.Date(2016, 12, i+1, 1, 0, 0, 0, time.UTC), StreamSeq: uint64(i + 1), Source: "t",
			ItemCode: fmt.Sprintf("P%d", i), Level: "province", Payload: ev})
	}
	rows = append(rows, chstore.EventRow{Region: "520000", ID: "gz-1", Type: "feedback.rated", Time: t0, StreamSeq: 9,
		Payload: `{"data":{"rating":3}}`})
	open := portals.Inconsistency{Region: zj, Level: "province", ItemCode: "P1", PortalA: "", PortalB: "app",
		Fields: []portals.Field{{Name: "name", A: hostile, B: "n"}}, OpenedAt: t0, OpenedVersion: 7, Version: 7}
	closed := open
	closed.ItemCode, closed.ClosedAt, closed.ClosedVersion, closed.Version = "P2", t0.Add(time.Hour), 8, 8
	measures := portals.Measures{Region: zj, Portals: 2, PublishedItems: 4, MultiPortalItems: 2, Open: 1,
		InconsistentItems: 1, Closed: 1, OpenNanosTotal: int64(time.Hour), Version: 8}
	if err := e.store.Write(context.Background(), chstore.Batch{Events: rows,
		Inconsistencies: []chstore.InconsistencyRow{open, closed}, PortalCounts: []chstore.PortalCountsRow{measures}}); err != nil {
		t.Fatal(err)
	}
	var d RegionDetail
	waitFor(t, 5*time.Second, func() error {
		d = RegionDetail{}
		e.get("/api/v1/regions/"+zj, &d)
		if d.Score == nil || d.Rank == nil {
			return fmt.Errorf("no score or rank yet: %+v", d)
		}
		return nil
	})
	if d.Region != zj || d.NameEN != "Zhejiang" || d.Score.Version != 50 || d.Platform == nil ||
		*d.Platform != (Platform{Levels: 3, Integrated: true, Portals: 12}) {
		t.Fatalf("detail: %+v platform %+v", d, d.Platform)
	}
	if len(d.Events) != 3 || d.Events[0].ID != "zj-4" || d.Events[2].ID != "zj-2" {
		t.Fatalf("events: %+v", d.Events)
	}
	measures.Share, measures.MeanOpenSeconds, measures.OpenNanosTotal = 0.25, 3600, 0
	if d.PortalMeasures == nil || *d.PortalMeasures != measures || !reflect.DeepEqual(d.Inconsistencies, []portals.Inconsistency{open}) {
		t.Fatalf("portal measures %+v, inconsistencies %+v", d.PortalMeasures, d.Inconsistencies)
	}
	if !strings.Contains(string(d.Events[0].Data), `"name":"\u003cimg src=x onerror=alert(1)\u003e"`) &&
		!strings.Contains(string(d.Events[0].Data), `"name":"<img src=x onerror=alert(1)>"`) {
		t.Errorf("event data: %s", d.Events[0].Data)
	}
	want := map[string][]Count{
		"service_modes":  {{"modes_total", 600}, {"published_items", 100}},
		"guide_accuracy": {{"audited_items", 10}, {"audit_correct_consistent", 70}, {"audit_correct_inconsistent", 0}},
		"satisfaction":   {{"rating_sum", 16}, {"ratings", 4}},
	}
	var indices []string
	for _, term := range d.Terms {
		indices = append(indices, term.Index)
		if w, ok := want[term.Index]; ok && !slices.Equal(term.Counts, w) {
			t.Errorf("term %s: counts %v, want %v", term.Index, term.Counts, w)
		}
		if term.Value == nil || term.Formula == "" {
			t.Errorf("term %s: %+v", term.Index, term)
		}
	}
	if !slices.Equal(indices, []string{"service_modes", "item_coverage", "guide_accuracy", "online_maturity", "satisfaction"}) {
		t.Errorf("terms %v", indices)
	}

	for path, status := range map[string]int{
		"/api/v1/regions/999999":              http.StatusNotFound,
		"/api/v1/regions/330000?x=1":          http.StatusBadRequest,
		"/api/v1/regions/999999/history":      http.StatusNotFound,
		"/api/v1/regions/abc":                 http.StatusNotFound,
		"/api/v1/nothing":                     http.StatusNotFound,
		"/api/v1/ranking?lang=en":             http.StatusBadRequest,
		"/api/v1/stream?region=999999":        http.StatusNotFound,
		"/api/v1/stream?region=1&region=2":    http.StatusBadRequest,
		"/api/v1/regions/330000/history?%zz=": http.StatusBadRequest,
	} {
		resp, body := e.get(path, nil)
		if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			!strings.Contains(body, `"error":`) {
			t.Errorf("GET %s: %s %s %s, want %d with a JSON error", path, resp.Status, resp.Header.Get("Content-Type"), body, status)
		}
	}
}

func TestHistoryAPI(t *testing.T) {
	e := start(t, Config{MaxHistoryPoints: 1000})
	const zj = "330000"
	var rows []chstore.ScoreRow
	for i := range 1200 {
		rows = append(rows, scoreRow(zj, uint64(10+i), t0.Add(time.Duration(i)*time.Minute), 50+float64(i%40)))
	}
	rows = append(rows, scoreRow("520000", 5000, t0, 70))
	e.storeScores(rows)
	e.storeScores(rows[1190:]) // written twice, as a retried flush does: still one point each

	var h History
	e.get("/api/v1/regions/"+zj+"/history", &h)
	if h.Points != 500 || len(h.Scores) == 0 || len(h.Scores) > 500 {
		t.Fatalf("default: %d points (limit %d)", len(h.Scores), h.Points)
	}
	last := h.Scores[len(h.Scores)-1]
	if last.Version != 1209 || !last.AsOf.Equal(t0.Add(1199*time.Minute)) || last.Composite != 50+float64(1199%40) {
		t.Errorf("last point %+v, want the latest score", last)
	}
	for i := 1; i < len(h.Scores); i++ {
		if h.Scores[i].Version <= h.Scores[i-1].Version {
			t.Fatalf("points out of order at %d", i)
		}
	}

	h = History{}
	from, to := t0.Add(100*time.Minute), t0.Add(110*time.Minute)
	e.get("/api/v1/regions/"+zj+"/history?from="+from.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339)+"&points=1000", &h)
	if len(h.Scores) != 10 || h.Scores[0].Version != 110 || h.Scores[9].Version != 119 || h.From == nil || !h.From.Equal(from) {
		t.Errorf("range: %d points %+v", len(h.Scores), h.Scores)
	}
	h = History{}
	e.get("/api/v1/regions/"+zj+"/history?points=7", &h)
	if len(h.Scores) == 0 || len(h.Scores) > 7 || h.Scores[len(h.Scores)-1].Version != 1209 {
		t.Errorf("points=7: %d points, last %+v", len(h.Scores), h.Scores[len(h.Scores)-1])
	}
	h = History{}
	e.get("/api/v1/regions/110000/history", &h)
	if len(h.Scores) != 0 || h.Scores == nil {
		t.Errorf("a unit without scores: %+v", h)
	}

	for _, q := range []string{"points=0", "points=1001", "points=x", "from=yesterday", "to=2016-13-01T00:00:00Z",
		"from=2016-12-02T00:00:00Z&to=2016-12-01T00:00:00Z", "from=2016-12-01T00:00:00Z&to=2016-12-01T00:00:00Z",
		"limit=5", "points=5&points=6"} {
		resp, body := e.get("/api/v1/regions/"+zj+"/history?"+q, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":`) {
			t.Errorf("?%s: %s %s, want 400", q, resp.Status, body)
		}
	}
}

func TestStreamResumesFromLastEventID(t *testing.T) {
	e := start(t, Config{})
	r1 := e.publishAll(scores(10, t0, 0), nil)
	waitFor(t, 5*time.Second, func() error {
		if rk, _ := e.srv.latest(""); rk == nil || rk.Version != 10 {
			return fmt.Errorf("ranking 10 not applied")
		}
		return nil
	})

	// A new client first gets the current state: every score, then the ranking.
	ch, stop := e.stream("", "")
	seen := until(t, ch, 5*time.Second, rankingEvent(10))
	if len(seen) != 33 || seen[0].event != "score" || seen[0].id != "10" {
		t.Fatalf("first state: %d events, first %+v", len(seen), seen[0])
	}
	// Then every new score and ranking, with its version as id.
	scs := scores(20, t0.Add(time.Hour), 3)
	r2 := e.publishAll(scs, r1)
	seen = until(t, ch, 5*time.Second, rankingEvent(20))
	if len(seen) != 33 {
		t.Fatalf("live: %d events, want 32 scores and the ranking", len(seen))
	}
	var rk Ranking
	if err := jsonUnmarshal(seen[32].data, &rk); err != nil || rk.Version != 20 || len(rk.Entries) != 32 || rk.Entries[0].NameEN == "" {
		t.Fatalf("ranking event: %v %+v", err, rk)
	}
	stop()

	// While it is away, one unit changes twice and a ranking follows.
	zj := scs[slices.IndexFunc(scs, func(s scoring.Score) bool { return s.Region == "330000" })]
	zj.Version, zj.Composite = 30, 99
	e.publishScore(zj)
	zj.Version, zj.Composite = 31, 98.5
	e.publishScore(zj)
	scs[slices.IndexFunc(scs, func(s scoring.Score) bool { return s.Region == "330000" })] = zj
	r3 := scoring.Rank(scs, r2, 31, t0.Add(2*time.Hour))
	e.publishRanking(r3)
	waitFor(t, 5*time.Second, func() error {
		if rk, _ := e.srv.latest(""); rk == nil || rk.Version != 31 {
			return fmt.Errorf("ranking 31 not applied")
		}
		return nil
	})
	// Coming back with the last id it saw, it gets what changed since: the latest score of the
	// unit and the latest ranking, and nothing older.
	ch, _ = e.stream("", "30")
	first := next(t, ch, 5*time.Second)
	second := next(t, ch, 5*time.Second)
	if first.event != "score" || first.id != "31" || !strings.Contains(first.data, `"region":"330000"`) ||
		second.event != "ranking" || second.id != "31" {
		t.Fatalf("resumed with %+v then %+v", first, second)
	}
	// The scores and the ranking of one flush share a version: a client that saw the unit's score
	// 31 but not yet ranking 31 gets both again.
	ch, _ = e.stream("", "31")
	first = next(t, ch, 5*time.Second)
	second = next(t, ch, 5*time.Second)
	if first.event != "score" || first.id != "31" || second.event != "ranking" || second.id != "31" {
		t.Fatalf("resumed at 31 with %+v then %+v", first, second)
	}
	ch, _ = e.stream("", "32")
	e.publishAll(scores(40, t0.Add(3*time.Hour), 0), r3)
	if ev := next(t, ch, 5*time.Second); ev.id != "40" {
		t.Fatalf("resumed beyond the state: first %+v, want the live events of version 40", ev)
	}
	// A client of one unit gets that unit's scores only.
	ch, _ = e.stream("?region=520000", "")
	seen = until(t, ch, 5*time.Second, func(ev sse) bool { return ev.event == "ranking" })
	if len(seen) != 2 || !strings.Contains(seen[0].data, `"region":"520000"`) {
		t.Fatalf("region stream: %+v", seen)
	}
	resp, body := e.getWith("/api/v1/stream", "Last-Event-ID", "yesterday")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":`) {
		t.Errorf("bad Last-Event-ID: %s %s", resp.Status, body)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestStreamDropsSlowClient(t *testing.T) {
	// The buffer holds one flush's burst (32 scores and a ranking) and little more.
	e := start(t, Config{StreamBuffer: 40, WriteTimeout: 2 * time.Second})
	prev := e.publishAll(scores(1, t0, 0), nil)
	waitFor(t, 5*time.Second, func() error {
		if rk, _ := e.srv.latest(""); rk == nil {
			return fmt.Errorf("no ranking yet")
		}
		return nil
	})
	fast, _ := e.stream("", "")
	until(t, fast, 5*time.Second, rankingEvent(1))

	// The slow client asks for the stream and never reads a byte.
	slow := e.rawStream(t)
	waitFor(t, 5*time.Second, func() error {
		if n := e.srv.Clients(); n != 2 {
			return fmt.Errorf("%d clients", n)
		}
		return nil
	})
	// Rankings come one after the other; the fast client gets each before the next is sent.
	var v uint64 = 1
	for e.srv.Clients() == 2 {
		if v > 20000 {
			t.Fatal("the slow client was never dropped")
		}
		v++
		prev = scoring.Rank(scores(v, t0, int(v)), prev, v, t0)
		e.publishRanking(prev)
		until(t, fast, 5*time.Second, rankingEvent(v))
	}
	// The fast one keeps receiving.
	for range 5 {
		v++
		prev = scoring.Rank(scores(v, t0, int(v)), prev, v, t0)
		e.publishRanking(prev)
		until(t, fast, 5*time.Second, rankingEvent(v))
	}
	if n := testutil.ToFloat64(e.srv.metrics.dropped); n != 1 {
		t.Errorf("%v clients dropped for being slow, want 1", n)
	}
	t.Logf("slow client dropped after %d rankings", v)
	slow.Close()
}

func TestStreamHeartbeat(t *testing.T) {
	e := start(t, Config{Heartbeat: 20 * time.Millisecond})
	resp, err := e.client.Get(e.http.URL + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for _, want := range []string{"retry: 2000\n", "\n", ": heartbeat\n", "\n"} {
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q (%v), want %q", line, err, want)
		}
	}
}

// TestStreamOutlivesReadTimeout runs the handler in a server with a short ReadTimeout, as
// cmd/site has one: a stream stays open past it (net/http clears the read deadline once the
// request is read).
func TestStreamOutlivesReadTimeout(t *testing.T) {
	e := start(t, Config{})
	hs := httptest.NewUnstartedServer(e.srv.Handler())
	hs.Config.ReadTimeout = 100 * time.Millisecond
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(e.http.Close)
	e.http = hs
	ch, _ := e.stream("", "")
	<-time.After(500 * time.Millisecond) // past the deadline
	e.publishAll(scores(5, t0, 0), nil)
	until(t, ch, 5*time.Second, rankingEvent(5))
}

func TestExplainAPI(t *testing.T) {
	e := start(t, Config{})
	const zj = "330000"
	f := func(v float64) *float64 { return &v }
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	b := chstore.Batch{
		ScoreChanges: []chstore.ScoreChangeRow{
			{Method: scoring.Method, Region: zj, Version: 10, Term: "composite", To: f(40), AsOf: at(1)},
			{Method: scoring.Method, Region: zj, Version: 20, Term: "composite", FromVersion: 10, From: f(40), To: f(42.5), Delta: f(2.5), AsOf: at(3)},
		},
		ScoreCauses: []chstore.ScoreCauseRow{
			{Method: scoring.Method, Region: zj, Version: 10, AsOf: at(1), FirstSeq: 1, LastSeq: 10, Applied: 3,
				EventTypes: []string{"feedback.rated"}, EventCounts: []uint64{3}},
			{Method: scoring.Method, Region: zj, Version: 20, FromVersion: 10, AsOf: at(3), FirstSeq: 12, LastSeq: 20, Applied: 2,
				EventTypes: []string{"service.published"}, EventCounts: []uint64{2}, Items: []string{"city/X published, 5 of 8 modes, maturity 3"}, ItemsTotal: 2},
		},
		RankChanges: []chstore.RankChangeRow{{Method: scoring.Method, Version: 20, FromVersion: 10, AsOf: at(3), Region: zj,
			OldRank: 4, NewRank: 3, Passed: []string{"110000"}, PassedTerms: []string{"service_modes"}}},
	}
	if err := e.store.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	var x struct {
		FromVersion uint64 `json:"from_version"`
		ToVersion   uint64 `json:"to_version"`
		Applied     int64  `json:"applied"`
		SummaryEN   string `json:"summary_en"`
	}
	path := "/api/v1/regions/" + zj + "/explain?from=" + at(2).Format(time.RFC3339) + "&to=" + at(4).Format(time.RFC3339)
	if resp, body := e.get(path, &x); resp.StatusCode != http.StatusOK || x.FromVersion != 10 || x.ToVersion != 20 || x.Applied != 2 ||
		!strings.HasPrefix(x.SummaryEN, zj+" composite +2.50 (40.00 → 42.50)") {
		t.Errorf("explain: %s %s", resp.Status, body)
	}
	var rc RankChanges
	if resp, body := e.get("/api/v1/rank-changes", &rc); resp.StatusCode != http.StatusOK || len(rc.Changes) != 1 ||
		rc.Changes[0].SummaryEN != "up 1 (4 → 3): passed 110000 (service modes)" {
		t.Errorf("rank changes: %s %s", resp.Status, body)
	}
	for _, q := range []string{"from=yesterday", "to=2016-13-01T00:00:00Z", "from=2016-12-02T00:00:00Z&to=2016-12-01T00:00:00Z", "points=5"} {
		resp, body := e.get("/api/v1/regions/"+zj+"/explain?"+q, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":`) {
			t.Errorf("?%s: %s %s, want 400", q, resp.Status, body)
		}
	}
	if resp, _ := e.get("/api/v1/regions/999999/explain", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown region: %s", resp.Status)
	}
}
