package site

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/aggregate"
	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// The browser test's environment: where Chromium is, and where the screenshots go.
const (
	// envChromium names the browser binary (default: chromium on the PATH).
	envChromium = "GOVPULSE_CHROMIUM"
	// envScreenshots names a directory (relative to the repository root) for the screenshots the
	// README shows, such as "docs"; unset, they go to the test's temporary directory.
	envScreenshots = "GOVPULSE_SCREENSHOTS"
	// maxScreenshot bounds the size of one screenshot.
	maxScreenshot = 200 << 10
)

// hostile is a service name that would run a script if it were ever parsed as HTML.
const hostile = `<img src=x onerror=alert(1)>`

// chromium returns the browser to run, or skips the test (fails it when servers are required).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv(envChromium), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium: install Debian's chromium package (deploy/local/test.sh does) or set " + envChromium
	if os.Getenv(chtest.EnvRequire) == "1" {
		t.Fatal(msg + " (" + chtest.EnvRequire + "=1)")
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium with a fresh profile and returns a tab's context; the
// browser is closed at the end of the test.
func browser(t *testing.T, path string, dialogs *atomic.Int32) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}))
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		_ = chromedp.Cancel(cctx)
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// screenshotDir returns where the screenshots go.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(envScreenshots)
	if dir == "" {
		return t.TempDir()
	}
	if !filepath.IsAbs(dir) {
		root, err := filepath.Abs("../..") // this package is internal/site
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, dir)
	}
	return dir
}

// shoot saves a PNG of the viewport, which must stay under maxScreenshot.
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	shot = recompress(t, shot)
	if len(shot) > maxScreenshot {
		t.Errorf("screenshot %s: %d bytes, more than %d", name, len(shot), maxScreenshot)
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", filepath.Join(dir, name), len(shot)>>10)
}

// recompress returns the PNG b encoded again with the best compression, when that is smaller.
func recompress(t *testing.T, b []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		t.Fatalf("encode screenshot: %v", err)
	}
	if out.Len() < len(b) {
		return out.Bytes()
	}
	return b
}

// pipeline runs ingest, aggregate and the site in this process on one JetStream server and one
// ClickHouse database, as the commands do.
type pipeline struct {
	t      *testing.T
	store  *chstore.Store
	ingest *httptest.Server
	site   *httptest.Server
	client *http.Client
}

func startPipeline(t *testing.T) *pipeline {
	t.Helper()
	conn, database := chtest.Open(t)
	store := chstore.New(conn, database, nil)
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	url, _ := natstest.Start(t)
	nc, js := natstest.Connect(t, url)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.Names{}, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ing, err := ingest.New(ingest.Config{}, js, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	methods := []string{scoring.Method, scoring.Method2022}
	agg, err := aggregate.New(aggregate.Config{FlushInterval: 20 * time.Millisecond, Methods: methods}, js, store, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Methods: methods}, nc, store, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, store: store, ingest: httptest.NewServer(ing.Handler()), site: httptest.NewServer(srv.Handler()),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	runCtx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- agg.Run(runCtx) }()
	go func() { errs <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("run: %v", err)
			}
		}
		p.site.Close()
		p.ingest.Close()
		p.client.CloseIdleConnections()
	})
	waitFor(t, 10*time.Second, srv.Ready)
	return p
}

// post sends events through ingest and requires every one to be accepted.
func (p *pipeline) post(evs ...string) {
	p.t.Helper()
	resp, err := p.client.Post(p.ingest.URL+"/v1/events", "application/x-ndjson", strings.NewReader(strings.Join(evs, "\n")))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Accepted int }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Accepted != len(evs) {
		p.t.Fatalf("ingest: %s, %d of %d accepted (%v)", resp.Status, r.Accepted, len(evs), err)
	}
}

// composite waits until the stored latest score of region has the given composite and returns
// the time it was seen stored.
func (p *pipeline) composite(region string, want float64) time.Time {
	p.t.Helper()
	var at time.Time
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for at.IsZero() {
		rows, err := p.store.LatestScores(context.Background())
		if err != nil {
			p.t.Fatal(err)
		}
		for _, r := range rows {
			if r.Region == region && r.Composite == want {
				at = time.Now()
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			p.t.Fatalf("the score of %s never reached %v", region, want)
		}
	}
	return at
}

// getJSON reads a path of the site's API into v and returns the answer and its body.
func (p *pipeline) getJSON(path string, v any) (*http.Response, string) {
	p.t.Helper()
	resp, err := p.client.Get(p.site.URL + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		p.t.Fatalf("%s: %v: %s", path, err, body)
	}
	return resp, string(body)
}

// ranking returns the region codes of the site's ranking in rank order.
func (p *pipeline) ranking() (uint64, []string) {
	p.t.Helper()
	resp, err := p.client.Get(p.site.URL + "/api/v1/ranking")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Ranking
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
		return 0, nil
	}
	var codes []string
	for _, e := range r.Entries {
		codes = append(codes, e.Region)
	}
	return r.Version, codes
}

