package site

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
)

// Config configures a [Server]. The zero value means the defaults.
type Config struct {
	// Names are the subjects and the latest-value bucket. The zero value means the defaults.
	Names natsjs.Names
	// RateLimit is the number of /api requests per second a client address may make (20); a
	// negative value means no limit. Opening a stream counts as one request.
	RateLimit float64
	// RateBurst is the number of /api requests a client address may make at once (40).
	RateBurst int
	// RateClients bounds the client addresses whose rate is tracked (10,000); the one seen least
	// recently is forgotten first.
	RateClients int
	// MaxStreams bounds the concurrent /api/v1/stream clients (10,000); more get 503.
	MaxStreams int
	// StreamBuffer is the number of events buffered for one stream client (64). A client whose
	// buffer is full is dropped. It should hold at least one flush of the aggregator: a score per
	// unit and the ranking (33).
	StreamBuffer int
	// Heartbeat is the interval of the comment lines that keep idle streams open (15s).
	Heartbeat time.Duration
	// WriteTimeout bounds one write to a stream client (10s); a client that takes longer is dropped.
	WriteTimeout time.Duration
	// HistoryPoints is the default number of points of a history (500); MaxHistoryPoints (2,000)
	// bounds what a request may ask for.
	HistoryPoints, MaxHistoryPoints int
	// RecentEvents is the number of recent events a region's page lists (20).
	RecentEvents int
	// Resync is the interval at which the latest-value bucket is read again (30s), which repairs
	// anything missed while disconnected from NATS.
	Resync time.Duration
	// QueryTimeout bounds one ClickHouse read (10s).
	QueryTimeout time.Duration
	// CORSOrigin, when not empty, is sent as Access-Control-Allow-Origin on /api responses. Empty
	// (the default) sends no CORS header.
	CORSOrigin string
	// Methods are the scoring methods the site shows (as the aggregator's --methods); empty means
	// scoring.DefaultMethod alone. The default method's rankings and scores are streamed; the
	// others are served by the API (?method=) and the page reads them from there.
	Methods []string
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.Names = c.Names.WithDefaults()
	if len(c.Methods) == 0 {
		c.Methods = []string{scoring.DefaultMethod}
	}
	if c.RateLimit == 0 {
		c.RateLimit = 20
	}
	if c.RateBurst == 0 {
		c.RateBurst = 40
	}
	if c.RateClients == 0 {
		c.RateClients = 10000
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = 10000
	}
	if c.StreamBuffer == 0 {
		c.StreamBuffer = 64
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.HistoryPoints == 0 {
		c.HistoryPoints = 500
	}
	if c.MaxHistoryPoints == 0 {
		c.MaxHistoryPoints = 2000
	}
	if c.RecentEvents == 0 {
		c.RecentEvents = 20
	}
	if c.Resync == 0 {
		c.Resync = 30 * time.Second
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = 10 * time.Second
	}
	return c
}

// Validate reports a configuration that cannot work (after WithDefaults).
func (c Config) Validate() error {
	var errs []error
	if c.RateLimit > 0 && c.RateBurst < 1 {
		errs = append(errs, fmt.Errorf("rate burst %d must be at least 1", c.RateBurst))
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"rate clients", c.RateClients}, {"max streams", c.MaxStreams}, {"stream buffer", c.StreamBuffer},
		{"history points", c.HistoryPoints}, {"max history points", c.MaxHistoryPoints}, {"recent events", c.RecentEvents}} {
		if v.n < 1 {
			errs = append(errs, fmt.Errorf("%s %d must be at least 1", v.name, v.n))
		}
	}
	if c.HistoryPoints > c.MaxHistoryPoints {
		errs = append(errs, fmt.Errorf("history points %d exceed the maximum %d", c.HistoryPoints, c.MaxHistoryPoints))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"heartbeat", c.Heartbeat}, {"write timeout", c.WriteTimeout}, {"resync", c.Resync}, {"query timeout", c.QueryTimeout}} {
		if d.d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", d.name, d.d))
		}
	}
	for i, m := range c.Methods {
		if _, ok := scoring.Lookup(m); !ok || slices.Contains(c.Methods[:i], m) {
			errs = append(errs, fmt.Errorf("method %q unknown or listed twice", m))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("site: config: %w", err)
	}
	return nil
}
