package ingest

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
)

// Defaults of Config.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultMaxAhead          = 5 * time.Minute
	DefaultMaxBodyBytes      = 4 << 20
	DefaultMaxEvents         = 10_000
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultPublishTimeout    = 10 * time.Second
	DefaultRetryAfter        = 2 * time.Second
	DefaultShutdownTimeout   = 20 * time.Second
	DefaultMaxEventBytes     = 64 << 10
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultRateLimit         = 20.0
	DefaultRateBurst         = 40
	DefaultAdminAddr         = "127.0.0.1:8091"
	DefaultMaxConns          = 1024
	DefaultMaxConnsPerAddr   = 64
	DefaultMaxDeadLetters    = 100
	DefaultDeadLetterRate    = 50.0
	DefaultDeadLetterBurst   = 500
	DefaultCheckInterval     = 2 * time.Second
	DefaultMaxBodyMemory     = 128 << 20
)

// maxLimiters bounds the rate limiters kept; beyond it (after many reloads
// with new tokens) the limiters are forgotten and start afresh.
const maxLimiters = 10_000

// MaxDLQPayload is the largest payload of a dead letter; longer elements are
// cut and marked with the header Govpulse-Truncated: true.
const MaxDLQPayload = 64 << 10

// Config configures a Server. The zero value means the defaults.
type Config struct {
	// Addr is the listen address (DefaultAddr). Without tokens it must be a
	// loopback address.
	Addr string
	// TokensFile is the tokens file (see ParseTokens). Empty means no
	// authentication, allowed on a loopback address only.
	TokensFile string
	// TLSCertFile and TLSKeyFile are the PEM certificate (chain) and key of
	// the HTTPS listener; both empty means plain HTTP. Reload reads them
	// again.
	TLSCertFile string
	TLSKeyFile  string
	// Names are the subject prefix and stream names (natsjs defaults).
	Names natsjs.Names
	// MaxAhead is how far in the future an event time may be
	// (DefaultMaxAhead).
	MaxAhead time.Duration
	// MaxBodyBytes limits the request body (DefaultMaxBodyBytes, 4 MiB).
	MaxBodyBytes int64
	// MaxBodyMemory limits the memory of the request bodies held at once, by
	// all requests together (DefaultMaxBodyMemory, 128 MiB); it must be more
	// than MaxBodyBytes. A request whose body buffer cannot grow within it is
	// answered 503 with Retry-After, and its connection is closed.
	MaxBodyMemory int64
	// MaxEvents limits the events of one request (DefaultMaxEvents).
	MaxEvents int
	// MaxEventBytes limits one event of a request (DefaultMaxEventBytes,
	// 64 KiB); a longer element is rejected with reason "too_large".
	MaxEventBytes int
	// MaxHeaderBytes limits the request headers (DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// RateLimit is the sustained number of requests per second allowed to
	// each token (DefaultRateLimit); a negative value turns rate limiting
	// off. Without a tokens file (loopback only) requests are not limited.
	RateLimit float64
	// RateBurst is how many requests a token may send at once above the
	// rate (DefaultRateBurst).
	RateBurst int
	// ReadHeaderTimeout bounds reading the request headers
	// (DefaultReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request (DefaultReadTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds handling a request and writing the response;
	// 0 means ReadTimeout + PublishTimeout + 5s.
	WriteTimeout time.Duration
	// IdleTimeout bounds idle keep-alive connections (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// PublishTimeout bounds how long a request waits for the
	// acknowledgements of its events (DefaultPublishTimeout); events not
	// acknowledged by then are "unavailable".
	PublishTimeout time.Duration
	// RetryAfter is the delay advertised with 503 (DefaultRetryAfter,
	// rounded up to whole seconds).
	RetryAfter time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Run
	// (DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// AdminAddr is the listen address of GET /metrics and of GET /readyz
	// with the reason (see Server.AdminHandler). Empty means no admin
	// listener; the command's flag defaults to DefaultAdminAddr, a loopback
	// address, so that producers cannot read the metrics.
	AdminAddr string
	// MaxConns limits the open connections of the main listener
	// (DefaultMaxConns); a connection over it is closed at once.
	MaxConns int
	// MaxConnsPerAddr limits the open connections from one client address
	// (DefaultMaxConnsPerAddr); a negative value turns it off (behind a
	// proxy every connection has the proxy's address).
	MaxConnsPerAddr int
	// MaxDeadLetters limits the dead letters of one request
	// (DefaultMaxDeadLetters); the rejected events beyond it are summed up
	// in one dead letter with reason "dead_letters_dropped".
	MaxDeadLetters int
	// DeadLetterRate is the sustained number of dead letters per second
	// allowed to each source (DefaultDeadLetterRate), DeadLetterBurst the
	// bucket size (DefaultDeadLetterBurst). Beyond them, as beyond
	// MaxDeadLetters, one summary dead letter per request says how many were
	// dropped. The responses are not affected. A negative rate turns the
	// rate off (MaxDeadLetters still holds).
	DeadLetterRate  float64
	DeadLetterBurst int
	// AcceptLate turns the too_late check off: user-experience events older
	// than their partition's horizon are then stored and left to the
	// aggregator, which records them in late_events (as for a replay that
	// means to keep them). By default they are rejected at once.
	AcceptLate bool
	// CheckInterval is how often Run checks readiness (the NATS connection
	// and the EVENTS stream) and retries watching the watermarks of the
	// latest-value bucket while it does not exist (DefaultCheckInterval).
	CheckInterval time.Duration
	// Now is the clock for the event time check (time.Now when nil).
	Now func() time.Time
}

