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

// FuzzHandler sends arbitrary bodies. The handler must never panic, never
// answer 5xx other than 503, and always answer a Response whose counts add up
// and whose results are in order.
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
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	e := setup(f, ingest.Config{MaxBodyBytes: 64 << 10, MaxEvents: 100, PublishTimeout: 5 * time.Second})
	cts := []string{"application/json", "application/x-ndjson", "text/plain"}
	f.Fuzz(func(t *testing.T, ct byte, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", cts[int(ct)%len(cts)])
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		switch rec.Code {
		case 202, 400, 413, 415, 503:
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
			if r.Status == ingest.StatusRejected && r.Error == "" {
				t.Fatalf("rejection without error: %s", rec.Body)
			}
		}
		if rec.Code == 202 && resp.Accepted+resp.Duplicates == 0 {
			t.Fatalf("202 without an accepted event: %s", rec.Body)
		}
	})
}
