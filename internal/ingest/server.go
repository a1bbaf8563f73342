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

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Server is the ingest HTTP service. It is safe for concurrent use; Run may
// be called once.
type Server struct {
	cfg     Config
	js      jetstream.JetStream
	log     *slog.Logger
	metrics *metrics
	gather  prometheus.Gatherer
	prefix  string // the subject prefix of events

	tokens       atomic.Pointer[Tokens]          // nil without a tokens file
	cert         atomic.Pointer[tls.Certificate] // nil without TLS
	reloadMu     sync.Mutex                      // serialises Reload
	limits       *limiters                       // requests per token
	letterLimits *limiters                       // dead letters per source
	ready        atomic.Pointer[string]          // the reason of the last readiness check; "" when ready
	marks        atomic.Pointer[marks]           // the known watermarks
	bodyMem      *semaphore.Weighted             // bytes of request bodies (Config.MaxBodyMemory)
}

// New returns a Server that publishes to js. A nil logger discards logs; a
// nil reg registers no metrics (and the admin address serves no /metrics).
// GET /metrics serves reg when it is also a prometheus.Gatherer (as
// *prometheus.Registry is). New reads the tokens
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
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	g, _ := reg.(prometheus.Gatherer)
	s := &Server{
		cfg:          cfg,
		js:           js,
		log:          logger.With("component", "ingest"),
		metrics:      m,
		gather:       g,
		prefix:       cfg.Names.EventSubjectBase(),
		limits:       newLimiters(cfg.RateLimit, cfg.RateBurst),
		letterLimits: newLimiters(cfg.DeadLetterRate, cfg.DeadLetterBurst),
		bodyMem:      semaphore.NewWeighted(cfg.MaxBodyMemory),
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

// Handler returns the HTTP handler of the main address: POST /v1/events,
// GET /healthz ("ok" while the process runs) and GET /readyz ("ok", or
// "not ready" with 503; the reason is logged and served by AdminHandler).
// Readiness is the state of the NATS connection and the last check of Run:
// without Run it stays "not ready".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", s.handleEvents)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", s.handleReady)
	return mux
}

// AdminHandler returns the HTTP handler of the admin address: GET /metrics
// (the registry given to New, when it is also a prometheus.Gatherer),
// GET /healthz and GET /readyz with the reason when not ready.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", s.handleAdminReady)
	if s.gather != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	}
	return mux
}

// Run listens on Config.Addr (HTTPS when a certificate is configured) and,
// when set, on Config.AdminAddr, and serves until ctx is done; see Serve.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before listening
		}
		return fmt.Errorf("ingest: listen %s: %w", s.cfg.Addr, err)
	}
	var admin net.Listener
	if s.cfg.AdminAddr != "" {
		admin, err = lc.Listen(ctx, "tcp", s.cfg.AdminAddr)
		if err != nil {
			_ = ln.Close()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ingest: listen %s (admin): %w", s.cfg.AdminAddr, err)
		}
	}
	return s.Serve(ctx, ln, admin)
}

// Serve is Run on listeners the caller opened (Config.Addr and AdminAddr
// are not used; admin may be nil for none); it closes them. It serves
// Handler on ln, with at most Config.MaxConns connections (MaxConnsPerAddr
// per client address), and AdminHandler on admin; it checks readiness and
// watches the watermarks of the aggregator partitions in the background.
// When ctx is done it shuts down gracefully: it stops accepting connections
// and waits (at most Config.ShutdownTimeout) for the requests in hand,
// which finish waiting for their acknowledgements. It returns nil after a
// clean shutdown.
func (s *Server) Serve(ctx context.Context, ln, admin net.Listener) error {
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          errLog,
		// One request at a time per HTTP/2 connection, as over HTTP/1.1: the
		// connection caps then bound the bodies held at once.
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 1},
	}
	secure := s.cfg.TLSCertFile != ""
	if secure {
		srv.TLSConfig = s.tlsConfig()
	}
	ln = newLimitListener(ln, s.cfg.MaxConns, s.cfg.MaxConnsPerAddr, s.metrics)
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", secure, "tokens", s.tokens.Load() != nil,
		"max_conns", s.cfg.MaxConns, "max_conns_per_addr", s.cfg.MaxConnsPerAddr)
	servers := []*http.Server{srv}
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
	if admin != nil {
		asrv := &http.Server{
			Handler:           s.AdminHandler(),
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			ReadTimeout:       s.cfg.ReadTimeout,
			WriteTimeout:      s.cfg.ReadTimeout,
			IdleTimeout:       s.cfg.IdleTimeout,
			MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
			ErrorLog:          errLog,
		}
		servers = append(servers, asrv)
		s.log.Info("admin listening", "addr", admin.Addr().String())
		g.Go(func() error {
			if err := asrv.Serve(admin); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("ingest: serve admin: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error { return s.checkReadiness(gctx) })
	g.Go(func() error { return s.watchWatermarks(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		var errs []error
		for _, hs := range servers {
			if err := hs.Shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("ingest: shutdown: %w", err))
			}
		}
		s.log.Info("stopped")
		return errors.Join(errs...)
	})
	return g.Wait()
}

// retryAfter returns the Retry-After header value in whole seconds.
func (s *Server) retryAfter() string {
	sec := int64((s.cfg.RetryAfter + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(sec, 1), 10)
}
