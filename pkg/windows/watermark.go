package windows

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Watermark tracks event-time progress with bounded out-of-orderness: the watermark is the largest
// event time observed minus the bound, or the time given to Advance if that is later. It never
// goes backwards. The zero Watermark has a bound of 0. A Watermark is a value; it is not safe for
// concurrent use.
type Watermark struct {
	bound    int64
	maxSeen  int64
	advanced int64
	seen     bool // maxSeen is set
	adv      bool // advanced is set
}

// NewWatermark returns a Watermark that trails the largest event time seen by outOfOrderness
// (a negative bound counts as 0).
func NewWatermark(outOfOrderness time.Duration) Watermark {
	return Watermark{bound: max(int64(outOfOrderness), 0)}
}

// Observe records an event time; times at or below the largest seen change nothing.
func (w *Watermark) Observe(t time.Time) {
	n := nanos(t)
	if !w.seen || n > w.maxSeen {
		w.maxSeen, w.seen = n, true
	}
}

// Advance raises the watermark to at least to, for example when a source is idle; it never lowers
// it.
func (w *Watermark) Advance(to time.Time) {
	n := nanos(to)
	if !w.adv || n > w.advanced {
		w.advanced, w.adv = n, true
	}
}

// Current returns the watermark, and false before any time was observed or advanced to.
func (w Watermark) Current() (time.Time, bool) {
	n, ok := w.current()
	return fromNanos(n), ok
}

func (w Watermark) current() (int64, bool) {
	n := int64(math.MinInt64)
	if w.seen {
		n = subSat(w.maxSeen, w.bound)
	}
	if w.adv && w.advanced > n {
		n = w.advanced
	}
	return n, w.seen || w.adv
}

// MaxSeen returns the largest event time observed, and false before the first.
func (w Watermark) MaxSeen() (time.Time, bool) { return fromNanos(w.maxSeen), w.seen }

// OutOfOrderness returns the bound.
func (w Watermark) OutOfOrderness() time.Duration { return time.Duration(w.bound) }

var watermarkMagic = []byte{'g', 'p', 'm', 1}

// AppendSnapshot appends the watermark's state to dst (deterministic; read it with ReadWatermark).
func (w Watermark) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, watermarkMagic...)
	dst = binary.AppendVarint(dst, w.bound)
	dst = appendBool(dst, w.seen)
	dst = binary.AppendVarint(dst, w.maxSeen)
	dst = appendBool(dst, w.adv)
	return binary.AppendVarint(dst, w.advanced)
}

// ReadWatermark reads a Watermark written by AppendSnapshot at the start of src and returns it with
// the bytes after it. Input it cannot decode gives an error matching ErrCorrupt.
func ReadWatermark(src []byte) (Watermark, []byte, error) {
	var w Watermark
	rest, err := readMagic(src, watermarkMagic, "watermark")
	if err == nil {
		rest, err = w.read(rest)
	}
	if err != nil {
		return Watermark{}, src, fmt.Errorf("windows: read watermark: %w", err)
	}
	return w, rest, nil
}

func (w *Watermark) read(src []byte) (rest []byte, err error) {
	if w.bound, rest, err = readVarint(src, "bound"); err != nil {
		return src, err
	}
	if w.seen, rest, err = readBool(rest, "seen"); err != nil {
		return src, err
	}
	if w.maxSeen, rest, err = readVarint(rest, "max seen"); err != nil {
		return src, err
	}
	if w.adv, rest, err = readBool(rest, "advanced"); err != nil {
		return src, err
	}
	if w.advanced, rest, err = readVarint(rest, "advanced"); err != nil {
		return src, err
	}
	if w.bound < 0 || !w.seen && w.maxSeen != 0 || !w.adv && w.advanced != 0 {
		return src, fmt.Errorf("%w: watermark fields", ErrCorrupt)
	}
	return rest, nil
}
