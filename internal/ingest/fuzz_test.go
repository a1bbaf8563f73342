package ingest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ingest"
)

// FuzzHandler sends arbitrary bodies, with or without a token scoped to
// Zhejiang feedback. The handler must never panic, never answer 5xx other
// than 503, and always answer a Response whose counts add up and whose
// results are in order; a rejected result always has a reason.
func FuzzHandler(f *testing.F) {
	at := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	seeds := []struct {
		ct   byte
		body string
	}{
		{0, feedback("f-1", 3, at)},
		{0, array(feedback("f-2", 3, at), feedback("f-3", 9, at))},
		{1, feedback("f-4", 1, at) + "\n" + feedback("f-5", 2, at)},
		{0, `[{"id":"x"},`},
		{0, `[]`},
		{0, ``},
		{0, `[1,"a",null,{},[]]`},
		{1, "{\n}\n[\n"},
		{0, `{"id":"f-6","type":"service.published","region":"330000","time":"2016-11-03T09:30:00+08:00","source":"s","data":{"item_code":"A1","level":"province","name":"n","department":"d","modes":["mobile"],"maturity":4}}`},
		{2, `{}`},
		{0, "[\"\\ud800\", \"\xff\"]"},
		{0, `[` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `]`},
		{3, array(feedback("f-7", 3, at), strings.Replace(feedback("f-8", 3, at), "330000", "520000", 1))},
		{3, strings.Replace(feedback("f-9", 3, at), `"source":"test"`, `"source":"x'); DROP TABLE events; --"`, 1)},
		{4, feedback("f-10", 3, at)},
		{3, "{\"id\":\"a\x00b\"}"},
		{3, `{"id":"f-11","id":"f-12"}`},
		{3, `{"id":"f-13","type":"feedback.rated","region":"330000","time":"2016-11-03T09:30:00+08:00","source":"s","data":{"rating":"5","channel":"web"}}`},
		{5, array(feedback("f-14", 3, at))},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	anon := setup(f, ingest.Config{MaxBodyBytes: 64 << 10, MaxEvents: 100, PublishTimeout: 5 * time.Second, RateLimit: -1})
	authed := setup(f, ingest.Config{MaxBodyBytes: 64 << 10, MaxEvents: 100, MaxEventBytes: 4 << 10,
		PublishTimeout: 5 * time.Second, RateLimit: -1, TokensFile: writeTokens(f)})
	cts := []string{"application/json", "application/x-ndjson", "text/plain"}
	// ct selects the content type (ct % 3) and, from 3 on, the server with
	// tokens: 3..5 send the Zhejiang feedback token, 6..8 a wrong one.
	f.Fuzz(func(t *testing.T, ct byte, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", cts[int(ct)%len(cts)])
		e := anon
		switch sel := int(ct) % 9; {
		case sel >= 6:
			e = authed
			req.Header.Set("Authorization", "Bearer wrong")
		case sel >= 3:
			e = authed
			req.Header.Set("Authorization", "Bearer "+tokZhejiangFeedback)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		switch rec.Code {
		case 202, 400, 401, 403, 413, 415, 503:
		default:
			t.Fatalf("code %d: %s", rec.Code, rec.Body)
		}
		var resp ingest.Response
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response %q: %v", rec.Body, err)
		}
		if n := resp.Accepted + resp.Duplicates + resp.Rejected + resp.Unavailable; n != len(resp.Results) {
			t.Fatalf("counts do not add up: %s", rec.Body)
		}
		for i, r := range resp.Results {
			if r.Index != i {
				t.Fatalf("result %d has index %d", i, r.Index)
			}
			if r.Status == ingest.StatusRejected && (r.Error == "" || r.Reason == "") {
				t.Fatalf("rejection without error or reason: %s", rec.Body)
			}
		}
		if rec.Code == 202 && resp.Accepted+resp.Duplicates == 0 {
			t.Fatalf("202 without an accepted event: %s", rec.Body)
		}
	})
}
