package ingest_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
)

func TestParseTokens(t *testing.T) {
	h := ingest.HashToken("secret")
	entry := func(source, hash, regions, families string) string {
		return fmt.Sprintf(`{"source":%q,"sha256":%q,"regions":%s,"families":%s}`, source, hash, regions, families)
	}
	file := func(entries ...string) string { return `{"tokens":[` + strings.Join(entries, ",") + `]}` }
	tests := []struct {
		name string
		in   string
		err  string // "" when valid
	}{
		{"one token", file(entry("probe/zhejiang", h, `["330000"]`, `["feedback"]`)), ""},
		{"wildcards", file(entry("ops", h, `["*"]`, `["*"]`)), ""},
		{"upper-case hex", file(entry("ops", strings.ToUpper(h), `["*"]`, `["*"]`)), ""},
		{"two tokens", file(entry("a", h, `["110000"]`, `["catalog","service"]`), entry("b", ingest.HashToken("other"), `["*"]`, `["guide"]`)), ""},
		{"not JSON", `{"tokens":`, "parse"},
		{"trailing data", file(entry("a", h, `["*"]`, `["*"]`)) + `{}`, "after the JSON object"},
		{"unknown member", `{"tokens":[{"source":"a","sha256":"` + h + `","regions":["*"],"families":["*"],"admin":true}]}`, "unknown field"},
		{"no tokens", `{"tokens":[]}`, "no tokens"},
		{"empty source", file(entry("", h, `["*"]`, `["*"]`)), "source"},
		{"control character in source", file(entry("a\nb", h, `["*"]`, `["*"]`)), "source"},
		{"short hash", file(entry("a", h[:60], `["*"]`, `["*"]`)), "sha256"},
		{"plain token instead of hash", file(entry("a", "secret", `["*"]`, `["*"]`)), "sha256"},
		{"no regions", file(entry("a", h, `[]`, `["*"]`)), "regions"},
		{"unknown region", file(entry("a", h, `["999999"]`, `["*"]`)), "unknown unit"},
		{"subtree", file(entry("a", h, `["330000/*","110105"]`, `["*"]`)), ""},
		{"unknown subtree", file(entry("a", h, `["999999/*"]`, `["*"]`)), "unknown unit"},
		{"bad subtree", file(entry("a", h, `["330000/x"]`, `["*"]`)), "unknown unit"},
		{"subtree of all", file(entry("a", h, `["*/*"]`, `["*"]`)), "unknown unit"},
		{"no families", file(entry("a", h, `["*"]`, `[]`)), "families"},
		{"unknown family", file(entry("a", h, `["*"]`, `["scores"]`)), "unknown family"},
		{"type instead of family", file(entry("a", h, `["*"]`, `["feedback.rated"]`)), "unknown family"},
		{"hash twice", file(entry("a", h, `["*"]`, `["*"]`), entry("b", h, `["*"]`, `["*"]`)), "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := ingest.ParseTokens([]byte(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("ParseTokens: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("ParseTokens: %v, want an error containing %q", err, tt.err)
			case err != nil && strings.Contains(err.Error(), h):
				t.Fatalf("the error shows the hash: %v", err)
			case tt.err == "" && toks.Len() == 0:
				t.Fatal("no tokens")
			}
		})
	}
}

func TestHashToken(t *testing.T) {
	// echo -n secret | sha256sum
	if got := ingest.HashToken("secret"); got != "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b" {
		t.Errorf("HashToken = %s", got)
	}
}

