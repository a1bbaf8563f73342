package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/dlqarchive"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/testwait"
)

// cst is China Standard Time, in which the scenario's days are counted.
var cst = time.FixedZone("CST", 8*3600)

// at returns an RFC 3339 time on a December 2016 day in China Standard Time.
func at(day, hour, minute int) string {
	return time.Date(2016, 12, day, hour, minute, 0, 0, cst).Format(time.RFC3339)
}

// ev renders one event envelope.
func ev(id, typ, region, time string, data string) string {
	return fmt.Sprintf(`{"id":%q,"type":%q,"region":%q,"time":%q,"source":"e2e/test","data":%s}`, id, typ, region, time, data)
}

const (
	zhejiang = "330000"
	guizhou  = "520000"
)

// scenario is a small stream that exercises every formula of method 2017, with its expected
// results worked out by hand in TestEndToEnd. The order is the order of the stream.
func scenario() []string {
	allModes := `["online_apply","online_payment","result_delivery","mobile","appointment","consultation","progress_query","evaluation"]`
	allCorrect := `{"basis":"correct","conditions":"correct","materials":"correct","process":"correct","time_limit":"correct","fees":"correct","location":"correct","contact":"correct"}`
	return []string{
		// The catalogue: two required provincial items, one required city item, one county item
		// that is not required (so the county level has no required items and no weight).
		ev("zj-cat-p1", "catalog.item", zhejiang, at(1, 10, 0), `{"item_code":"P1","level":"province","required":true}`),
		ev("zj-cat-p2", "catalog.item", zhejiang, at(1, 10, 0), `{"item_code":"P2","level":"province","required":true}`),
		ev("zj-cat-c1", "catalog.item", zhejiang, at(1, 10, 0), `{"item_code":"C1","level":"city","required":true}`),
		ev("zj-cat-k1", "catalog.item", zhejiang, at(1, 10, 0), `{"item_code":"K1","level":"county","required":false}`),
		// Published services: P1 (4 modes, maturity 4), C1 (1 mode, maturity 2), X1 (no modes,
		// maturity 0, not in the catalogue), Y1 (published, then withdrawn; a stale publication
		// of Y1 that arrives later loses to the withdrawal).
		ev("zj-pub-p1", "service.published", zhejiang, at(2, 9, 0), `{"item_code":"P1","level":"province","name":"企业开办","department":"市场监管局","modes":["online_apply","online_payment","mobile","evaluation"],"maturity":4}`),
		ev("zj-pub-c1", "service.published", zhejiang, at(2, 9, 0), `{"item_code":"C1","level":"city","name":"Residence permit","department":"Public security","modes":["online_apply"],"maturity":2}`),
		ev("zj-pub-x1", "service.published", zhejiang, at(2, 9, 0), `{"item_code":"X1","level":"province","name":"Archive query","department":"Archives","modes":[],"maturity":0}`),
		ev("zj-pub-y1", "service.published", zhejiang, at(2, 9, 0), `{"item_code":"Y1","level":"province","name":"Y1","department":"D","modes":`+allModes+`,"maturity":4}`),
		ev("zj-wd-y1", "service.withdrawn", zhejiang, at(3, 9, 0), `{"item_code":"Y1","level":"province"}`),
		ev("zj-pub-y1-stale", "service.published", zhejiang, at(2, 12, 0), `{"item_code":"Y1","level":"province","name":"Y1","department":"D","modes":`+allModes+`,"maturity":4}`),
		// Audits: P1 6 of 8 correct and consistent; C1 4 of 8 correct and inconsistent (x 0.8);
		// P2 and Y1 are audited but not published, so they do not count.
		ev("zj-aud-p1", "guide.audited", zhejiang, at(4, 9, 0), `{"item_code":"P1","level":"province","consistent":true,"elements":{"basis":"correct","conditions":"correct","materials":"correct","process":"correct","time_limit":"correct","fees":"correct","location":"missing","contact":"incorrect"}}`),
		ev("zj-aud-c1", "guide.audited", zhejiang, at(4, 9, 0), `{"item_code":"C1","level":"city","consistent":false,"elements":{"basis":"correct","conditions":"correct","materials":"correct","process":"correct","time_limit":"missing","fees":"missing","location":"incorrect","contact":"incorrect"}}`),
		ev("zj-aud-p2", "guide.audited", zhejiang, at(4, 9, 0), `{"item_code":"P2","level":"province","consistent":true,"elements":`+allCorrect+`}`),
		ev("zj-aud-y1", "guide.audited", zhejiang, at(4, 9, 0), `{"item_code":"Y1","level":"province","consistent":true,"elements":`+allCorrect+`}`),
		// The platform reaches province, city and township: two levels without a gap.
		ev("zj-platform", "platform.updated", zhejiang, at(5, 9, 0), `{"integrated":true,"levels":["province","city","township"],"portals":12}`),
		// Applications: one completed online, one completed in person, one abandoned.
		ev("zj-app-1", "application.completed", zhejiang, at(10, 10, 0), `{"item_code":"P1","level":"province","outcome":"completed","online":true,"visits":0}`),
		ev("zj-app-2", "application.completed", zhejiang, at(10, 11, 0), `{"item_code":"C1","level":"city","outcome":"completed","online":false,"visits":1}`),
		ev("zj-app-3", "application.completed", zhejiang, at(11, 9, 0), `{"item_code":"X1","level":"province","outcome":"abandoned","online":true,"visits":0}`),
		// Ratings 5, 4, 2; the first two in one hour.
		ev("zj-rate-1", "feedback.rated", zhejiang, at(12, 10, 0), `{"rating":5,"channel":"web"}`),
		ev("zj-rate-2", "feedback.rated", zhejiang, at(12, 10, 30), `{"rating":4,"channel":"mobile","item_code":"P1","level":"province"}`),
		ev("zj-rate-3", "feedback.rated", zhejiang, at(13, 9, 0), `{"rating":2,"channel":"hotline"}`),
		// A resend of zj-rate-1 with other content: stored once, counted once.
		ev("zj-rate-1", "feedback.rated", zhejiang, at(12, 10, 0), `{"rating":1,"channel":"web"}`),
		// An invalid event: rejected with its field named, never stored.
		ev("zj-rate-bad", "feedback.rated", zhejiang, at(13, 9, 0), `{"rating":6,"channel":"web"}`),
		// Guizhou: one rating, then a platform update that moves the watermark to 20 December.
		ev("gz-rate-1", "feedback.rated", guizhou, at(14, 9, 0), `{"rating":3,"channel":"kiosk"}`),
		ev("gz-platform", "platform.updated", guizhou, at(20, 12, 0), `{"integrated":false,"levels":[],"portals":1}`),
		// Too late: 5 December is before the watermark (20 Dec 11:50) minus 7 days.
		ev("zj-rate-late", "feedback.rated", zhejiang, at(5, 9, 0), `{"rating":1,"channel":"web"}`),
	}
}

