package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/natsjs"
)

// readyTimeout bounds the stream lookup of GET /readyz.
const readyTimeout = 2 * time.Second

// Server is the ingest HTTP service. It is safe for concurrent use; Run may
// be called once.
type Server struct {
	cfg     Config
	js      jetstream.JetStream
	log     *slog.Logger
	metrics *metrics
	gather  prometheus.Gatherer
	prefix  string // the subject prefix of events

	tokens   atomic.Pointer[Tokens]          // nil without a tokens file
	cert     atomic.Pointer[tls.Certificate] // nil without TLS
	reloadMu sync.Mutex                      // serialises Reload
	limits   *limiters
}

// New returns a Server that publishes to js. A nil logger discards logs; a
// nil reg means a private registry. GET /metrics serves reg when it is also
// a prometheus.Gatherer (as *prometheus.Registry is). New reads the tokens
// file and the TLS certificate when configured. It fails when cfg is
// invalid (for example a non-loopback address without a tokens file), when
// the tokens file or certificate cannot be read, or when the metrics cannot
// be registered.
func New(cfg Config, js jetstream.JetStream, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if js == nil {
		return nil, errors.New("ingest: new: nil JetStream")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	g, _ := reg.(prometheus.Gatherer)
	s := &Server{
		cfg:     cfg,
		js:      js,
		log:     logger.With("component", "ingest"),
		metrics: m,
		gather:  g,
		prefix:  cfg.Names.EventsSubjectPrefix(),
		limits:  newLimiters(cfg.RateLimit, cfg.RateBurst),
	}
	if cfg.TokensFile != "" || cfg.TLSCertFile != "" {
		if err := s.Reload(); err != nil {
			return nil, fmt.Errorf("ingest: new: %w", errors.Unwrap(err))
		}
	}
	switch {
	case cfg.TokensFile == "":
		s.log.Warn("accepting unauthenticated requests: no tokens file, so only a loopback address is allowed",
			"addr", cfg.Addr)
	case cfg.TLSCertFile == "" && !loopback(cfg.Addr):
		s.log.Warn("tokens travel in plain text: serve TLS (a certificate and key) or put a TLS proxy in front",
			"addr", cfg.Addr)
	}
	return s, nil
}

// Handler returns the HTTP handler of all endpoints: POST /v1/events,
// GET /healthz, GET /readyz and GET /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", s.handleEvents)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	if s.gather != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	}
	return mux
}

// Run listens on Config.Addr (HTTPS when a certificate is configured) and
// serves until ctx is done, then shuts down gracefully: it stops accepting
// connections and waits (at most Config.ShutdownTimeout) for the requests
// in hand, which finish waiting for their acknowledgements. It returns nil
// after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before listening
		}
		return fmt.Errorf("ingest: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (Config.Addr is not used);
// it closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	secure := s.cfg.TLSCertFile != ""
	if secure {
		srv.TLSConfig = s.tlsConfig()
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", secure, "tokens", s.tokens.Load() != nil)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		serve := func() error { return srv.Serve(ln) }
		if secure {
			serve = func() error { return srv.ServeTLS(ln, "", "") }
		}
		if err := serve(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("ingest: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("ingest: shutdown: %w", err)
		}
		s.log.Info("stopped")
		return nil
	})
	return g.Wait()
}

// handleReady answers GET /readyz.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if reason := s.notReady(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// notReady returns why the server cannot take events now, or "".
func (s *Server) notReady(ctx context.Context) string {
	if st := s.js.Conn().Status(); st != nats.CONNECTED {
		return "nats connection " + st.String()
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	ok, err := natsjs.StreamExists(ctx, s.js, s.cfg.Names.EventsStream)
	switch {
	case err != nil:
		return err.Error()
	case !ok:
		return "stream " + s.cfg.Names.EventsStream + " not found"
	}
	return ""
}

// retryAfter returns the Retry-After header value in whole seconds.
func (s *Server) retryAfter() string {
	sec := int64((s.cfg.RetryAfter + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(sec, 1), 10)
}
