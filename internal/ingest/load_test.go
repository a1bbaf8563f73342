package ingest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/testwait"
)

// metric returns the value of one series of the admin /metrics ("" when
// absent).
func (e *env) metric(series string) string {
	for line := range strings.Lines(e.getAdmin("/metrics").Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}

// dialFrom opens a TCP connection to the address of url from a local IP.
func dialFrom(t *testing.T, url, localIP string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	c, err := d.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatalf("dial from %s: %v", localIP, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes a raw request on c and reads the response.
func roundTrip(c net.Conn, br *bufio.Reader, raw string) (*http.Response, error) {
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, raw); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res, err
}

const healthz = "GET /healthz HTTP/1.1\r\nHost: ingest\r\n\r\n"

// postHead returns the head of a raw POST /v1/events with a token ("" for
// none) and a declared Content-Length.
func postHead(token string, length int) string {
	h := "POST /v1/events HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(length) + "\r\n"
	if token != "" {
		h += "Authorization: Bearer " + token + "\r\n"
	}
	return h + "\r\n"
}

// TestDeclaredLengthNotReserved opens 16 requests that declare a 4 MiB body
// and send a few bytes of it: ingest's heap must follow the bytes sent, not
// the lengths declared (16 × 4 MiB = 64 MiB before the fix).
func TestDeclaredLengthNotReserved(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1})
	url := serve(t, e, "http")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 16
	for range n {
		c := dialFrom(t, url, "127.0.0.1")
		if _, err := io.WriteString(c, postHead(tokZhejiangFeedback, ingest.DefaultMaxBodyBytes)+`[{"id":"slow`); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, 10*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_requests_in_flight", strconv.Itoa(n)))
	// Sample the heap for a while: the handlers are all reading their bodies.
	var grown uint64
	deadline := time.Now().Add(300 * time.Millisecond)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if after.HeapAlloc > before.HeapAlloc {
			grown = max(grown, after.HeapAlloc-before.HeapAlloc)
		}
		<-tick.C
	}
	t.Logf("heap grew by %d KiB for %d requests declaring %d MiB each", grown>>10, n, ingest.DefaultMaxBodyBytes>>20)
	if grown > 8<<20 {
		t.Errorf("heap grew by %d MiB, want far less than %d MiB", grown>>20, n*ingest.DefaultMaxBodyBytes>>20)
	}
}

// TestRefusalClosesConnection checks that 401 (and the other refusals)
// close the connection, and that 202 keeps it.
func TestRefusalClosesConnection(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1})
	url := serve(t, e, "http")
	body := fb("rc-1", "330000", "4", time.Now().Add(-time.Hour))
	tests := []struct {
		name, token string
		code        int
		closed      bool
	}{
		{"no token", "", http.StatusUnauthorized, true},
		{"wrong token", "nope", http.StatusUnauthorized, true},
		{"another region", tokHebeiProbe, http.StatusForbidden, true},
		{"accepted", tokZhejiangFeedback, http.StatusAccepted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialFrom(t, url, "127.0.0.1")
			br := bufio.NewReader(c)
			res, err := roundTrip(c, br, postHead(tt.token, len(body))+body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.code || res.Close != tt.closed {
				t.Fatalf("code %d, Connection: close %v; want %d, %v", res.StatusCode, res.Close, tt.code, tt.closed)
			}
			if !tt.closed {
				if res, err := roundTrip(c, br, healthz); err != nil || res.StatusCode != 200 {
					t.Errorf("a second request on the kept connection: %v", err)
				}
				return
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Errorf("after %d the connection is still open: %v", res.StatusCode, err)
			}
		})
	}
}

