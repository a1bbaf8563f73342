package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
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
}

// New returns a Server that publishes to js. A nil logger discards logs; a
// nil reg means a private registry. GET /metrics serves reg when it is also
// a prometheus.Gatherer (as *prometheus.Registry is). New fails when cfg is
// invalid, for example when it listens on a non-loopback address (tokens
// are not supported yet), or when the metrics cannot be registered.
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
	}
	s.log.Warn("accepting unauthenticated requests: tokens are not supported yet, so only a loopback address is allowed",
		"addr", cfg.Addr)
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

// Run listens on Config.Addr and serves until ctx is done, then shuts down
// gracefully: it stops accepting connections and waits (at most
// Config.ShutdownTimeout) for the requests in hand, which finish waiting
// for their acknowledgements. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ingest: listen %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("listening", "addr", ln.Addr().String())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
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
