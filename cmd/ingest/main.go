// Command ingest serves the govpulse HTTP API for events: it validates the
// events producers send and stores them in the JetStream stream EVENTS, and
// rejected input in the stream DLQ. Every flag has a GOVPULSE_* environment
// variable that sets its default; a flag given on the command line wins.
// Run "ingest --help" for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// run parses the flags, connects to NATS, ensures the streams and serves
// until ctx is done.
func run(ctx context.Context, args []string, lookup config.LookupEnv, stderr io.Writer) error {
	fs := config.New("ingest", lookup)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "GOVPULSE_INGEST_ADDR", ingest.DefaultAddr, "listen address (loopback only: tokens are not supported yet)")
	natsURL := fs.String("nats-url", "GOVPULSE_NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma separated")
	prefix := fs.String("subject-prefix", "GOVPULSE_PREFIX", natsjs.DefaultPrefix, "first token of every subject")
	maxAhead := fs.Duration("max-ahead", "GOVPULSE_INGEST_MAX_AHEAD", ingest.DefaultMaxAhead, "how far in the future an event time may be")
	maxBody := fs.Int64("max-body", "GOVPULSE_INGEST_MAX_BODY", ingest.DefaultMaxBodyBytes, "request body limit in bytes")
	maxEvents := fs.Int("max-events", "GOVPULSE_INGEST_MAX_EVENTS", ingest.DefaultMaxEvents, "events per request limit")
	publishTimeout := fs.Duration("publish-timeout", "GOVPULSE_INGEST_PUBLISH_TIMEOUT", ingest.DefaultPublishTimeout, "how long a request waits for its acknowledgements")
	replicas := fs.Int("stream-replicas", "GOVPULSE_STREAM_REPLICAS", 1, "replicas of the EVENTS and DLQ streams (3 in a cluster)")
	maxAge := fs.Duration("stream-max-age", "GOVPULSE_STREAM_MAX_AGE", 0, "how long the streams keep messages (0: forever)")
	maxBytes := fs.Int64("stream-max-bytes", "GOVPULSE_STREAM_MAX_BYTES", 0, "size limit of each stream in bytes (0: none; a full EVENTS stream refuses events)")
	dupWindow := fs.Duration("duplicate-window", "GOVPULSE_DUPLICATE_WINDOW", natsjs.DefaultDuplicateWindow, "window in which a resent event id is stored once")
	logLevel := fs.String("log-level", "GOVPULSE_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", *logLevel, err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := ingest.Config{
		Addr:           *addr,
		Names:          natsjs.Names{Prefix: *prefix},
		MaxAhead:       *maxAhead,
		MaxBodyBytes:   *maxBody,
		MaxEvents:      *maxEvents,
		PublishTimeout: *publishTimeout,
	}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}

	nc, err := natsjs.Connect(*natsURL, logger, nats.Name("govpulse-ingest"))
	if err != nil {
		return err
	}
	defer nc.Close()
	// Unanswered publishes are dropped after the request gave up on them.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout+time.Second))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = natsjs.EnsureStreams(sctx, js, cfg.Names, natsjs.StreamOptions{
		Replicas:        *replicas,
		MaxAge:          *maxAge,
		MaxBytes:        *maxBytes,
		DuplicateWindow: *dupWindow,
	})
	cancel()
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := ingest.New(cfg, js, logger, reg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