type pipeline struct {
	t      *testing.T
	js     jetstream.JetStream
	store  *chstore.Store
	ingest *httptest.Server
}

func startPipeline(t *testing.T) *pipeline {
	t.Helper()
	return startPipelineWith(t, ingest.Config{})
}

// startPipelineWith starts the pipeline with ingest configured by cfg.
func startPipelineWith(t *testing.T, cfg ingest.Config) *pipeline {
	t.Helper()
	conn, database := chtest.Open(t)
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	ctx := t.Context()
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ing, err := ingest.New(cfg, js, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ing.Handler())
	t.Cleanup(srv.Close)
	store := chstore.New(conn, database, nil)
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return &pipeline{t: t, js: js, store: store, ingest: srv}
}

// runAggregator runs an aggregator until the returned stop function is called; stop waits for
// its final flush and checkpoint and fails the test if Run failed.
func (p *pipeline) runAggregator() (stop func()) {
	p.t.Helper()
	svc, err := aggregate.New(aggregate.Config{FlushInterval: 20 * time.Millisecond}, p.js, p.store, nil, prometheus.NewRegistry())
	if err != nil {
		p.t.Fatal(err)
	}
	return testwait.Run(p.t, "aggregator", svc.Run)
}

// runDLQArchiver copies the DLQ stream into ClickHouse until the test ends.
func (p *pipeline) runDLQArchiver() {
	p.t.Helper()
	archiver, err := dlqarchive.New(dlqarchive.Config{FetchWait: 50 * time.Millisecond}, p.js, p.store, nil, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	testwait.Run(p.t, "dlq archiver", archiver.Run)
}

type response struct {
	Accepted, Duplicates, Rejected int
	Results                        []struct {
		Index  int
		ID     string
		Status string
		Error  string
	}
}

func (p *pipeline) post(body string) (int, response) {
	p.t.Helper()
	resp, err := http.Post(p.ingest.URL+"/v1/events", "application/json", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, r
}

// scoresAt waits until all 32 latest scores carry version and returns them by region.
func (p *pipeline) scoresAt(version uint64) map[string]chstore.ScoreRow {
	p.t.Helper()
	var byRegion map[string]chstore.ScoreRow
	testwait.For(p.t, 20*time.Second, 20*time.Millisecond, func() error {
		rows, err := p.store.LatestScores(p.t.Context())
		if err != nil {
			return err
		}
		byRegion = make(map[string]chstore.ScoreRow, len(rows))
		for _, r := range rows {
			if r.Version != version {
				return fmt.Errorf("region %s at version %d, want %d", r.Region, r.Version, version)
			}
			byRegion[r.Region] = r
		}
		if len(byRegion) != 32 {
			return fmt.Errorf("%d score rows, want 32", len(byRegion))
		}
		return nil
	})
	return byRegion
}

func TestEndToEnd(t *testing.T) {
	p := startPipeline(t)
	stopAggregator := p.runAggregator()
	p.runDLQArchiver()

	code, r := p.post("[" + strings.Join(scenario(), ",") + "]")
	if code != http.StatusAccepted || r.Accepted != 24 || r.Duplicates != 1 || r.Rejected != 1 {
		t.Fatalf("POST: %d %+v, want 202 with 24 accepted, 1 duplicate, 1 rejected", code, r)
	}
	if got := r.Results[22]; got.Status != "rejected" || !strings.Contains(got.Error, "data.rating") {
		t.Errorf("invalid rating: %+v, want rejected naming data.rating", got)
	}
	if got := r.Results[21]; got.Status != "duplicate" || got.ID != "zj-rate-1" {
		t.Errorf("resent id: %+v, want duplicate", got)
	}

	// The stream holds 24 events: the 21 first of the scenario (seq 1..21), Guizhou's two
	// (22, 23) and the late rating (24). Guizhou's platform update (23) moves the watermark to
	// 20 Dec 11:50 CST, a new day, so every unit is rescored at version 23; the late rating (24)
	// changes nothing. The last composite change was Guizhou's rating (22): the ranking's version.
	scores := p.scoresAt(23)
	wm := time.Date(2016, 12, 20, 11, 50, 0, 0, cst)

	zj := scores[zhejiang]
	// service_modes = 100 * (4+1+0) / (8*3) = 20.8333...; item_coverage = 100 * (0.4*1/2 + 0.3*1/1)
	// / (0.4+0.3) = 71.428571...; guide_accuracy = 100 * (6/8 + 0.8*4/8) / 2 = 57.5;
	// online_maturity = 100 * (0.5*D + 0.3*O + 0.2*S) with D = 6/(4*3) = 0.5, O = 1/3,
	// S = (11/3 - 1)/4 = 2/3: 48.3333...; composite = (20.833333 + 71.428571 + 57.5 + 48.333333)/4
	// = 49.52380925, rounded half away from zero to 49.523809.
	checkScore(t, zj, chstore.ScoreRow{
		Region: zhejiang, Version: 23, AsOf: wm, Method: "2017",
		ServiceModes: 20.833333, ItemCoverage: 71.428571, GuideAccuracy: 57.5, OnlineMaturity: 48.333333,
		Composite: 49.523809, Grade: "low", Satisfaction: ptr(66.666667),
		PlatformLevels: 2, Integrated: true, Portals: 12,
		Counts: scoring.Counts{PublishedItems: 3, ModesTotal: 5, MaturityTotal: 6,
			RequiredProvince: 2, CoveredProvince: 1, RequiredCity: 1, CoveredCity: 1,
			AuditedItems: 2, AuditCorrectConsistent: 6, AuditCorrectInconsistent: 4,
			Applications: 3, ApplicationsOnlineCompleted: 1, Ratings: 3, RatingSum: 11},
		WindowStart: time.Date(2016, 11, 21, 0, 0, 0, 0, cst), WindowEnd: time.Date(2016, 12, 21, 0, 0, 0, 0, cst),
	})
	// Guizhou: only S is present (rating 3: S = 0.5), so online_maturity = 100 * 0.2*0.5 / 0.2 = 50;
	// no published items, no required levels, no audits: zeros; composite 12.5.
	checkScore(t, scores[guizhou], chstore.ScoreRow{
		Region: guizhou, Version: 23, AsOf: wm, Method: "2017",
		OnlineMaturity: 50, Composite: 12.5, Grade: "low", Satisfaction: ptr(50), Portals: 1,
		Counts:      scoring.Counts{Ratings: 1, RatingSum: 3},
		WindowStart: time.Date(2016, 11, 21, 0, 0, 0, 0, cst), WindowEnd: time.Date(2016, 12, 21, 0, 0, 0, 0, cst),
	})
	// A unit without events: zeros, grade low, no satisfaction.
	checkScore(t, scores["110000"], chstore.ScoreRow{
		Region: "110000", Version: 23, AsOf: wm, Method: "2017", Grade: "low",
		WindowStart: time.Date(2016, 11, 21, 0, 0, 0, 0, cst), WindowEnd: time.Date(2016, 12, 21, 0, 0, 0, 0, cst),
	})

	// The ranking is written after the scores of the same batch: wait for it as well.
	var ranking []chstore.RankingRow
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		var err error
		if ranking, err = p.store.LatestRanking(t.Context()); err != nil {
			return err
		}
		if len(ranking) != 32 || ranking[0].Version != 22 {
			return fmt.Errorf("latest ranking has %d rows, want 32 at version 22", len(ranking))
		}
		return nil
	})
	wantOrder := []string{zhejiang, guizhou, "110000", "120000", "130000"} // then by code, all at 0
	for i, region := range wantOrder {
		if got := ranking[i]; int(got.Rank) != i+1 || got.Region != region || got.Version != 22 {
			t.Errorf("rank %d: %+v, want region %s at version 22", i+1, got, region)
		}
	}

	counts, err := p.store.EventCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if counts[zhejiang] != 22 || counts[guizhou] != 2 {
		t.Errorf("events per region: %v, want %s 22 and %s 2", counts, zhejiang, guizhou)
	}
	late, err := p.store.LateEvents(t.Context(), zhejiang)
	if err != nil {
		t.Fatal(err)
	}
	if len(late) != 1 || late[0].ID != "zj-rate-late" || late[0].StreamSeq != 24 || late[0].Reason == "" {
		t.Errorf("late events: %+v, want zj-rate-late at sequence 24 with a reason", late)
	}
	// The rejected event and the too-late one are dead letters, archived with their reasons.
	testwait.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		rows, err := p.store.DLQ(t.Context())
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.Stage+"/"+r.ReasonCode] = r.EventID
		}
		if got["ingest/out_of_range"] != "zj-rate-bad" || got["aggregate/too_late"] != "zj-rate-late" || len(rows) != 2 {
			return fmt.Errorf("dlq rows %+v, want the rejected rating and the late one", got)
		}
		return nil
	})

	windows, err := p.store.Windows(t.Context(), zhejiang)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, w := range windows {
		if w.Metric == "feedback.rated" && w.WindowStart.Equal(time.Date(2016, 12, 12, 10, 0, 0, 0, cst)) {
			found = true
			if w.Count != 2 || w.RatingSum != 9 || w.RatingCounts != [5]uint64{0, 0, 0, 1, 1} || w.Version != 20 {
				t.Errorf("hourly window of the first two ratings: %+v", w)
			}
		}
	}
	if !found {
		t.Errorf("no hourly feedback window at 12 Dec 10:00 CST in %+v", windows)
	}

	// The latest values are in the KV bucket for readers that start late.
	kv, err := p.js.KeyValue(t.Context(), natsjs.DefaultLatestBucket)
	if err != nil {
		t.Fatal(err)
	}
	var latest struct {
		Version uint64 `json:"version"`
		Ranking []struct {
			Rank   int    `json:"rank"`
			Region string `json:"region"`
		} `json:"ranking"`
	}
	testwait.For(t, 5*time.Second, 20*time.Millisecond, func() error {
		entry, err := kv.Get(t.Context(), "ranking")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(entry.Value(), &latest); err != nil {
			return err
		}
		if latest.Version != 22 {
			return fmt.Errorf("latest ranking in the bucket at version %d, want 22", latest.Version)
		}
		return nil
	})
	if latest.Version != 22 || len(latest.Ranking) != 32 || latest.Ranking[0].Region != zhejiang {
		t.Errorf("latest ranking in the bucket: %+v", latest)
	}

	// Restart: the aggregator stops (flush + checkpoint), a new one resumes from the checkpoint,
	// and one more rating for Guizhou (5) makes S = (8/2 - 1)/4 = 0.75: online maturity 75,
	// composite 18.75, at version 25.
	stopAggregator()
	p.runAggregator()
	if code, r := p.post(ev("gz-rate-2", "feedback.rated", guizhou, at(20, 10, 0), `{"rating":5,"channel":"web"}`)); code != http.StatusAccepted || r.Accepted != 1 {
		t.Fatalf("POST after restart: %d %+v", code, r)
	}
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		rows, err := p.store.LatestScores(t.Context())
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Region == guizhou {
				if r.Version != 25 || r.OnlineMaturity != 75 || r.Composite != 18.75 || r.Ratings != 2 {
					return fmt.Errorf("Guizhou after restart: version %d, online maturity %v, composite %v, ratings %d",
						r.Version, r.OnlineMaturity, r.Composite, r.Ratings)
				}
				return nil
			}
		}
		return errors.New("no Guizhou score")
	})
	// A flush stores its scores before its other rows (the events among them): wait for those too.
	testwait.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		counts, err := p.store.EventCounts(t.Context())
		if err != nil {
			return err
		}
		if counts[zhejiang] != 22 || counts[guizhou] != 3 {
			return fmt.Errorf("events per region after restart: %v, want 22 and 3", counts)
		}
		return nil
	})
}