// TestConnectionCaps opens connections from several loopback addresses:
// beyond the cap per address, and beyond the total cap, a connection is
// closed at once and counted; a freed place can be taken again.
func TestConnectionCaps(t *testing.T) {
	e := setup(t, ingest.Config{MaxConns: 8, MaxConnsPerAddr: 3})
	url := serve(t, e, "http")
	open := func(ip string) net.Conn {
		t.Helper()
		c := dialFrom(t, url, ip)
		if res, err := roundTrip(c, bufio.NewReader(c), healthz); err != nil || res.StatusCode != 200 {
			t.Fatalf("request from %s: %v", ip, err)
		}
		return c
	}
	refused := func(ip string) {
		t.Helper()
		c := dialFrom(t, url, ip)
		start := time.Now()
		_, err := roundTrip(c, bufio.NewReader(c), healthz)
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection from %s over the cap was served or left open: %v", ip, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("refusal took %s", d)
		}
	}
	first := open("127.0.0.1")
	open("127.0.0.1")
	open("127.0.0.1")
	refused("127.0.0.1")
	if got := e.metric(`govpulse_ingest_connections_refused_total{cause="max_conns_per_addr"}`); got != "1" {
		t.Errorf("refused per address = %q, want 1", got)
	}
	for _, ip := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"} {
		open(ip)
	}
	refused("127.0.0.4")
	if got := e.metric(`govpulse_ingest_connections_refused_total{cause="max_conns"}`); got != "1" {
		t.Errorf("refused in total = %q, want 1", got)
	}
	if got := e.metric("govpulse_ingest_connections_open"); got != "8" {
		t.Errorf("open connections = %q, want 8", got)
	}
	// A closed connection frees its place.
	_ = first.Close()
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_connections_open", "7"))
	open("127.0.0.1")
}

// TestOverLimitBodyAnswered sends an over-limit body whole, with small
// socket buffers, before reading anything, as Python's urllib does: the
// client must be able to write it all and then read the 413.
func TestOverLimitBodyAnswered(t *testing.T) {
	const limit = 1 << 20
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1, MaxBodyBytes: limit})
	url := serve(t, e, "http")
	for _, declared := range []bool{true, false} {
		t.Run(fmt.Sprintf("declared length %v", declared), func(t *testing.T) {
			c := dialFrom(t, url, "127.0.0.1")
			tc := c.(*net.TCPConn)
			if err := tc.SetWriteBuffer(4096); err != nil {
				t.Fatal(err)
			}
			if err := tc.SetReadBuffer(4096); err != nil {
				t.Fatal(err)
			}
			if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
				t.Fatal(err)
			}
			body := "[" + strings.Repeat(" ", limit*3/2) + "]"
			head := postHead(tokZhejiangFeedback, len(body))
			payload := body
			if !declared {
				head = strings.Replace(head, "Content-Length: "+strconv.Itoa(len(body)), "Transfer-Encoding: chunked", 1)
				payload = fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
			}
			if _, err := io.WriteString(c, head+payload); err != nil {
				t.Fatalf("writing the whole request: %v", err)
			}
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			if res.StatusCode != http.StatusRequestEntityTooLarge || !res.Close {
				t.Errorf("code %d, Connection: close %v", res.StatusCode, res.Close)
			}
		})
	}
}

// TestDeadLettersBounded sends 1,000 invalid events in one request: every
// one gets its error, but the DLQ gets 100 of them and one summary letter
// that counts the 900 others. The DLQ stream itself is bounded.
func TestDeadLettersBounded(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1})
	url := serve(t, e, "http")
	c := client(t, nil)
	at := time.Now().Add(-time.Hour)
	invalid := func(prefix string, n int) string {
		evs := make([]string, n)
		for i := range evs {
			evs[i] = fb(fmt.Sprintf("%s-%04d", prefix, i), "330000", "9", at)
		}
		return array(evs...)
	}
	res, resp := send(t, c, url, tokZhejiangFeedback, "application/json", invalid("dl", 1000))
	if res.StatusCode != 400 || resp.Rejected != 1000 || len(resp.Results) != 1000 {
		t.Fatalf("code %d, rejected %d of %d", res.StatusCode, resp.Rejected, len(resp.Results))
	}
	for i, r := range resp.Results {
		if r.Reason != "out_of_range" || !strings.Contains(r.Error, "data.rating") {
			t.Fatalf("result %d lost its error: %+v", i, r)
		}
	}
	msgs := e.dlq(t) // the request waited for their acknowledgements
	if len(msgs) != 101 {
		t.Fatalf("%d dead letters, want 100 and one summary", len(msgs))
	}
	sum := summary(t, msgs)
	if sum.Dropped != 900 || sum.OverRequestLimit != 900 || sum.Reasons["out_of_range"] != 900 || sum.MaxDeadLetters != 100 {
		t.Errorf("summary %+v", sum)
	}
	if got := e.metric(`govpulse_ingest_dead_letters_dropped_total{cause="per_request",source="feedback/zhejiang"}`); got != "900" {
		t.Errorf("dropped metric %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := e.js.Stream(ctx, "DLQ")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := st.CachedInfo().Config; cfg.MaxAge != 30*24*time.Hour || cfg.MaxBytes != 1<<30 || cfg.Discard != jetstream.DiscardOld {
		t.Errorf("DLQ bounds: max age %s, max bytes %d, discard %v", cfg.MaxAge, cfg.MaxBytes, cfg.Discard)
	}
}

