// Command site serves govpulse's public, read-only web site: the live ranking, a page per unit
// with its history, and the JSON read API (docs/api.md). It reads the latest state from NATS (one
// subscription per subject kind, whatever the number of browsers) and the history from ClickHouse.
//
//	site [flags]   serve until SIGINT or SIGTERM
//
// Every flag has a GOVPULSE_* environment variable that sets its default; a flag given on the
// command line wins. Run "site --help" for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/internal/site"
)

func main() {
	config.Main("site", func(ctx context.Context, args []string, lookup config.LookupEnv, _, stderr io.Writer) error {
		return run(ctx, args, lookup, stderr)
	})
}

// run parses the flags, connects to NATS and ClickHouse and serves the site until ctx is done.
func run(ctx context.Context, args []string, lookup config.LookupEnv, stderr io.Writer) error {
	def := site.Config{}.WithDefaults()
	fs := config.New("site", lookup)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "GOVPULSE_SITE_ADDR", "127.0.0.1:8088", "listen address of the site, its API, /healthz, /readyz and /metrics")
	natsURL, prefix := natsjs.URLFlag(fs), natsjs.SubjectPrefixFlag(fs)
	dsn := fs.String("clickhouse-dsn", "GOVPULSE_CLICKHOUSE_DSN", chstore.DefaultDSN, "ClickHouse address and database (native protocol)")
	rateLimit := fs.Int("rate-limit", "GOVPULSE_SITE_RATE_LIMIT", int(def.RateLimit), "API requests per second per client address; negative: no limit")
	rateBurst := fs.Int("rate-burst", "GOVPULSE_SITE_RATE_BURST", def.RateBurst, "API requests a client address may make at once above the rate")
	maxStreams := fs.Int("max-streams", "GOVPULSE_SITE_MAX_STREAMS", def.MaxStreams, "concurrent /api/v1/stream clients (more get 503)")
	streamBuffer := fs.Int("stream-buffer", "GOVPULSE_SITE_STREAM_BUFFER", def.StreamBuffer, "events buffered per stream client; a client that falls further behind is dropped")
	heartbeat := fs.Duration("heartbeat", "GOVPULSE_SITE_HEARTBEAT", def.Heartbeat, "interval of the comments that keep idle streams open")
	corsOrigin := fs.String("cors-origin", "GOVPULSE_SITE_CORS_ORIGIN", "", "Access-Control-Allow-Origin of the API (empty: no CORS header)")
	methods := fs.String("methods", "GOVPULSE_METHODS", scoring.DefaultMethod, "comma-separated scoring methods the site shows (as aggregate's --methods); the default's are streamed, the others served with ?method=")
	newLogger := config.LogFlag(fs)
	chSecurity := chstore.SecurityFlags(fs)
	security := natsjs.SecurityFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr)
	if err != nil {
		return err
	}
	if err := config.RefuseExampleSecrets("--nats-password (GOVPULSE_NATS_PASSWORD)", security().Password, "--clickhouse-dsn (GOVPULSE_CLICKHOUSE_DSN)", *dsn); err != nil {
		return err
	}
	cfg := site.Config{
		Names:        natsjs.Names{SubjectPrefix: *prefix},
		RateLimit:    float64(*rateLimit),
		RateBurst:    *rateBurst,
		MaxStreams:   *maxStreams,
		StreamBuffer: *streamBuffer,
		Heartbeat:    *heartbeat,
		CORSOrigin:   *corsOrigin,
	}
	if cfg.Methods, err = scoring.ParseMethods(*methods); err != nil {
		return fmt.Errorf("--methods: %w", err)
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return err
	}
	chOpts, err := chSecurity()
	if err != nil {
		return err
	}
	natsOpts, err := security().Options()
	if err != nil {
		return err
	}
	if _, _, err := chstore.ParseDSN(*dsn); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	defer ln.Close()

	conn, database, err := dial(ctx, *dsn, chOpts, logger)
	if err != nil {
		return err
	}
	defer conn.Close()
	store := chstore.New(conn, database, logger)
	logger.Info("nats security", "security", security().String())
	nc, err := natsjs.Connect(*natsURL, logger, append(natsOpts, nats.Name("govpulse-site"), nats.RetryOnFailedConnect(true))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := site.New(cfg, nc, store, logger, reg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", srv.Handler())
	// No WriteTimeout: streams stay open; the site bounds each stream write itself.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	logger.Info("site listening", "url", "http://"+ln.Addr().String()+"/")

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(sctx)
		}()
		return srv.Run(gctx)
	})
	return g.Wait()
}

// dial connects to ClickHouse, retrying while the server is not reachable yet.
func dial(ctx context.Context, dsn string, opts []chstore.DialOption, logger *slog.Logger) (driver.Conn, string, error) {
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		conn, database, err := chstore.Dial(ctx, dsn, opts...)
		if err == nil || errors.Is(err, chstore.ErrInvalidDSN) {
			return conn, database, err
		}
		logger.Warn("clickhouse not reachable; retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, "", fmt.Errorf("clickhouse: %w", err)
		case <-time.After(wait):
		}
	}
}