func ptr(f float64) *float64 { return &f }

// checkScore compares every column of a stored score with the hand-computed one.
func checkScore(t *testing.T, got, want chstore.ScoreRow) {
	t.Helper()
	gj, wj := describe(got), describe(want)
	if gj != wj {
		t.Errorf("score of %s:\n got %s\nwant %s", want.Region, gj, wj)
	}
}

// describe renders a score row with times in UTC and floats at 1e-9, for comparison.
func describe(r chstore.ScoreRow) string {
	var b bytes.Buffer
	round := func(f float64) float64 { return math.Round(f*1e9) / 1e9 }
	sat := "null"
	if r.Satisfaction != nil {
		sat = fmt.Sprint(round(*r.Satisfaction))
	}
	fmt.Fprintf(&b, "v%d as_of=%s method=%s modes=%v coverage=%v guide=%v online=%v composite=%v grade=%s sat=%s",
		r.Version, r.AsOf.UTC().Format(time.RFC3339Nano), r.Method, round(r.ServiceModes), round(r.ItemCoverage),
		round(r.GuideAccuracy), round(r.OnlineMaturity), round(r.Composite), r.Grade, sat)
	fmt.Fprintf(&b, " levels=%d integrated=%v portals=%d pub=%d modes_total=%d maturity_total=%d req/cov=%d/%d,%d/%d,%d/%d,%d/%d",
		r.PlatformLevels, r.Integrated, r.Portals, r.PublishedItems, r.ModesTotal, r.MaturityTotal,
		r.RequiredProvince, r.CoveredProvince, r.RequiredCity, r.CoveredCity, r.RequiredCounty, r.CoveredCounty,
		r.RequiredTownship, r.CoveredTownship)
	fmt.Fprintf(&b, " aud=%d cc=%d ci=%d apps=%d online=%d ratings=%d sum=%d window=%s..%s",
		r.AuditedItems, r.AuditCorrectConsistent, r.AuditCorrectInconsistent, r.Applications,
		r.ApplicationsOnlineCompleted, r.Ratings, r.RatingSum,
		r.WindowStart.UTC().Format(time.RFC3339), r.WindowEnd.UTC().Format(time.RFC3339))
	return b.String()
}