// TestDeadLetterRatePerSource exhausts a source's dead-letter bucket: the
// next request writes what is left of it and a summary of the rest.
func TestDeadLetterRatePerSource(t *testing.T) {
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1, DeadLetterRate: 0.001, DeadLetterBurst: 150})
	url := serve(t, e, "http")
	c := client(t, nil)
	at := time.Now().Add(-time.Hour)
	var evs []string
	for i := range 200 {
		evs = append(evs, fb(fmt.Sprintf("dr-%03d", i), "330000", "0", at))
	}
	send(t, c, url, tokZhejiangFeedback, "application/x-ndjson", strings.Join(evs, "\n"))
	if n := len(e.dlq(t)); n != 101 {
		t.Fatalf("first request: %d dead letters, want 101", n)
	}
	_, resp := send(t, c, url, tokZhejiangFeedback, "application/x-ndjson", strings.Join(evs, "\n"))
	if resp.Rejected != 200 {
		t.Fatalf("second request: %+v", resp)
	}
	msgs := e.dlq(t)
	if len(msgs) != 101+51 {
		t.Fatalf("%d dead letters, want 101 + 50 + 1 summary", len(msgs))
	}
	sum := summary(t, msgs[101:])
	if sum.Dropped != 150 || sum.OverRate != 150 || sum.OverRequestLimit != 0 {
		t.Errorf("summary %+v", sum)
	}
	// Another source has its own bucket.
	_, resp = send(t, c, url, tokOps, "application/json", fb("dr-ops", "330000", "0", at))
	if resp.Rejected != 1 || len(e.dlq(t)) != 153 {
		t.Errorf("another source's letter: rejected %d, %d letters", resp.Rejected, len(e.dlq(t)))
	}
}

// summary decodes the one summary letter among msgs.
func summary(t *testing.T, msgs []*jetstream.RawStreamMsg) ingest.Summary {
	t.Helper()
	var sums []ingest.Summary
	for _, m := range msgs {
		if m.Subject != "govpulse.dlq.ingest."+ingest.ReasonDeadLettersDropped {
			continue
		}
		var s ingest.Summary
		if err := json.Unmarshal(m.Data, &s); err != nil {
			t.Fatalf("summary %q: %v", m.Data, err)
		}
		if m.Header.Get(natsjs.HeaderReasonCode) != ingest.ReasonDeadLettersDropped ||
			!strings.Contains(m.Header.Get(natsjs.HeaderReason), strconv.Itoa(s.Dropped)+" dead letters") {
			t.Errorf("summary headers %v", m.Header)
		}
		sums = append(sums, s)
	}
	if len(sums) != 1 {
		t.Fatalf("%d summary letters, want 1", len(sums))
	}
	return sums[0]
}

