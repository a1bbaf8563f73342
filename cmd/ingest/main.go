// Command ingest serves the govpulse HTTP API for events: it validates the
// events producers send and stores them in the JetStream stream EVENTS, and
// rejected input in the stream DLQ.
//
//	ingest [flags]            serve until SIGINT or SIGTERM; SIGHUP reloads the
//	                          tokens file and the TLS certificate
//	ingest hash-token         generate a token and print it with its SHA-256
//	ingest hash-token -       print the SHA-256 of the token read from stdin
//
// Every flag has a GOVPULSE_* environment variable that sets its default; a
// flag given on the command line wins. Run "ingest --help" for the list.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/ingest"
	"github.com/govpulse/govpulse/internal/natsjs"
)

func main() {
	config.Main("ingest", func(ctx context.Context, args []string, lookup config.LookupEnv, stdout, stderr io.Writer) error {
		if len(args) > 0 && args[0] == "hash-token" {
			return hashToken(args[1:], os.Stdin, stdout)
		}
		return run(ctx, args, lookup, stderr)
	})
}

// run parses the flags, connects to NATS, ensures the streams and serves
// until ctx is done.
func run(ctx context.Context, args []string, lookup config.LookupEnv, stderr io.Writer) error {
	def, streamDef := ingest.Config{}.WithDefaults(), natsjs.StreamOptions{}.WithDefaults()
	fs := config.New("ingest", lookup)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "GOVPULSE_INGEST_ADDR", def.Addr, "listen address (without --tokens: loopback only)")
	tokens := fs.String("tokens", "GOVPULSE_INGEST_TOKENS", "", "tokens file (JSON: source, sha256, regions, families per token); reloaded on SIGHUP")
	tlsCert := fs.String("tls-cert", "GOVPULSE_INGEST_TLS_CERT", "", "PEM certificate (chain) of the HTTPS listener; reloaded on SIGHUP")
	tlsKey := fs.String("tls-key", "GOVPULSE_INGEST_TLS_KEY", "", "PEM private key of the HTTPS listener")
	natsURL := natsjs.URLFlag(fs)
	prefix := natsjs.SubjectPrefixFlag(fs)
	maxAhead := fs.Duration("max-ahead", "GOVPULSE_INGEST_MAX_AHEAD", def.MaxAhead, "how far in the future an event time may be")
	maxBody := fs.Int64("max-body", "GOVPULSE_INGEST_MAX_BODY", def.MaxBodyBytes, "request body limit in bytes")
	maxBodyMemory := fs.Int64("max-body-memory", "GOVPULSE_INGEST_MAX_BODY_MEMORY", def.MaxBodyMemory, "memory of all request bodies held at once in bytes; beyond it 503 with Retry-After")
	maxEvents := fs.Int("max-events", "GOVPULSE_INGEST_MAX_EVENTS", def.MaxEvents, "events per request limit")
	maxEvent := fs.Int("max-event-bytes", "GOVPULSE_INGEST_MAX_EVENT_BYTES", def.MaxEventBytes, "size limit of one event in bytes")
	maxHeader := fs.Int("max-header-bytes", "GOVPULSE_INGEST_MAX_HEADER_BYTES", def.MaxHeaderBytes, "size limit of the request headers in bytes")
	rateLimit := fs.Int("rate-limit", "GOVPULSE_INGEST_RATE_LIMIT", int(def.RateLimit), "requests per second per token (no limit without tokens); negative: no limit")
	rateBurst := fs.Int("rate-burst", "GOVPULSE_INGEST_RATE_BURST", def.RateBurst, "requests a token may send at once above the rate")
	readHeaderTimeout := fs.Duration("read-header-timeout", "GOVPULSE_INGEST_READ_HEADER_TIMEOUT", def.ReadHeaderTimeout, "time allowed to read the request headers")
	readTimeout := fs.Duration("read-timeout", "GOVPULSE_INGEST_READ_TIMEOUT", def.ReadTimeout, "time allowed to read a whole request")
	idleTimeout := fs.Duration("idle-timeout", "GOVPULSE_INGEST_IDLE_TIMEOUT", def.IdleTimeout, "how long an idle keep-alive connection stays open")
	publishTimeout := fs.Duration("publish-timeout", "GOVPULSE_INGEST_PUBLISH_TIMEOUT", def.PublishTimeout, "how long a request waits for its acknowledgements")
	adminAddr := fs.String("admin-addr", "GOVPULSE_INGEST_ADMIN_ADDR", ingest.DefaultAdminAddr, "listen address of /metrics and of /readyz with its reason (keep it private); empty: none")
	maxConns := fs.Int("max-conns", "GOVPULSE_INGEST_MAX_CONNS", def.MaxConns, "open connections limit; more are closed at once")
	maxConnsPerAddr := fs.Int("max-conns-per-addr", "GOVPULSE_INGEST_MAX_CONNS_PER_ADDR", def.MaxConnsPerAddr, "open connections limit per client address (raise it behind a proxy); negative: none")
	maxLetters := fs.Int("max-dead-letters", "GOVPULSE_INGEST_MAX_DEAD_LETTERS", def.MaxDeadLetters, "dead letters per request; beyond it one summary letter counts the rest")
	letterRate := fs.Int("dead-letter-rate", "GOVPULSE_INGEST_DEAD_LETTER_RATE", int(def.DeadLetterRate), "dead letters per second per source; beyond it one summary letter per request; negative: no limit")
	letterBurst := fs.Int("dead-letter-burst", "GOVPULSE_INGEST_DEAD_LETTER_BURST", def.DeadLetterBurst, "dead letters a source may write at once above the rate")
	rejectLate := fs.Bool("reject-late", "GOVPULSE_INGEST_REJECT_LATE", !def.AcceptLate, "reject user-experience events older than their partition's watermark minus the allowed lateness (too_late); false: store them for the aggregator's late_events")
	replicas := fs.Int("stream-replicas", "GOVPULSE_STREAM_REPLICAS", streamDef.Replicas, "replicas of the EVENTS and DLQ streams (3 in a cluster)")
	maxAge := fs.Duration("stream-max-age", "GOVPULSE_STREAM_MAX_AGE", streamDef.MaxAge, "how long the EVENTS stream keeps events (0: forever)")
	maxBytes := fs.Int64("stream-max-bytes", "GOVPULSE_STREAM_MAX_BYTES", streamDef.MaxBytes, "size limit of the EVENTS stream in bytes (0: none; a full stream refuses events)")
	dlqMaxAge := fs.Duration("dlq-max-age", "GOVPULSE_DLQ_MAX_AGE", streamDef.DLQMaxAge, "how long the DLQ stream keeps dead letters")
	dlqMaxBytes := fs.Int64("dlq-max-bytes", "GOVPULSE_DLQ_MAX_BYTES", streamDef.DLQMaxBytes, "size limit of the DLQ stream in bytes; beyond it the oldest dead letters are dropped")
	dupWindow := fs.Duration("duplicate-window", "GOVPULSE_DUPLICATE_WINDOW", streamDef.DuplicateWindow, "window in which a resent event id is stored once")
	newLogger := config.LogFlag(fs)
	security := natsjs.SecurityFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}

	logger, err := newLogger(stderr)
	if err != nil {
		return err
	}

	cfg := ingest.Config{
		Addr:              *addr,
		TokensFile:        *tokens,
		TLSCertFile:       *tlsCert,
		TLSKeyFile:        *tlsKey,
		Names:             natsjs.Names{SubjectPrefix: *prefix},
		MaxAhead:          *maxAhead,
		MaxBodyBytes:      *maxBody,
		MaxBodyMemory:     *maxBodyMemory,
		MaxEvents:         *maxEvents,
		MaxEventBytes:     *maxEvent,
		MaxHeaderBytes:    *maxHeader,
		RateLimit:         float64(*rateLimit),
		RateBurst:         *rateBurst,
		ReadHeaderTimeout: *readHeaderTimeout,
		ReadTimeout:       *readTimeout,
		IdleTimeout:       *idleTimeout,
		PublishTimeout:    *publishTimeout,
		AdminAddr:         *adminAddr,
		MaxConns:          *maxConns,
		MaxConnsPerAddr:   *maxConnsPerAddr,
		MaxDeadLetters:    *maxLetters,
		DeadLetterRate:    float64(*letterRate),
		DeadLetterBurst:   *letterBurst,
		AcceptLate:        !*rejectLate,
	}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	streams := natsjs.StreamOptions{
		Replicas:        *replicas,
		MaxAge:          *maxAge,
		MaxBytes:        *maxBytes,
		DuplicateWindow: *dupWindow,
		DLQMaxAge:       *dlqMaxAge,
		DLQMaxBytes:     *dlqMaxBytes,
	}.WithDefaults()
	if err := streams.Validate(); err != nil {
		return err
	}

	if err := config.RefuseExampleSecret("--nats-password (GOVPULSE_NATS_PASSWORD)", security().Password); err != nil {
		return err
	}
	natsOpts, err := security().Options()
	if err != nil {
		return err
	}
	logger.Info("nats security", "security", security().String())
	nc, err := natsjs.Connect(*natsURL, logger, append(natsOpts, nats.Name("govpulse-ingest"))...)
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
	err = natsjs.EnsureStreams(sctx, js, cfg.Names, streams)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := ingest.New(cfg, js, logger, reg)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				// A failed reload keeps the old tokens and is logged by Reload.
				_ = srv.Reload()
			}
		}
	})
	return g.Wait()
}

// hashToken implements "ingest hash-token": without arguments it generates
// a random token and prints it with its hash; with "-" it reads a token from
// in (the first line) and prints its hash only.
func hashToken(args []string, in io.Reader, out io.Writer) error {
	switch {
	case len(args) == 0:
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("hash-token: %w", err)
		}
		tok := base64.RawURLEncoding.EncodeToString(b[:])
		_, err := fmt.Fprintf(out, "token:  %s\nsha256: %s\n", tok, ingest.HashToken(tok))
		return err
	case len(args) == 1 && args[0] == "-":
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("hash-token: read stdin: %w", err)
		}
		tok := strings.TrimRight(line, "\r\n")
		if tok == "" {
			return errors.New("hash-token: empty token on stdin")
		}
		_, err = fmt.Fprintln(out, ingest.HashToken(tok))
		return err
	}
	return errors.New("usage: ingest hash-token [-] (the token is never taken from the command line)")
}