// WithDefaults returns c with every zero field set to its default. The
// command's flags take their defaults from Config{}.WithDefaults().
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	c.Names = c.Names.WithDefaults()
	if c.MaxAhead == 0 {
		c.MaxAhead = DefaultMaxAhead
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBodyMemory == 0 {
		c.MaxBodyMemory = DefaultMaxBodyMemory
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.RateBurst == 0 {
		c.RateBurst = DefaultRateBurst
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = c.ReadTimeout + c.PublishTimeout + 5*time.Second
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerAddr == 0 {
		c.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if c.MaxDeadLetters == 0 {
		c.MaxDeadLetters = DefaultMaxDeadLetters
	}
	if c.DeadLetterRate == 0 {
		c.DeadLetterRate = DefaultDeadLetterRate
	}
	if c.DeadLetterBurst == 0 {
		c.DeadLetterBurst = DefaultDeadLetterBurst
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports whether c, with its defaults, is usable, including the
// rule that a server without a tokens file listens on loopback only.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.Names.Validate(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	switch {
	case c.MaxAhead < 0:
		return fmt.Errorf("ingest: max ahead %s: must not be negative", c.MaxAhead)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("ingest: max body %d: must be positive", c.MaxBodyBytes)
	case c.MaxBodyMemory <= c.MaxBodyBytes:
		return fmt.Errorf("ingest: max body memory %d: must be more than the max body %d", c.MaxBodyMemory, c.MaxBodyBytes)
	case c.MaxEvents < 1:
		return fmt.Errorf("ingest: max events %d: must be positive", c.MaxEvents)
	case c.MaxEventBytes < 1:
		return fmt.Errorf("ingest: max event size %d: must be positive", c.MaxEventBytes)
	case c.MaxHeaderBytes < 1:
		return fmt.Errorf("ingest: max header size %d: must be positive", c.MaxHeaderBytes)
	case c.RateBurst < 1:
		return fmt.Errorf("ingest: rate burst %d: must be positive", c.RateBurst)
	case c.MaxConns < 1:
		return fmt.Errorf("ingest: max conns %d: must be positive", c.MaxConns)
	case c.MaxDeadLetters < 1:
		return fmt.Errorf("ingest: max dead letters %d: must be positive", c.MaxDeadLetters)
	case c.DeadLetterBurst < 1:
		return fmt.Errorf("ingest: dead letter burst %d: must be positive", c.DeadLetterBurst)
	case c.CheckInterval < 0:
		return fmt.Errorf("ingest: check interval %s: must not be negative", c.CheckInterval)
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return fmt.Errorf("ingest: tls: set both the certificate and the key file, or neither")
	case c.ReadHeaderTimeout < 0 || c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 ||
		c.PublishTimeout < 0 || c.RetryAfter < 0 || c.ShutdownTimeout < 0:
		return fmt.Errorf("ingest: timeouts must not be negative")
	}
	if c.AdminAddr != "" && c.AdminAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
		return fmt.Errorf("ingest: admin address %q: must differ from the listen address", c.AdminAddr)
	}
	if c.TokensFile == "" && !loopback(c.Addr) {
		return fmt.Errorf("ingest: listen address %q: without a tokens file only a loopback address is allowed", c.Addr)
	}
	return nil
}

// loopback reports whether addr (host:port) names a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