func TestNewWithTokens(t *testing.T) {
	e := setup(t, ingest.Config{})
	path := writeTokens(t)
	// With tokens, a public address is allowed.
	if _, err := ingest.New(ingest.Config{Addr: "0.0.0.0:8080", TokensFile: path}, e.js, nil, nil); err != nil {
		t.Errorf("New with tokens on a public address: %v", err)
	}
	bad := path + ".bad"
	if err := os.WriteFile(bad, []byte(`{"tokens":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]ingest.Config{
		"missing file":     {TokensFile: path + ".missing"},
		"bad file":         {TokensFile: bad},
		"cert without key": {TLSCertFile: path},
		"missing cert":     {TLSCertFile: path + ".missing", TLSKeyFile: path + ".missing"},
	} {
		if _, err := ingest.New(cfg, e.js, nil, nil); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestTokenScopesAndMetrics(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1})
	url := serve(t, e, "http")
	c := client(t, nil)
	at := time.Now().Add(-time.Hour)
	// The Zhejiang feedback token may not rate Guizhou.
	res, resp := send(t, c, url, tokZhejiangFeedback, "application/json", fb("s-1", "520000", "5", at))
	if res.StatusCode != http.StatusForbidden || resp.Results[0].Reason != ingest.ReasonForbidden ||
		!strings.Contains(resp.Results[0].Error, "region 520000") {
		t.Fatalf("Guizhou rating with a Zhejiang token: %d %+v", res.StatusCode, resp)
	}
	res, _ = send(t, c, url, tokZhejiangFeedback, "application/json", fb("s-2", "330000", "5", at))
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("Zhejiang rating: %d", res.StatusCode)
	}
	res, _ = send(t, c, url, "", "application/json", fb("s-3", "330000", "5", at))
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d %v", res.StatusCode, res.Header)
	}
	send(t, c, url, "wrong", "application/json", fb("s-4", "330000", "5", at))
	body := e.getAdmin("/metrics").Body.String()
	for _, want := range []string{
		`govpulse_ingest_events_total{reason="forbidden",source="feedback/zhejiang",status="rejected"} 1`,
		`govpulse_ingest_events_total{reason="",source="feedback/zhejiang",status="accepted"} 1`,
		`govpulse_ingest_auth_failures_total{reason="missing"} 1`,
		`govpulse_ingest_auth_failures_total{reason="invalid"} 1`,
		`govpulse_ingest_requests_total{code="403"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, secret := range []string{tokZhejiangFeedback, ingest.HashToken(tokZhejiangFeedback), "wrong"} {
		if strings.Contains(body, secret) {
			t.Errorf("metrics show a secret")
		}
	}
	for _, m := range e.dlq(t) {
		if got := m.Header.Get(natsjs.HeaderSource); got != "feedback/zhejiang" {
			t.Errorf("dead letter source %q", got)
		}
	}
}

func TestReloadTokens(t *testing.T) {
	path := writeTokens(t)
	e := setup(t, ingest.Config{TokensFile: path, RateLimit: -1})
	url := serve(t, e, "http")
	c := client(t, nil)
	at := time.Now().Add(-time.Hour)
	const fresh = "fresh-token-0123456789"

	// Requests keep flowing while the file is reloaded.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, resp, err := trySend(c, url, tokOps, "application/json", fb(fmt.Sprintf("rl-%d", i), "330000", "3", at))
			if err != nil || res.StatusCode != http.StatusAccepted {
				select {
				case errs <- fmt.Sprintf("during reload: %v %v %+v", err, res, resp):
				default:
				}
				return
			}
		}
	}()

	// A broken file keeps the old tokens.
	if err := os.WriteFile(path, []byte(`{"tokens":[{"source":"x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Reload(); err == nil {
		t.Error("Reload of a broken file succeeded")
	}
	if res, _ := send(t, c, url, tokZhejiangFeedback, "application/json", fb("rl-a", "330000", "3", at)); res.StatusCode != http.StatusAccepted {
		t.Errorf("old token after a failed reload: %d", res.StatusCode)
	}
	// A good file replaces them.
	content := fmt.Sprintf(`{"tokens":[{"source":"ops","sha256":%q,"regions":["*"],"families":["*"]},
		{"source":"fresh","sha256":%q,"regions":["330000"],"families":["feedback"]}]}`, ingest.HashToken(tokOps), ingest.HashToken(fresh))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Reload(); err != nil {
		t.Fatal(err)
	}
	if res, _ := send(t, c, url, tokZhejiangFeedback, "application/json", fb("rl-b", "330000", "3", at)); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("removed token: %d", res.StatusCode)
	}
	if res, _ := send(t, c, url, fresh, "application/json", fb("rl-c", "330000", "3", at)); res.StatusCode != http.StatusAccepted {
		t.Errorf("new token: %d", res.StatusCode)
	}
	close(stop)
	wg.Wait()
	select {
	case msg := <-errs:
		t.Error(msg)
	default:
	}
	body := e.getAdmin("/metrics").Body.String()
	if !strings.Contains(body, `govpulse_ingest_reloads_total{result="error"} 1`) {
		t.Error("failed reload not counted")
	}
}

func TestRateLimit(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: 0.5, RateBurst: 2})
	url := serve(t, e, "http")
	c := client(t, nil)
	at := time.Now().Add(-time.Hour)
	for i := range 2 {
		if res, _ := send(t, c, url, tokOps, "application/json", fb(fmt.Sprintf("q-%d", i), "330000", "3", at)); res.StatusCode != http.StatusAccepted {
			t.Fatalf("request %d within the burst: %d", i, res.StatusCode)
		}
	}
	res, resp := send(t, c, url, tokOps, "application/json", fb("q-2", "330000", "3", at))
	if res.StatusCode != http.StatusTooManyRequests || resp.Error == "" {
		t.Fatalf("over the rate: %d %+v", res.StatusCode, resp)
	}
	if ra := res.Header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2", ra)
	}
	// Another token has its own bucket.
	if res, _ := send(t, c, url, tokZhejiangFeedback, "application/json", fb("q-3", "330000", "3", at)); res.StatusCode != http.StatusAccepted {
		t.Errorf("other token: %d", res.StatusCode)
	}
	if got := e.stored(t); len(got) != 3 {
		t.Errorf("stored %v", got)
	}
	if body := e.getAdmin("/metrics").Body.String(); !strings.Contains(body, `govpulse_ingest_rate_limited_total{source="ops"} 1`) {
		t.Error("429 not counted by source")
	}
}

func TestTLSListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), TLSCertFile: certFile, TLSKeyFile: keyFile})
	url := serve(t, e, "https")
	at := time.Now().Add(-time.Hour)
	res, _ := send(t, client(t, pool), url, tokOps, "application/json", fb("tls-1", "330000", "3", at))
	if res.StatusCode != http.StatusAccepted || res.TLS == nil {
		t.Fatalf("over TLS: %d %v", res.StatusCode, res.TLS)
	}
	// A client that does not trust the certificate fails the handshake.
	req, _ := http.NewRequest(http.MethodGet, url+"/healthz", nil)
	if res, err := client(t, nil).Do(req); err == nil {
		res.Body.Close()
		t.Fatal("untrusted certificate accepted")
	}
	// Plain HTTP to the TLS port gets no answer from the API.
	plain := strings.Replace(url, "https://", "http://", 1)
	if res, err := client(t, nil).Get(plain + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served")
		}
	}
	// Reload picks up a new certificate.
	certFile2, keyFile2, pool2 := selfSigned(t)
	data, _ := os.ReadFile(certFile2)
	key, _ := os.ReadFile(keyFile2)
	if err := os.WriteFile(certFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Reload(); err != nil {
		t.Fatal(err)
	}
	res, _ = send(t, client(t, pool2), url, tokOps, "application/json", fb("tls-2", "330000", "3", at))
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("after the certificate reload: %d", res.StatusCode)
	}
}

// TestExampleTokensFile loads the shipped example: its Zhejiang feedback
// token (the example token "secret") gets 403 for a Guizhou rating.
func TestExampleTokensFile(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: "../../deploy/ingest/tokens.example.json"})
	at := time.Now().Add(-time.Hour)
	url := serve(t, e, "http")
	c := client(t, nil)
	res, resp := send(t, c, url, "secret", "application/json", fb("ex-1", "520000", "5", at))
	if res.StatusCode != http.StatusForbidden || resp.Results[0].Reason != ingest.ReasonForbidden {
		t.Fatalf("Guizhou rating with the Zhejiang feedback token: %d %+v", res.StatusCode, resp)
	}
	if res, _ := send(t, c, url, "secret", "application/json", fb("ex-2", "330000", "5", at)); res.StatusCode != http.StatusAccepted {
		t.Fatalf("Zhejiang rating: %d", res.StatusCode)
	}
}
