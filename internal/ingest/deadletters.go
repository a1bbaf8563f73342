package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ReasonDeadLettersDropped is the reason code of the one dead letter that
// sums up the dead letters of a request that were not written because the
// request or its source was over its bounds (Config.MaxDeadLetters,
// Config.DeadLetterRate and DeadLetterBurst).
const ReasonDeadLettersDropped = "dead_letters_dropped"

// Causes of a dropped dead letter (the label of
// govpulse_ingest_dead_letters_dropped_total).
const (
	dropPerRequest = "per_request" // over Config.MaxDeadLetters
	dropRate       = "rate"        // over the source's dead-letter rate
)

// dropped counts the dead letters of a request that were not written.
type dropped struct {
	perRequest, rate int
	reasons          map[string]int // by reason code
}

func (d *dropped) total() int { return d.perRequest + d.rate }

// Summary is the body of a dead letter with reason "dead_letters_dropped":
// how many dead letters of one request were not written, and why.
type Summary struct {
	// Dropped is the number of dead letters not written.
	Dropped int `json:"dropped"`
	// OverRequestLimit of them were beyond MaxDeadLetters of the request.
	OverRequestLimit int `json:"over_request_limit"`
	// OverRate of them were beyond the source's dead-letter rate.
	OverRate int `json:"over_rate"`
	// Reasons counts the dropped letters by reason code.
	Reasons map[string]int `json:"reasons"`
	// MaxDeadLetters, Rate and Burst are the bounds in force.
	MaxDeadLetters int     `json:"max_dead_letters"`
	Rate           float64 `json:"rate"`
	Burst          int     `json:"burst"`
}

// admitDeadLetter reports whether a dead letter of the request may be
// written: at most Config.MaxDeadLetters per request, and within the
// dead-letter rate of the request's source. Otherwise it counts the letter
// as dropped.
func (b *batch) admitDeadLetter(reason string) bool {
	cause := ""
	switch {
	case b.letters >= b.s.cfg.MaxDeadLetters:
		cause = dropPerRequest
		b.dropped.perRequest++
	case !b.s.letterLimits.take(b.scope.letterKey(), time.Now()):
		cause = dropRate
		b.dropped.rate++
	default:
		b.letters++
		return true
	}
	if b.dropped.reasons == nil {
		b.dropped.reasons = make(map[string]int)
	}
	b.dropped.reasons[reason]++
	b.s.metrics.lettersDropped.WithLabelValues(cause, b.scope.metricSource()).Inc()
	return false
}

// summarizeDropped writes the one dead letter that says how many dead
// letters of the request were dropped and why, when any were. It is not
// subject to the bounds: a request writes at most MaxDeadLetters + 1
// letters.
func (b *batch) summarizeDropped() {
	d := b.dropped
	if d.total() == 0 {
		return
	}
	cfg := b.s.cfg
	sum := Summary{
		Dropped: d.total(), OverRequestLimit: d.perRequest, OverRate: d.rate, Reasons: d.reasons,
		MaxDeadLetters: cfg.MaxDeadLetters, Rate: cfg.DeadLetterRate, Burst: cfg.DeadLetterBurst,
	}
	data, err := json.Marshal(sum)
	if err != nil {
		b.dlqFailed(cfg.Names.DLQSubject(stage, ReasonDeadLettersDropped), err)
		return
	}
	var reasons []string
	for _, r := range slices.Sorted(maps.Keys(d.reasons)) {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, d.reasons[r]))
	}
	text := fmt.Sprintf("%d dead letters of this request not written (%s): %d beyond %d per request, "+
		"%d beyond the source's rate of %g per second (bursts of %d); each event still got its error in the response",
		d.total(), strings.Join(reasons, ", "), d.perRequest, cfg.MaxDeadLetters, d.rate, cfg.DeadLetterRate, cfg.DeadLetterBurst)
	b.publishLetter(ReasonDeadLettersDropped, data, b.letterHeader(ReasonDeadLettersDropped, text))
}

// letterKey is the key of the dead-letter rate limiter of a scope: its
// source for tokens (tokens of one source share it), the address without.
func (sc *scope) letterKey() string {
	if sc.token {
		return "source:" + sc.source
	}
	return sc.key
}
