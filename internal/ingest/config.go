package ingest

import (
	"fmt"
	"net"
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
)

// MaxDLQPayload is the largest payload of a dead letter; longer elements are
// cut and marked with the header Govpulse-Truncated: true.
const MaxDLQPayload = 64 << 10

// Config configures a Server. The zero value means the defaults.
type Config struct {
	// Addr is the listen address (DefaultAddr). Without tokens it must be a
	// loopback address.
	Addr string
	// Names are the subject prefix and stream names (natsjs defaults).
	Names natsjs.Names
	// MaxAhead is how far in the future an event time may be
	// (DefaultMaxAhead).
	MaxAhead time.Duration
	// MaxBodyBytes limits the request body (DefaultMaxBodyBytes, 4 MiB).
	MaxBodyBytes int64
	// MaxEvents limits the events of one request (DefaultMaxEvents).
	MaxEvents int
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
	// Now is the clock for the event time check (time.Now when nil).
	Now func() time.Time
}

// WithDefaults returns c with every zero field set to its default.
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
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
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
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports whether c (after WithDefaults) is usable, including the
// rule that an unauthenticated server listens on loopback only.
func (c Config) Validate() error {
	switch {
	case c.MaxAhead < 0:
		return fmt.Errorf("ingest: max ahead %s: must not be negative", c.MaxAhead)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("ingest: max body %d: must be positive", c.MaxBodyBytes)
	case c.MaxEvents < 1:
		return fmt.Errorf("ingest: max events %d: must be positive", c.MaxEvents)
	case c.ReadHeaderTimeout < 0 || c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 ||
		c.PublishTimeout < 0 || c.RetryAfter < 0 || c.ShutdownTimeout < 0:
		return fmt.Errorf("ingest: timeouts must not be negative")
	}
	if !loopback(c.Addr) {
		return fmt.Errorf("ingest: listen address %q: without tokens only a loopback address is allowed", c.Addr)
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
