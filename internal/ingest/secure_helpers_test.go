package ingest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/testwait"
)

// Tokens of the test tokens file.
const (
	tokZhejiangFeedback = "zj-feedback-secret-0123456789"
	tokHebeiProbe       = "hebei-probe-secret-0123456789"
	tokOps              = "ops-secret-0123456789abcdef"
)

// writeTokens writes a tokens file with the three test tokens and returns
// its path.
func writeTokens(t testing.TB) string {
	t.Helper()
	type entry struct {
		Source   string   `json:"source"`
		SHA256   string   `json:"sha256"`
		Regions  []string `json:"regions"`
		Families []string `json:"families"`
	}
	f := struct {
		Tokens []entry `json:"tokens"`
	}{Tokens: []entry{
		{"feedback/zhejiang", ingest.HashToken(tokZhejiangFeedback), []string{"330000"}, []string{"feedback"}},
		{"probe/hebei", ingest.HashToken(tokHebeiProbe), []string{"130000"}, []string{"*"}},
		{"ops", ingest.HashToken(tokOps), []string{"*"}, []string{"*"}},
	}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "govpulse test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serve runs e.s on a loopback port until the test ends and returns its
// base URL.
func serve(t testing.TB, e *env, scheme string) string {
	t.Helper()
	url, _ := serveAdmin(t, e, scheme)
	return url
}

// serveAdmin is serve with an admin listener; it returns both base URLs.
func serveAdmin(t testing.TB, e *env, scheme string) (url, admin string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testwait.Run(t, "Serve", func(ctx context.Context) error { return e.s.Serve(ctx, ln, aln) })
	return scheme + "://" + ln.Addr().String(), "http://" + aln.Addr().String()
}

// client returns an HTTP client that trusts pool (nil: plain HTTP).
func client(t testing.TB, pool *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	if pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// send posts body with a content type and a bearer token ("" for none) and
// decodes the answer; it fails the test on a transport error.
func send(t testing.TB, c *http.Client, url, token, ct, body string) (*http.Response, ingest.Response) {
	t.Helper()
	res, resp, err := trySend(c, url, token, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	return res, resp
}

// trySend is send for goroutines other than the test's.
func trySend(c *http.Client, url, token, ct, body string) (*http.Response, ingest.Response, error) {
	var resp ingest.Response
	req, err := http.NewRequest(http.MethodPost, url+"/v1/events", strings.NewReader(body))
	if err != nil {
		return nil, resp, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, resp, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, resp, err
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, resp, fmt.Errorf("response %d %q: %w", res.StatusCode, raw, err)
	}
	return res, resp, nil
}
