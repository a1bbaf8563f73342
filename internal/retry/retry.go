// Package retry is how govpulse waits between attempts: exponential backoff with jitter (from
// github.com/cenkalti/backoff/v4), bounded by a Policy and always cut short by a context.
//
// Do retries one operation until it succeeds. Backoff is the same sequence of waits for loops that
// retry something other than one call (a consumer that stops, a batch of dead letters), and Wait is
// the context-aware pause of loops that wait a fixed time between attempts or checks.
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Defaults of a Policy.
const (
	DefaultInitial = 100 * time.Millisecond
	DefaultMax     = 5 * time.Second
)

// Jitter and growth of every wait: each wait is drawn from ±50% around an interval that grows by
// half after each attempt, up to Policy.Max.
const (
	randomization = 0.5
	multiplier    = 1.5
)

// Policy bounds the waits between attempts. Its zero value means the defaults: from
// DefaultInitial, growing up to DefaultMax, until the context is done. A Policy is a value and
// safe for concurrent use.
type Policy struct {
	// Initial is the wait after the first failure (before jitter). Default DefaultInitial.
	Initial time.Duration
	// Max is the longest interval between two attempts (before jitter). Default DefaultMax, or
	// Initial when that is longer.
	Max time.Duration
	// MaxElapsed is how long to go on retrying; zero means until the context is done.
	MaxElapsed time.Duration
}

// WithDefaults returns p with its zero fields set to the defaults.
func (p Policy) WithDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	p.Max = max(p.Max, p.Initial)
	if p.MaxElapsed < 0 {
		p.MaxElapsed = 0
	}
	return p
}

func (p Policy) exponential() *backoff.ExponentialBackOff {
	p = p.WithDefaults()
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.Initial),
		backoff.WithMaxInterval(p.Max),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
		backoff.WithRandomizationFactor(randomization),
		backoff.WithMultiplier(multiplier),
	)
}

// Delay returns a wait before attempt n (0 for the first retry) of the policy, for callers that
// count attempts themselves (such as nats.CustomReconnectDelay). It ignores MaxElapsed.
func (p Policy) Delay(n int) time.Duration {
	p.MaxElapsed = 0
	b := p.exponential()
	// The interval reaches Max long before 64 growths of half; more would change nothing.
	for range min(max(n, 0), 64) {
		b.NextBackOff()
	}
	return b.NextBackOff()
}

// Do calls op until it returns nil, then returns nil. After each failure it calls notify (when not
// nil) with the error and the wait before the next attempt, and waits. When ctx is done it returns
// an error that wraps both ctx.Err() and op's last error; when the policy's MaxElapsed has passed it
// returns op's last error. A failure wrapped by Permanent ends it at once with the
// wrapped error.
func Do(ctx context.Context, p Policy, op func() error, notify func(err error, wait time.Duration)) error {
	var last error
	attempt := func() error {
		last = op()
		return last
	}
	err := backoff.RetryNotify(attempt, backoff.WithContext(p.exponential(), ctx), notify)
	if err != nil && ctx.Err() != nil && last != nil && !errors.Is(last, ctx.Err()) {
		return fmt.Errorf("%w; last attempt: %w", ctx.Err(), last)
	}
	return err
}

// Permanent wraps err so that Do returns err at once, without another attempt.
func Permanent(err error) error { return backoff.Permanent(err) }

// AsPermanent returns the error that Permanent wrapped, when err is (or wraps) one, for loops
// that retry without Do.
func AsPermanent(err error) (error, bool) {
	if p, ok := errors.AsType[*backoff.PermanentError](err); ok {
		return p.Err, true
	}
	return nil, false
}

// Backoff is the sequence of waits of a Policy, for a loop that decides itself when to retry. It is
// not safe for concurrent use.
type Backoff struct {
	b *backoff.ExponentialBackOff
}

// NewBackoff returns the waits of p, starting from the first.
func NewBackoff(p Policy) *Backoff {
	return &Backoff{b: p.exponential()}
}

// Next returns the next wait, or false once the policy's MaxElapsed has passed since the start (or
// the last Reset).
func (b *Backoff) Next() (time.Duration, bool) {
	d := b.b.NextBackOff()
	return d, d != backoff.Stop
}

// Reset starts the sequence again from the first wait, after a success.
func (b *Backoff) Reset() { b.b.Reset() }

// Wait waits for the next wait of b. It reports false, at once, when ctx is done or the policy's
// MaxElapsed has passed.
func (b *Backoff) Wait(ctx context.Context) bool {
	d, ok := b.Next()
	return ok && Wait(ctx, d)
}

// Wait waits for d or until ctx is done; it reports whether the full wait elapsed.
func Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return ctx.Err() == nil
	}
}
