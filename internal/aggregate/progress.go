package aggregate

import (
	"fmt"
	"strings"
	"time"
)

// RescoreProgress is how far a re-scoring got: it started after stream sequence Start, has read
// up to Done and reads up to Target, in Elapsed.
type RescoreProgress struct {
	Start, Done, Target uint64
	Elapsed             time.Duration
}

// Rate returns the messages read per second since the start; 0 before any.
func (p RescoreProgress) Rate() float64 {
	if p.Elapsed <= 0 || p.Done <= p.Start {
		return 0
	}
	return float64(p.Done-p.Start) / p.Elapsed.Seconds()
}

// ETA returns how long the rest takes at the rate so far, and false while there is no rate.
func (p RescoreProgress) ETA() (time.Duration, bool) {
	rate := p.Rate()
	if p.Done >= p.Target {
		return 0, true
	}
	if rate == 0 {
		return 0, false
	}
	return time.Duration(float64(p.Target-p.Done) / rate * float64(time.Second)).Round(time.Second), true
}

// Bar returns a one-line progress bar of width cells for a terminal:
// "[#######-----------]  1200/25578 events   4%  812 events/s  ETA 30s".
func (p RescoreProgress) Bar(width int) string {
	frac := 1.0
	if p.Target > p.Start {
		frac = float64(min(p.Done, p.Target)-min(p.Start, p.Done)) / float64(p.Target-p.Start)
	}
	filled := int(frac * float64(width))
	return fmt.Sprintf("[%s%s] %s", strings.Repeat("#", filled), strings.Repeat("-", width-filled), p.String())
}

// String returns the progress in words, for a log line or after the bar.
func (p RescoreProgress) String() string {
	pct := 100.0
	if p.Target > p.Start {
		pct = 100 * float64(min(p.Done, p.Target)-min(p.Start, p.Done)) / float64(p.Target-p.Start)
	}
	eta := "ETA --"
	if d, ok := p.ETA(); ok {
		eta = "ETA " + d.String()
	}
	return fmt.Sprintf("%d/%d events %3.0f%%  %.0f events/s  %s", p.Done, p.Target, pct, p.Rate(), eta)
}