// putWatermark publishes a partition's watermark in the latest-value
// bucket, as the aggregator does.
func putWatermark(t *testing.T, e *env, wm natsjs.Watermark) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := natsjs.EnsureLatestBucket(ctx, e.js, natsjs.Names{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(wm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, natsjs.WatermarkKey(wm.Partition), b); err != nil {
		t.Fatal(err)
	}
}

// TestTooLate rejects user-experience events older than their partition's
// horizon at once, with the watermark in the error, and accepts portal
// changes and events of regions without a known watermark.
func TestTooLate(t *testing.T) {
	e := setup(t, ingest.Config{CheckInterval: 50 * time.Millisecond})
	url := serve(t, e, "http")
	c := client(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	wm := now.Add(-48 * time.Hour)
	horizon := wm.Add(-24 * time.Hour)

	// No watermark known (the bucket does not even exist): accepted as before.
	if res, _ := send(t, c, url, "", "application/json", fb("tl-0", "330000", "4", horizon.Add(-time.Hour))); res.StatusCode != 202 {
		t.Fatalf("without a watermark: %d", res.StatusCode)
	}
	putWatermark(t, e, natsjs.Watermark{Partition: "all", Watermark: wm, AllowedLatenessSeconds: 24 * 3600, Version: 7})
	testwait.For(t, 10*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_watermark_partitions", "1"))

	application := strings.Replace(strings.Replace(fb("tl-3", "330000", "4", horizon.Add(-time.Second)),
		`"feedback.rated"`, `"application.completed"`, 1), `"data":{"rating":4,"channel":"web"}`,
		`"data":{"item_code":"A","level":"city","outcome":"completed","online":true,"visits":0}`, 1)
	res, resp := send(t, c, url, "", "application/x-ndjson", strings.Join([]string{
		fb("tl-1", "330000", "4", horizon.Add(-time.Minute)), // too late
		fb("tl-2", "330000", "4", horizon.Add(time.Minute)),  // still counts
		application, // too late
		svc("tl-4", `"n"`, `"d"`, horizon.Add(-100*time.Hour)), // a portal change: state, never too late
	}, "\n"))
	if res.StatusCode != 202 {
		t.Fatalf("code %d: %+v", res.StatusCode, resp)
	}
	want := []string{"rejected", "accepted", "rejected", "accepted"}
	for i, r := range resp.Results {
		if r.Status != want[i] {
			t.Errorf("result %d: %+v, want %s", i, r, want[i])
		}
	}
	for _, i := range []int{0, 2} {
		r := resp.Results[i]
		if r.Reason != ingest.ReasonTooLate || !strings.Contains(r.Error, wm.Format(time.RFC3339)) ||
			!strings.Contains(r.Error, horizon.Format(time.RFC3339)) {
			t.Errorf("result %d: %+v: want too_late with watermark %s and horizon %s", i, r, wm.Format(time.RFC3339), horizon.Format(time.RFC3339))
		}
	}
	var late int
	for _, m := range e.dlq(t) {
		if m.Subject == "govpulse.dlq.ingest.too_late" {
			late++
		}
	}
	if late != 2 {
		t.Errorf("%d too_late dead letters, want 2", late)
	}

	// Partitions by region: only the regions a partition holds are judged by its horizon.
	putWatermark(t, e, natsjs.Watermark{Partition: "a", Regions: []string{"330000"}, Watermark: now.Add(-time.Hour)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := e.js.KeyValue(ctx, natsjs.DefaultLatestBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, natsjs.WatermarkKey("all")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		_, r := send(t, c, url, "", "application/json", fb("tl-probe", "330000", "4", now.Add(-2*time.Hour)))
		if r.Results[0].Reason != ingest.ReasonTooLate {
			return fmt.Errorf("a probe before partition a's horizon: reason %q, want %q", r.Results[0].Reason, ingest.ReasonTooLate)
		}
		return nil
	})
	if res, _ := send(t, c, url, "", "application/json", fb("tl-5", "520000", "4", now.Add(-2*time.Hour))); res.StatusCode != 202 {
		t.Errorf("a region no partition holds: %d", res.StatusCode)
	}
}

// TestAdminAddress serves /metrics on the admin address only; the main
// address answers /healthz and /readyz with "ok" and nothing else.
func TestAdminAddress(t *testing.T) {
	e := setup(t, ingest.Config{CheckInterval: 50 * time.Millisecond})
	url, admin := serveAdmin(t, e, "http")
	c := client(t, nil)
	get := func(u string) (int, string) {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	if code, _ := get(url + "/metrics"); code != http.StatusNotFound {
		t.Errorf("main /metrics: %d, want 404", code)
	}
	if code, body := get(admin + "/metrics"); code != 200 || !strings.Contains(body, "govpulse_ingest_requests_in_flight") {
		t.Errorf("admin /metrics: %d", code)
	}
	testwait.For(t, 5*time.Second, 10*time.Millisecond, func() error {
		if code, body := get(url + "/readyz"); code != 200 {
			return fmt.Errorf("readyz %d %q", code, body)
		}
		return nil
	})
	for _, u := range []string{url + "/readyz", url + "/healthz", admin + "/readyz"} {
		if code, body := get(u); code != 200 || body != "ok\n" {
			t.Errorf("%s: %d %q", u, code, body)
		}
	}
}

// TestAcceptLate leaves too-late events to the aggregator when configured so.
func TestAcceptLate(t *testing.T) {
	e := setup(t, ingest.Config{AcceptLate: true, CheckInterval: 50 * time.Millisecond})
	wm := time.Now().UTC().Add(-48 * time.Hour)
	putWatermark(t, e, natsjs.Watermark{Partition: "all", Watermark: wm})
	url := serve(t, e, "http")
	testwait.For(t, 10*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_watermark_partitions", "1"))
	if res, resp := send(t, client(t, nil), url, "", "application/json", fb("al-1", "330000", "4", wm.Add(-time.Hour))); res.StatusCode != 202 {
		t.Errorf("a late event with AcceptLate: %d %+v", res.StatusCode, resp)
	}
}

// TestHTTP2 serves HTTP/2 over TLS, one request at a time per connection;
// refusals still answer.
func TestHTTP2(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), TLSCertFile: certFile, TLSKeyFile: keyFile, RateLimit: -1})
	url := serve(t, e, "https")
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := fb("h2-1", "330000", "4", time.Now().Add(-time.Hour))
	for _, tt := range []struct {
		token string
		code  int
	}{{tokZhejiangFeedback, 202}, {"", 401}, {tokHebeiProbe, 403}} {
		res, _ := send(t, c, url, tt.token, "application/json", body)
		if res.ProtoMajor != 2 || res.StatusCode != tt.code {
			t.Errorf("HTTP/%d %d, want HTTP/2 %d", res.ProtoMajor, res.StatusCode, tt.code)
		}
	}
}

// TestBodyMemoryBudget holds one body that uses most of the memory allowed
// to request bodies: another request whose buffer would exceed it is
// answered 503 with Retry-After and its connection closed; once the first is
// done, there is room again.
func TestBodyMemoryBudget(t *testing.T) {
	const limit = 32 << 10
	e := setup(t, ingest.Config{TokensFile: writeTokens(t), RateLimit: -1, MaxBodyBytes: limit, MaxBodyMemory: 48 << 10})
	url := serve(t, e, "http")
	const length = 30_000
	a := dialFrom(t, url, "127.0.0.1")
	if _, err := io.WriteString(a, postHead(tokZhejiangFeedback, length)+strings.Repeat(" ", 20_000)); err != nil {
		t.Fatal(err)
	}
	// The first body's buffer has grown to 32 KiB (4, 8, 16, 32): 16 KiB are left.
	testwait.For(t, 10*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_body_bytes", strconv.Itoa(limit)))
	b := dialFrom(t, url, "127.0.0.1")
	res, err := roundTrip(b, bufio.NewReader(b), postHead(tokZhejiangFeedback, length)+strings.Repeat(" ", length))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !res.Close {
		t.Errorf("second body: %d, Retry-After %q, Connection: close %v", res.StatusCode, res.Header.Get("Retry-After"), res.Close)
	}
	// The first request completes and gives its memory back.
	ra, err := roundTrip(a, bufio.NewReader(a), strings.Repeat(" ", length-20_000))
	if err != nil || ra.StatusCode != http.StatusBadRequest {
		t.Fatalf("first request: %v", err)
	}
	testwait.For(t, 5*time.Second, 10*time.Millisecond, e.metricIs("govpulse_ingest_body_bytes", "0"))
	c := dialFrom(t, url, "127.0.0.1")
	if res, err := roundTrip(c, bufio.NewReader(c), postHead(tokZhejiangFeedback, length)+strings.Repeat(" ", length)); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("after the first request: %v", err)
	}
	if got := e.metric(`govpulse_ingest_refused_requests_total{reason="busy",source="feedback/zhejiang"}`); got != "1" {
		t.Errorf("busy refusals %q", got)
	}
}
