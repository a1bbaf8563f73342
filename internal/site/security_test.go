package site

import (
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPagesAndSecurityHeaders(t *testing.T) {
	e := start(t, Config{})
	for path, want := range map[string]struct {
		status int
		ctype  string
	}{
		"/":                         {200, "text/html; charset=utf-8"},
		"/region/330000":            {200, "text/html; charset=utf-8"},
		"/region/999999":            {404, "text/plain; charset=utf-8"},
		"/region/330106":            {200, "text/html; charset=utf-8"},
		"/units/330100":             {200, "text/html; charset=utf-8"},
		"/units/330101":             {404, "text/plain; charset=utf-8"},
		"/static/units.js":          {200, "text/javascript; charset=utf-8"},
		"/static/units.css":         {200, "text/css; charset=utf-8"},
		"/api/v1/groups/key-cities": {200, "application/json; charset=utf-8"},
		"/api/v1/units/330106":      {200, "application/json; charset=utf-8"},
		"/static/ranking.js":        {200, "text/javascript; charset=utf-8"},
		"/static/region.js":         {200, "text/javascript; charset=utf-8"},
		"/static/reviews.js":        {200, "text/javascript; charset=utf-8"},
		"/static/common.js":         {200, "text/javascript; charset=utf-8"},
		"/static/app.css":           {200, "text/css; charset=utf-8"},
		"/static/favicon.svg":       {200, "image/svg+xml"},
		"/static/none.js":           {404, "text/plain; charset=utf-8"},
		"/api/v1/regions/330000":    {200, "application/json; charset=utf-8"},
		"/api/v1/regions/3300001":   {404, "application/json; charset=utf-8"},
		"/healthz":                  {200, ""},
		"/readyz":                   {200, ""},
	} {
		resp, _ := e.get(path, nil)
		if resp.StatusCode != want.status || (want.ctype != "" && resp.Header.Get("Content-Type") != want.ctype) {
			t.Errorf("GET %s: %s %q, want %d %q", path, resp.Status, resp.Header.Get("Content-Type"), want.status, want.ctype)
		}
		h := resp.Header
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s: headers %v", path, h)
		}
	}
	for _, part := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, part) {
			t.Errorf("CSP lacks %s", part)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Errorf("CSP allows something unsafe: %s", ContentSecurityPolicy)
	}
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		for _, path := range []string{"/", "/api/v1/ranking", "/api/v1/stream", "/static/app.css"} {
			req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader("{}"))
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %s allow %q", method, path, resp.Status, resp.Header.Get("Allow"))
			}
		}
	}
	req, _ := http.NewRequest(http.MethodHead, e.http.URL+"/api/v1/stream", nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
}

// TestAssetsAreStrict checks what the Content-Security-Policy relies on: no inline script, style
// or event handler in the pages, and no script that parses text as HTML.
func TestAssetsAreStrict(t *testing.T) {
	inline := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle=`),
		regexp.MustCompile(`(?i)\son[a-z]+=`),
		regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/`), // another origin
	}
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\('style'|\.html\(`)
	err := fs.WalkDir(web, "web", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := web.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(b)
		switch {
		case strings.HasSuffix(path, ".html"):
			for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(text, -1) {
				if !strings.Contains(tag, ` src="/static/`) {
					t.Errorf("%s: script without a src of the site: %s", path, tag)
				}
			}
			for _, re := range inline {
				if m := re.FindString(text); m != "" {
					t.Errorf("%s: %q", path, m)
				}
			}
		case strings.HasSuffix(path, ".js"):
			if m := sinks.FindString(text); m != "" {
				t.Errorf("%s uses %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRateLimitAndCORS(t *testing.T) {
	e := start(t, Config{RateLimit: 0.001, RateBurst: 3, CORSOrigin: "https://example.org"})
	for i := range 5 {
		resp, body := e.get("/api/v1/regions/330000/history", nil)
		want := http.StatusOK
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("request %d: %s %s, want %d", i+1, resp.Status, body, want)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://example.org" {
			t.Errorf("request %d: CORS header %q", i+1, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if want == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"error":`)) {
			t.Errorf("429 without Retry-After or JSON error: %v %s", resp.Header, body)
		}
	}
	// Pages are not limited.
	if resp, _ := e.get("/", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("page after the API limit: %s", resp.Status)
	}
}

func TestLimiterForgetsTheLeastRecentAddress(t *testing.T) {
	now := time.Now()
	l := newLimiter(0.001, 1, 3)
	for _, a := range []string{"a", "b", "c"} {
		if !l.allow(a, now) {
			t.Fatalf("%s refused at first", a)
		}
	}
	if l.allow("a", now) || l.allow("b", now) {
		t.Fatal("a second request within the burst was allowed")
	}
	if !l.allow("d", now) || l.len() != 3 {
		t.Fatalf("d refused or %d addresses tracked, want 3", l.len())
	}
	// c was seen least recently (a and b were refused after it), so it was forgotten.
	if !l.allow("c", now) {
		t.Error("c still limited after it was forgotten")
	}
	if l.allow("d", now) {
		t.Error("d allowed twice")
	}
	if !newLimiter(-1, 1, 1).allow("x", now) {
		t.Error("no limit refused")
	}
}
