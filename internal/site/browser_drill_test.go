package site

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// drillDown walks the ranking of the units below the provincial level in the browser of
// TestBrowser: from Zhejiang to Hangzhou to one of its counties and back up the breadcrumb, a
// county overtaking the others live, the key-city ranking from the main page's group switch, both
// languages and a phone's width.
func drillDown(t *testing.T, p *pipeline, ctx context.Context, shots string) {
	t.Helper()
	const zhejiang, hangzhou, ningbo, wenzhou = "330000", "330100", "330200", "330300"
	const xihu, yuhang, jiande = "330106", "330110", "330182"
	// Three of Zhejiang's eleven cities and three of Hangzhou's thirteen counties publish their
	// item; the others have no events and rank last.
	var evs []string
	for _, u := range []struct {
		code   string
		modes  int
		mature int
	}{{hangzhou, 6, 3}, {ningbo, 4, 2}, {wenzhou, 2, 1}, {xihu, 8, 3}, {yuhang, 3, 2}, {jiande, 5, 0}} {
		evs = append(evs,
			event("cat-P1", "catalog.item", u.code, 1, 1, `{"item_code":"P1","level":"province","required":true}`),
			event("pub-P1", "service.published", u.code, 1, 2, published("Service "+u.code, u.modes, u.mature)))
	}
	p.post(evs...)
	p.groupTop("cities-"+zhejiang, hangzhou, 3)
	p.groupTop("counties-"+hangzhou, xihu, 3)

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			where, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + ' ' + document.body.innerHTML.slice(0, 3000)`))
			t.Fatalf("%s: %v (at %s)", what, err, where)
		}
	}
	eval := func(what, js string) map[string]any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	rows := func(group string) string {
		return `Array.from(document.querySelectorAll('section[data-group="` + group + `"] tbody tr')).map(r => r.dataset.region)`
	}

	// From the ranking's row of Zhejiang to its cities: Hangzhou first, the cities without events
	// last and marked.
	step("Zhejiang's cities",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(p.site.URL+"/"),
		chromedp.WaitVisible(`#ranking tbody tr:nth-child(32)`),
		chromedp.Click(`button[data-lang="en"]`),
		chromedp.Click(`#ranking tr[data-region="`+zhejiang+`"] a.drill-link`),
		chromedp.WaitVisible(`section[data-group="cities-`+zhejiang+`"] tbody tr:nth-child(11)`),
	)
	zj := eval("Zhejiang's page", `({path: location.pathname, rows: `+rows("cities-"+zhejiang)+`,
		name: document.getElementById('name').textContent, heading: document.querySelector('section[data-group] h2').textContent,
		last: document.querySelector('section[data-group] tbody tr:last-child').className,
		lastGrade: document.querySelector('section[data-group] tbody tr:last-child .chip').textContent,
		place: document.querySelector('#places li[data-group="provinces"]').dataset.rank,
		crumbs: document.getElementById('crumbs').textContent})`)
	if got := fmt.Sprint(zj["rows"]); zj["path"] != "/units/"+zhejiang || zj["name"] != "Zhejiang" ||
		!strings.HasPrefix(got, "["+hangzhou+" "+ningbo+" "+wenzhou+" ") || zj["last"] != "unranked" ||
		zj["lastGrade"] != "no events" || zj["heading"] != "Cities of Zhejiang (11)" || zj["place"] == nil ||
		zj["crumbs"] != "All provincial unitsZhejiang" {
		t.Fatalf("Zhejiang's page: %v", zj)
	}

	// Down to Hangzhou's counties.
	step("Hangzhou's counties",
		chromedp.Click(`section[data-group="cities-`+zhejiang+`"] tr[data-region="`+hangzhou+`"] a.name-main`),
		chromedp.WaitVisible(`section[data-group="counties-`+hangzhou+`"] tbody tr:nth-child(13)`),
		chromedp.WaitVisible(`#places li[data-group="key-cities"][data-rank]`),
	)
	hz := eval("Hangzhou's page", `({rows: `+rows("counties-"+hangzhou)+`, name: document.getElementById('name').textContent,
		places: Array.from(document.querySelectorAll('#places li')).map(l => l.dataset.group + ':' + l.dataset.rank),
		crumbs: Array.from(document.querySelectorAll('#crumbs a')).map(a => a.getAttribute('href')),
		images: document.querySelectorAll('img').length})`)
	if got := fmt.Sprint(hz["rows"]); hz["name"] != "Hangzhou" || !strings.HasPrefix(got, "["+xihu+" "+yuhang+" "+jiande+" ") ||
		fmt.Sprint(hz["places"]) != "[cities-330000:1 key-cities:1]" || fmt.Sprint(hz["crumbs"]) != "[/ /units/"+zhejiang+"]" {
		t.Fatalf("Hangzhou's page: %v", hz)
	}
	// An event moves Yuhang to the top of Hangzhou's counties without a reload.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	p.post(event("pub-P1-all", "service.published", yuhang, 10, 9, published("Service "+yuhang, 8, 4)))
	step("Yuhang moves up live", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](`document.querySelector('section[data-group="counties-`+hangzhou+`"] tbody tr').dataset.region === '`+yuhang+`' && window.notReloaded`,
			chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
		return err
	}))
	moved := eval("after the move", `({cls: document.querySelector('section[data-group] tbody tr').className,
		change: document.querySelector('section[data-group] tbody tr td.change').textContent})`)
	if !strings.Contains(fmt.Sprint(moved["cls"]), "moved-up") || moved["change"] != "▲1" {
		t.Errorf("Yuhang after the move: %v", moved)
	}
	shoot(t, ctx, shots, "site-drill.png")

	// Down to a county: where it ranks, nothing below it, its details one link away.
	step("Xihu",
		chromedp.Click(`section[data-group="counties-`+hangzhou+`"] tr[data-region="`+xihu+`"] a.name-main`),
		chromedp.WaitVisible(`#places li[data-group="counties-`+hangzhou+`"][data-rank]`),
		chromedp.WaitVisible(`#leaf`),
	)
	xh := eval("Xihu's page", `({name: document.getElementById('name').textContent, rank: document.querySelector('#places li').dataset.rank,
		details: document.getElementById('details').getAttribute('href'), tables: document.querySelectorAll('section[data-group]').length,
		crumbs: Array.from(document.querySelectorAll('#crumbs a')).map(a => a.getAttribute('href'))})`)
	if xh["name"] != "Xihu" || xh["rank"] != "2" || xh["details"] != "/region/"+xihu || xh["tables"] != float64(0) ||
		fmt.Sprint(xh["crumbs"]) != "[/ /units/"+zhejiang+" /units/"+hangzhou+"]" {
		t.Fatalf("Xihu's page: %v", xh)
	}
	// Back up the breadcrumb, in Chinese.
	step("back to Hangzhou",
		chromedp.Click(`button[data-lang="zh"]`),
		chromedp.WaitVisible(`html[lang="zh-CN"]`),
		chromedp.Click(`#crumbs a[data-region="`+hangzhou+`"]`),
		chromedp.WaitVisible(`section[data-group="counties-`+hangzhou+`"] tbody tr:nth-child(13)`),
	)
	zh := eval("Hangzhou in Chinese", `({name: document.getElementById('name').textContent, heading: document.querySelector('section[data-group] h2').textContent,
		first: document.querySelector('section[data-group] tbody tr .name-main').textContent})`)
	if zh["name"] != "杭州市" || zh["heading"] != "杭州市县级单位 (13)" || zh["first"] != "余杭区" {
		t.Errorf("Hangzhou in Chinese: %v", zh)
	}
	step("back to Zhejiang",
		chromedp.Click(`#crumbs a[data-region="`+zhejiang+`"]`),
		chromedp.WaitVisible(`section[data-group="cities-`+zhejiang+`"] tbody tr:nth-child(11)`),
	)
	step("back to the ranking",
		chromedp.Click(`#crumbs li:first-child a`),
		chromedp.WaitVisible(`#ranking tbody tr:nth-child(32)`),
	)

	// The group switch of the main page leads to the ranking of the 32 key cities.
	step("key cities",
		chromedp.Click(`button[data-lang="en"]`),
		chromedp.Click(`#groups a[href="/?group=key-cities"]`),
		chromedp.WaitVisible(`#ranking tbody tr:nth-child(32)`),
	)
	kc := eval("key cities", `({first: document.querySelector('#ranking tbody tr').dataset.region,
		second: document.querySelector('#ranking tbody tr:nth-child(2)').dataset.region,
		title: document.querySelector('h1').textContent, rows: document.querySelectorAll('#ranking tbody tr').length,
		current: document.querySelector('#groups a[aria-current="page"]').getAttribute('href')})`)
	if kc["first"] != hangzhou || kc["second"] != ningbo || kc["rows"] != float64(32) || kc["current"] != "/?group=key-cities" ||
		!strings.Contains(fmt.Sprint(kc["title"]), "32 key cities") {
		t.Errorf("key cities: %v", kc)
	}

	// A phone's width.
	step("phone drill-down",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(p.site.URL+"/units/"+zhejiang),
		chromedp.WaitVisible(`section[data-group="cities-`+zhejiang+`"] tbody tr:nth-child(11)`),
	)
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the drill-down page is wider than a phone (%v)", err)
	}
	shoot(t, ctx, shots, "site-drill-phone.png")
}

// groupTop waits until the site's ranking of a group has first at the top and n units with a
// score.
func (p *pipeline) groupTop(group, first string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := p.groupTopOnce(group, first, n)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // within the API's rate limit
	}
}

func (p *pipeline) groupTopOnce(group, first string, n int) error {
	{
		var g GroupRanking
		if resp, body := p.getJSON("/api/v1/groups/"+group, &g); resp.StatusCode != 200 {
			return fmt.Errorf("%s: %s", resp.Status, body)
		}
		scored := 0
		for _, e := range g.Entries {
			if e.ScoreVersion > 0 {
				scored++
			}
		}
		if len(g.Entries) == 0 || g.Entries[0].Region != first || scored != n {
			return fmt.Errorf("group %s: %d scored, first %+v", group, scored, g.Entries)
		}
		return nil
	}
}