// event renders an event envelope at an hour of a December 2016 day (UTC).
func event(id, typ, region string, day, hour int, data string) string {
	t := time.Date(2016, 12, day, hour, 0, 0, 0, time.UTC).Format(time.RFC3339)
	id = region + "-" + id // unique across units too
	return fmt.Sprintf(`{"id":%q,"type":%q,"region":%q,"time":%q,"source":"site/test","data":%s}`, id, typ, region, t, data)
}

var modeNames = []string{"online_apply", "online_payment", "result_delivery", "mobile", "appointment", "consultation", "progress_query", "evaluation"}

// published renders a service.published payload of item P1 with the first k modes.
func published(name string, k, maturity int) string {
	modes, _ := json.Marshal(modeNames[:k])
	return fmt.Sprintf(`{"item_code":"P1","level":"province","name":%q,"department":"Department of %s","modes":%s,"maturity":%d}`,
		name, name, modes, maturity)
}

// composite2017 is the composite of a unit whose one required provincial item is published with k
// modes and the given maturity, without audits, applications or ratings.
func composite2017(k, maturity int) float64 {
	return (100*float64(k)/8 + 100 + 0 + 100*float64(maturity)/4) / 4
}

func TestBrowser(t *testing.T) {
	path := chromium(t)
	p := startPipeline(t)
	regs := events.Regions()
	const beijing, zhejiang = "110000", "330000"

	// Every unit publishes its one required item with a number of modes and a maturity that set
	// its place: Beijing (first in the list) has the fewest.
	var evs []string
	for i, r := range regs {
		name := "Service " + r.NameEN
		if r.Code == zhejiang {
			name = hostile
		}
		evs = append(evs,
			event("cat-P1", "catalog.item", r.Code, 1, 1, `{"item_code":"P1","level":"province","required":true}`),
			event("pub-P1", "service.published", r.Code, 1, 2, published(name, 1+i%8, (i/8)%4)))
	}
	p.post(evs...)
	// Zhejiang changes over a few days, so that its history has a shape.
	zjIndex := slices.IndexFunc(regs, func(r events.Region) bool { return r.Code == zhejiang })
	k, m := 1+zjIndex%8, (zjIndex/8)%4
	for day, step := range [][2]int{{2, 0}, {3, 1}, {4, 2}, {5, 1}, {6, 3}} {
		k2, m2 := min(8, max(1, k-2+step[0]+step[1])), min(3, max(0, m-1+step[1]))
		p.post(event(fmt.Sprintf("pub-P1-%d", day), "service.published", zhejiang, 2+day, 9, published(hostile, k2, m2)))
		p.composite(zhejiang, composite2017(k2, m2))
	}
	// A bad review of Zhejiang and the rectification opened on it: its reviews panel has rows.
	p.post(event("rv-1", "feedback.rated", zhejiang, 7, 1, `{"rating":1,"channel":"web"}`),
		event("rv-1-open", "rectification.opened", zhejiang, 7, 2, `{"review_id":"330000-rv-1","deadline_days":5}`))
	var (
		version uint64
		want    []string
	)
	waitFor(t, 20*time.Second, func() error {
		version, want = p.ranking()
		if len(want) != len(regs) {
			return fmt.Errorf("ranking of %d units", len(want))
		}
		return nil
	})

	var dialogs atomic.Int32
	ctx := browser(t, path, &dialogs)
	order := `Array.from(document.querySelectorAll('#ranking tbody tr')).map(r => r.dataset.region)`
	step := func(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The ranking page shows all units in order.
	step("ranking page", 20*time.Second,
		chromedp.EmulateViewport(1280, 1000),
		chromedp.Navigate(p.site.URL+"/"),
		chromedp.WaitVisible(`#ranking tbody tr:nth-child(32)`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.body.dataset.version >= %d`, version),
				chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			return err
		}),
	)
	// The order of the page is the order of the latest ranking (the page may be ahead of the
	// ranking read above while the last events are applied).
	var got []string
	sameOrder := func() error {
		_, want = p.ranking()
		var err error
		got, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](order))
		if err != nil || !slices.Equal(got, want) {
			return fmt.Errorf("rows %v, want %v (%v)", got, want, err)
		}
		return nil
	}
	waitFor(t, 5*time.Second, sameOrder)
	if slices.Index(got, beijing) < len(got)-4 {
		t.Fatalf("Beijing ranks %d, expected near the bottom", slices.Index(got, beijing)+1)
	}

	// An event through ingest moves Beijing to the top without a reload, within 2 s of the score
	// being stored.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	p.post(event("pub-P1-all", "service.published", beijing, 10, 9, published("Service Beijing", 8, 4)))
	stored := p.composite(beijing, composite2017(8, 4))
	pctx, cancel := context.WithDeadline(ctx, stored.Add(2*time.Second))
	_, err := chromedp.Run(pctx, chromedp.Poll[chromedp.Void](
		`document.querySelector('#ranking tbody tr') && document.querySelector('#ranking tbody tr').dataset.region === '`+beijing+`'`,
		chromedp.WithPollingTimeout(0), chromedp.WithPollingInterval(20*time.Millisecond)))
	cancel()
	if err != nil {
		t.Fatalf("Beijing's row did not move to the top within 2s of its score being stored: %v", err)
	}
	t.Logf("rows moved %s after the score was stored", time.Since(stored).Round(time.Millisecond))
	state, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](
		`({notReloaded: window.notReloaded === true, highlighted: document.querySelector('#ranking tbody tr').classList.contains('moved-up'),
		  change: document.querySelector('#ranking tbody tr td.change').textContent, rows: document.querySelectorAll('#ranking tbody tr').length})`))
	if err != nil || state["notReloaded"] != true || state["highlighted"] != true || !strings.HasPrefix(state["change"].(string), "▲") ||
		state["rows"] != float64(32) {
		t.Fatalf("after the move: %v (%v)", state, err)
	}
	waitFor(t, 5*time.Second, sameOrder)
	// Its change arrow says on hover why: the units it passed and the term that did it.
	step("rank change on hover", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](`(document.querySelector('#ranking tbody tr td.change span').title || '').indexOf('up ') === 0`,
			chromedp.WithPollingTimeout(8*time.Second))(ctx, tg)
		return err
	}))
	hover, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#ranking tbody tr td.change span').title`))
	if err != nil || !strings.Contains(hover, ": passed ") || !strings.Contains(hover, "(service modes)") && !strings.Contains(hover, "(online maturity)") {
		t.Errorf("hover of Beijing's arrow: %q (%v)", hover, err)
	}
	// Once the rows have arrived (600 ms), while the change is still shown.
	step("animation", 5*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](`document.getAnimations().every(a => a.playState !== 'running')`,
			chromedp.WithPollingTimeout(3*time.Second))(ctx, tg)
		return err
	}))
	shots := screenshotDir(t)
	shoot(t, ctx, shots, "site-ranking.png")

	// The unit page draws its chart, lists the counts, and shows the hostile name as text.
	step("unit page", 20*time.Second,
		chromedp.Navigate(p.site.URL+"/region/"+zhejiang),
		chromedp.WaitVisible(`#chart svg path.line.composite`),
		chromedp.WaitVisible(`#terms tbody tr:nth-child(5)`),
		chromedp.WaitVisible(`#events tbody tr`),
		chromedp.WaitVisible(`#explain[data-to-version]`),
		chromedp.WaitVisible(`#review-facts dd[data-key="opened"]`),
		chromedp.WaitVisible(`#review-days tbody tr`),
	)
	// The unit page says why its score changed over the last 30 days, as the API does.
	var x struct {
		SummaryEN string `json:"summary_en"`
		SummaryZH string `json:"summary_zh"`
	}
	if resp, body := p.getJSON("/api/v1/regions/"+zhejiang+"/explain", &x); resp.StatusCode != http.StatusOK {
		t.Fatalf("explain: %d %s", resp.StatusCode, body)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(`#explain`))
	if err != nil || shown != x.SummaryEN || !strings.Contains(shown, zhejiang+" composite ") || !strings.Contains(shown, "service.published") {
		t.Errorf("explanation shown %q, the API says %q (%v)", shown, x.SummaryEN, err)
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
		points: Number(document.getElementById('chart').dataset.points),
		path: document.querySelector('#chart svg path.line.composite').getAttribute('d'),
		events: document.querySelector('#events tbody').textContent,
		images: document.querySelectorAll('img').length,
		counts: document.querySelector('#terms').textContent,
		platform: document.getElementById('platform').textContent,
		name: document.getElementById('name').textContent})`))
	if err != nil {
		t.Fatal(err)
	}
	if page["points"].(float64) < 5 || strings.Count(page["path"].(string), "L") < 4 {
		t.Errorf("chart: %v points, path %v", page["points"], page["path"])
	}
	if !strings.Contains(page["events"].(string), hostile) || page["images"] != float64(0) || dialogs.Load() != 0 {
		t.Errorf("hostile name: events %q, %v img elements, %d dialogs", page["events"], page["images"], dialogs.Load())
	}
	if !strings.Contains(page["counts"].(string), "modes_total") || !strings.Contains(page["counts"].(string), "published_items = 1") ||
		page["name"] != "Zhejiang" {
		t.Errorf("unit page: %v", page)
	}
	// The unit's portal measures: its one portal (the main one) with its one item, nothing open,
	// nothing closed yet.
	for _, want := range []string{"Portals seen1", "Items on more than one portal0 / 1", "Open inconsistencies between portals0",
		"Share of items described inconsistently0.0 %", "Mean time an inconsistency stays opennone yet"} {
		if !strings.Contains(page["platform"].(string), want) {
			t.Errorf("unit page's portal measures: %q lacks %q", page["platform"], want)
		}
	}
	shoot(t, ctx, shots, "site-region.png")

	// The language switch, and a phone's width.
	step("language switch", 10*time.Second,
		chromedp.Click(`button[data-lang="zh"]`),
		chromedp.WaitVisible(`html[lang="zh-CN"]`),
	)
	name, err := chromedp.Run(ctx, chromedp.Text(`#name`))
	if err != nil || name != "浙江省" {
		t.Errorf("name in Chinese: %q (%v)", name, err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Text(`#explain`)); err != nil || shown != x.SummaryZH || !strings.Contains(shown, "综合指数") {
		t.Errorf("explanation in Chinese %q, the API says %q (%v)", shown, x.SummaryZH, err)
	}
	step("phone", 20*time.Second,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(p.site.URL+"/"),
		chromedp.WaitVisible(`#ranking tbody tr:nth-child(32)`),
	)
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the ranking page is wider than a phone (%v)", err)
	}
	shoot(t, ctx, shots, "site-ranking-phone.png")
	step("phone unit page", 20*time.Second,
		chromedp.Navigate(p.site.URL+"/region/"+zhejiang),
		chromedp.WaitVisible(`#chart svg path.line.composite`),
	)
	wide, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the unit page is wider than a phone (%v)", err)
	}
	shoot(t, ctx, shots, "site-region-phone.png")

	// Methods side by side: the selector leads to method 2022's ranking, with its own terms, and
	// to every unit's rank under both methods.
	step("method 2022", 20*time.Second,
		chromedp.EmulateViewport(1280, 1000),
		chromedp.Navigate(p.site.URL+"/"),
		chromedp.WaitVisible(`#methods a[href="/?method=2022"]`),
		chromedp.Click(`#methods a[href="/?method=2022"]`),
		chromedp.WaitVisible(`#ranking tbody tr:nth-child(32)`),
	)
	m22, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
		method: document.getElementById('method').textContent,
		current: document.querySelector('#methods a[aria-current="page"]').getAttribute('href'),
		bars: document.querySelectorAll('#ranking tbody tr:first-child .bars li').length,
		fill: document.querySelectorAll('#ranking tbody tr .fill.online_effectiveness').length,
		rows: document.querySelectorAll('#ranking tbody tr').length})`))
	if err != nil || m22["method"] != "2022" || m22["current"] != "/?method=2022" || m22["bars"] != float64(5) ||
		m22["fill"] != float64(32) || m22["rows"] != float64(32) {
		t.Errorf("method 2022 page: %v (%v)", m22, err)
	}
	step("side by side", 20*time.Second,
		chromedp.Click(`#methods a[href="/?view=compare"]`),
		chromedp.WaitVisible(`#compare tbody tr:nth-child(32)`),
	)
	cmp, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
		head: document.querySelectorAll('#compare thead th').length,
		first: document.querySelector('#compare tbody tr').dataset.region,
		ranking: document.getElementById('ranking-wrap').hidden})`))
	if err != nil || cmp["head"] != float64(6) || cmp["first"] != beijing || cmp["ranking"] != true {
		t.Errorf("side by side: %v (%v)", cmp, err)
	}
	// A unit's page under method 2022 explains its five dimensions from their counts.
	step("unit page under 2022", 20*time.Second,
		chromedp.Navigate(p.site.URL+"/region/"+zhejiang+"?method=2022"),
		chromedp.WaitVisible(`#terms tbody tr:nth-child(6)`),
	)
	terms, err := chromedp.Run(ctx, chromedp.Text(`#terms`))
	if err != nil || !strings.Contains(terms, "applications_on_time") || !strings.Contains(terms, "ratings_bad") {
		t.Errorf("unit page under 2022: %q (%v)", terms, err)
	}
	drillDown(t, p, ctx, shots)
}
