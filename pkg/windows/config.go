package windows

import (
	"fmt"
	"math"
	"time"
)

// MaxPanesPerWindow bounds Size/Hop. Computing a changed or final window combines up to Size/Hop
// panes, so very fine hops on very long windows are refused rather than made silently slow.
const MaxPanesPerWindow = 1 << 16

// Window is the half-open event-time interval [Start, End).
type Window struct{ Start, End time.Time }

// Contains reports whether t lies in [w.Start, w.End).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// String formats the window as "[start, end)" in RFC 3339 with nanoseconds.
func (w Window) String() string {
	return "[" + w.Start.Format(time.RFC3339Nano) + ", " + w.End.Format(time.RFC3339Nano) + ")"
}

// Config describes the windows of an Operator.
//
// Windows are Size long and start every Hop; Hop == 0 or Hop == Size gives tumbling windows, a
// smaller Hop gives hopping (sliding) windows, and Size must be a multiple of Hop. Windows start at
// the instants where (start + Offset) mod Hop == 0, counted from the Unix epoch: with Hop = 24h,
// Offset = 8h aligns the windows to calendar days of UTC+8 (China Standard Time); any fixed UTC
// offset works the same way. Offset is taken modulo Hop.
//
// AllowedLateness is how far behind the watermark an event may be and still be counted: an event
// with time t is accepted while t >= watermark - AllowedLateness, and a window [Start, End) is final
// once End + AllowedLateness <= watermark.
//
// DiscardChanged and DiscardFinal switch off the bookkeeping behind TakeChanged and TakeFinal for
// callers that only use Query; without them, changed and final windows are kept until taken.
//
// The zero value is not valid: Size is required.
type Config struct {
	Size            time.Duration
	Hop             time.Duration
	Offset          time.Duration
	AllowedLateness time.Duration

	DiscardChanged bool
	DiscardFinal   bool
}

// Validate reports whether c describes windows. The error matches ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Size <= 0:
		return fmt.Errorf("windows: %w: size %v must be positive", ErrInvalidConfig, c.Size)
	case c.Hop < 0:
		return fmt.Errorf("windows: %w: hop %v must not be negative", ErrInvalidConfig, c.Hop)
	case c.Hop > c.Size:
		return fmt.Errorf("windows: %w: hop %v is longer than size %v", ErrInvalidConfig, c.Hop, c.Size)
	case c.Hop > 0 && c.Size%c.Hop != 0:
		return fmt.Errorf("windows: %w: size %v is not a multiple of hop %v", ErrInvalidConfig, c.Size, c.Hop)
	case c.AllowedLateness < 0:
		return fmt.Errorf("windows: %w: allowed lateness %v must not be negative", ErrInvalidConfig, c.AllowedLateness)
	}
	if n := c.Size / c.hop(); n > MaxPanesPerWindow {
		return fmt.Errorf("windows: %w: size/hop = %d exceeds %d panes", ErrInvalidConfig, n, MaxPanesPerWindow)
	}
	return nil
}

// Tumbling reports whether the windows do not overlap (Hop is 0 or Size).
func (c Config) Tumbling() bool { return c.Hop == 0 || c.Hop == c.Size }

// PanesPerWindow returns Size/Hop, the number of panes a window combines (1 for tumbling windows).
func (c Config) PanesPerWindow() int { return int(c.Size / c.hop()) }

func (c Config) hop() time.Duration {
	if c.Hop == 0 {
		return c.Size
	}
	return c.Hop
}

// normalized returns c with Hop filled in and Offset reduced to [0, Hop). c must be valid.
func (c Config) normalized() Config {
	c.Hop = c.hop()
	c.Offset %= c.Hop
	if c.Offset < 0 {
		c.Offset += c.Hop
	}
	return c
}

// PaneOf returns the Hop-long slice of time (the pane) that contains t. With Hop = 24h and
// Offset = 8h it is t's calendar day in UTC+8. PaneOf of an invalid Config is the zero Window.
func (c Config) PaneOf(t time.Time) Window {
	if c.Validate() != nil {
		return Window{}
	}
	g := newGeometry(c)
	p := g.pane(nanos(t))
	return Window{Start: fromNanos(g.paneStart(p)), End: fromNanos(g.paneStart(p) + g.hop)}
}

// WindowsOf appends to dst every window that contains t, in order of start, and returns the
// extended slice: one window for tumbling windows, Size/Hop windows for hopping ones. An invalid
// Config assigns no window.
func (c Config) WindowsOf(t time.Time, dst []Window) []Window {
	if c.Validate() != nil {
		return dst
	}
	g := newGeometry(c)
	p := g.pane(nanos(t))
	for s := p - g.n + 1; s <= p; s++ {
		dst = append(dst, g.window(s))
	}
	return dst
}

// geometry is a valid Config in int64 nanoseconds. Panes are numbered: pane p is
// [p*hop - off, (p+1)*hop - off), and window s is the n panes s..s+n-1.
type geometry struct {
	size, hop, off, late int64
	n                    int64
}

func newGeometry(c Config) geometry {
	c = c.normalized()
	return geometry{
		size: int64(c.Size),
		hop:  int64(c.Hop),
		off:  int64(c.Offset),
		late: int64(c.AllowedLateness),
		n:    int64(c.Size / c.Hop),
	}
}

// pane returns the number of the pane that contains ns.
func (g geometry) pane(ns int64) int64 { return floorDiv(ns+g.off, g.hop) }

// paneCeil returns the number of the first pane that starts at or after ns.
func (g geometry) paneCeil(ns int64) int64 { return -floorDiv(-(ns + g.off), g.hop) }

func (g geometry) paneStart(p int64) int64 { return p*g.hop - g.off }

func (g geometry) window(s int64) Window {
	start := g.paneStart(s)
	return Window{Start: fromNanos(start), End: fromNanos(start + g.size)}
}

// horizon returns wm - AllowedLateness: events before it are too late.
func (g geometry) horizon(wm int64) int64 { return subSat(wm, g.late) }

// lastFinal returns the largest window number s that is final at watermark wm: window s is final
// when its end + lateness <= wm. Panes numbered <= lastFinal are no longer needed by any window
// that can change.
func (g geometry) lastFinal(wm int64) int64 { return subSat(g.pane(g.horizon(wm)), g.n) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func subSat(a, b int64) int64 {
	if b > 0 && a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// Times are handled as int64 nanoseconds since the Unix epoch, which covers the years 1678 to
// 2262; times outside that range are clamped to it.
const (
	minSeconds = math.MinInt64/int64(time.Second) + 1
	maxSeconds = math.MaxInt64/int64(time.Second) - 1
)

func nanos(t time.Time) int64 {
	s := t.Unix()
	switch {
	case s < minSeconds:
		return math.MinInt64
	case s > maxSeconds:
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
