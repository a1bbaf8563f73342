package natsjs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
)

// writeCert writes a self-signed CA-capable certificate for 127.0.0.1 and
// its key into dir and returns their paths.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// startSecure runs an in-process server configured by f.
func startSecure(t *testing.T, f func(*server.Options)) string {
	t.Helper()
	opts := natstest.Options(t)
	opts.JetStream = false
	f(opts)
	return natstest.StartOptions(t, opts).ClientURL()
}

func TestSecurityValidate(t *testing.T) {
	tests := []struct {
		name string
		s    natsjs.Security
		ok   bool
	}{
		{"none", natsjs.Security{}, true},
		{"user", natsjs.Security{User: "u", Password: "p"}, true},
		{"user without password", natsjs.Security{User: "u"}, true},
		{"password without user", natsjs.Security{Password: "p"}, false},
		{"creds and user", natsjs.Security{CredsFile: "c", User: "u"}, false},
		{"nkey and creds", natsjs.Security{CredsFile: "c", NKeyFile: "n"}, false},
		{"cert without key", natsjs.Security{TLSCert: "c"}, false},
		{"key without cert", natsjs.Security{TLSKey: "k"}, false},
		{"ca only", natsjs.Security{TLSCA: "ca"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok %t", err, tt.ok)
			}
		})
	}
	s := natsjs.Security{User: "u", Password: "hunter2"}
	if strings.Contains(s.String(), "hunter2") {
		t.Errorf("String shows the password: %s", s)
	}
}

func TestRedactURL(t *testing.T) {
	got := natsjs.RedactURL("nats://u:hunter2@a:4222, nats://b:4222,tls://v@c:4443")
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "u:xxxxx@a:4222") || !strings.Contains(got, "nats://b:4222") {
		t.Errorf("RedactURL = %s", got)
	}
}

func TestConnectTLSWithPassword(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "server")
	url := startSecure(t, func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cert, KeyFile: key})
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig, o.TLS = tc, true
		o.Username, o.Password = "govpulse", "s3cret-pw"
	})
	opts, err := natsjs.Security{User: "govpulse", Password: "s3cret-pw", TLSCA: cert}.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsjs.Connect(url, nil, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if !nc.TLSRequired() {
		t.Error("connection without TLS")
	}
	if _, err := nc.TLSConnectionState(); err != nil {
		t.Errorf("TLS state: %v", err)
	}
	nc.Close()

	// A wrong password fails, and the error does not show it.
	opts, err = natsjs.Security{User: "govpulse", Password: "wrong-pw", TLSCA: cert}.Options()
	if err != nil {
		t.Fatal(err)
	}
	_, err = natsjs.Connect(url, nil, opts...)
	if err == nil || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v", err)
	}
	// A password in the URL is redacted from errors.
	u := strings.Replace(url, "://", "://govpulse:url-pw@", 1)
	_, err = natsjs.Connect(u, nil)
	if err == nil || strings.Contains(err.Error(), "url-pw") {
		t.Fatalf("URL password: %v", err)
	}
	// Without the CA the server certificate is not trusted.
	opts, err = natsjs.Security{User: "govpulse", Password: "s3cret-pw"}.Options()
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := natsjs.Connect(url, nil, opts...); err == nil {
		nc.Close()
		t.Fatal("connected without trusting the server")
	}
	// A missing CA file fails early with its name.
	if _, err := (natsjs.Security{TLSCA: filepath.Join(dir, "missing.pem")}).Options(); err == nil {
		t.Error("missing CA file accepted")
	}
}

func TestConnectMutualTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "server")
	ccert, ckey := writeCert(t, dir, "client")
	url := startSecure(t, func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cert, KeyFile: key, CaFile: ccert, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig, o.TLS, o.TLSVerify = tc, true, true
	})
	opts, err := natsjs.Security{TLSCA: cert, TLSCert: ccert, TLSKey: ckey}.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsjs.Connect(url, nil, opts...)
	if err != nil {
		t.Fatalf("mutual TLS: %v", err)
	}
	nc.Close()
	opts, _ = natsjs.Security{TLSCA: cert}.Options()
	if nc, err := natsjs.Connect(url, nil, opts...); err == nil {
		nc.Close()
		t.Fatal("connected without a client certificate")
	}
}

func TestConnectNKey(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	url := startSecure(t, func(o *server.Options) {
		o.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	})
	opts, err := natsjs.Security{NKeyFile: seedFile}.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsjs.Connect(url, nil, opts...)
	if err != nil {
		t.Fatalf("nkey: %v", err)
	}
	nc.Close()
	if _, err := natsjs.Connect(url, nil); err == nil {
		t.Fatal("connected without the nkey")
	}
}
