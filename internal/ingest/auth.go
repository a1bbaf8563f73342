package ingest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// anonymousSource is the metrics label of requests without tokens.
const anonymousSource = "anonymous"

// Reload reads the tokens file and the TLS certificate and key again (those
// configured) and switches to them. Requests in hand finish with what they
// started with; none is dropped. On an error nothing changes: the old
// tokens and certificate stay in use, the error is logged and returned.
// Reload is safe for concurrent use.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	var (
		toks *Tokens
		cert *tls.Certificate
		err  error
	)
	if s.cfg.TokensFile != "" {
		toks, err = LoadTokens(s.cfg.TokensFile)
	}
	if err == nil && s.cfg.TLSCertFile != "" {
		cert, err = loadCert(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	}
	if err != nil {
		s.metrics.reloads.WithLabelValues("error").Inc()
		s.log.Error("reload failed; keeping the tokens and certificate in use", "error", err)
		return fmt.Errorf("ingest: reload: %w", err)
	}
	if toks != nil {
		s.tokens.Store(toks)
	}
	if cert != nil {
		s.cert.Store(cert)
	}
	s.metrics.reloads.WithLabelValues("ok").Inc()
	if toks != nil {
		s.log.Info("tokens loaded", "tokens", toks.Len(), "sources", toks.Sources())
	}
	return nil
}

// loadCert reads a PEM certificate chain and key.
func loadCert(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s: %w", certFile, err)
	}
	return &c, nil
}

// tlsConfig returns the listener's TLS configuration: TLS 1.2 or later
// with the certificate Reload last loaded.
func (s *Server) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := s.cert.Load(); c != nil {
				return c, nil
			}
			return nil, errors.New("ingest: no certificate loaded")
		},
	}
}

// authenticate returns the scope of a request, or the status and message
// of its refusal (401).
func (s *Server) authenticate(r *http.Request) (*scope, int, string) {
	toks := s.tokens.Load()
	if toks == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return &scope{source: r.RemoteAddr, key: "addr:" + host}, 0, "" // not rate limited
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		s.metrics.authFailures.WithLabelValues("missing").Inc()
		return nil, http.StatusUnauthorized, "missing token: send Authorization: Bearer <token>"
	}
	secret, ok := bearer(h)
	if !ok {
		s.metrics.authFailures.WithLabelValues("malformed").Inc()
		return nil, http.StatusUnauthorized, "malformed Authorization header: want Bearer <token>"
	}
	sc := toks.lookup(secret)
	if sc == nil {
		s.metrics.authFailures.WithLabelValues("invalid").Inc()
		return nil, http.StatusUnauthorized, "invalid token"
	}
	return sc, 0, ""
}

// metricSource is the source label of a scope in metrics: the token's
// source, or "anonymous" (addresses would make too many series).
func (sc *scope) metricSource() string {
	if sc.token {
		return sc.source
	}
	return anonymousSource
}

// limiters holds one token bucket per token.
type limiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newLimiters(perSecond float64, burst int) *limiters {
	l := &limiters{limit: rate.Limit(perSecond), burst: burst, m: make(map[string]*rate.Limiter)}
	if perSecond < 0 {
		l.limit = rate.Inf
	}
	return l
}

// allow takes one request from the bucket of the scope's token at now.
// When the bucket is empty it returns false and how long until a request
// would be allowed. Requests without tokens (loopback only) are not
// limited.
func (l *limiters) allow(sc *scope, now time.Time) (bool, time.Duration) {
	if !sc.token {
		return true, 0
	}
	return l.reserve(sc.key, now)
}

// take takes one unit from the bucket of key at now and reports whether
// there was one.
func (l *limiters) take(key string, now time.Time) bool {
	ok, _ := l.reserve(key, now)
	return ok
}

// reserve takes one unit from the bucket of key at now, or returns false
// and how long until there is one.
func (l *limiters) reserve(key string, now time.Time) (bool, time.Duration) {
	if l.limit == rate.Inf {
		return true, 0
	}
	l.mu.Lock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters { // tokens removed by reloads, or many addresses
			clear(l.m)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// seconds renders a delay as a Retry-After value: whole seconds, at least 1.
func seconds(d time.Duration) string {
	return strconv.FormatInt(max(int64(math.Ceil(d.Seconds())), 1), 10)
}
