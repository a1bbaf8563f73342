package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPolicyWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Policy
		want Policy
	}{
		{"zero", Policy{}, Policy{Initial: DefaultInitial, Max: DefaultMax}},
		{"set", Policy{Initial: time.Second, Max: time.Minute, MaxElapsed: time.Hour}, Policy{Initial: time.Second, Max: time.Minute, MaxElapsed: time.Hour}},
		{"max below initial", Policy{Initial: 10 * time.Second, Max: time.Second}, Policy{Initial: 10 * time.Second, Max: 10 * time.Second}},
		{"negative", Policy{Initial: -1, Max: -1, MaxElapsed: -1}, Policy{Initial: DefaultInitial, Max: DefaultMax}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); got != tt.want {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDelayGrowsWithinBounds(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	for n := range 100 {
		interval := min(float64(p.Initial)*pow(multiplier, n), float64(p.Max))
		lo, hi := time.Duration(interval*(1-randomization)), time.Duration(interval*(1+randomization))+1
		if d := p.Delay(n); d < lo || d > hi {
			t.Fatalf("Delay(%d) = %s, want within [%s, %s]", n, d, lo, hi)
		}
	}
	if d := p.Delay(-1); d > 150*time.Millisecond {
		t.Errorf("Delay(-1) = %s, want the first wait", d)
	}
}

func pow(x float64, n int) float64 {
	r := 1.0
	for range n {
		r *= x
	}
	return r
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	calls := 0
	var waits []time.Duration
	err := Do(t.Context(), Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond}, func() error {
		calls++
		if calls < 4 {
			return errors.New("not yet")
		}
		return nil
	}, func(err error, wait time.Duration) {
		waits = append(waits, wait)
	})
	if err != nil || calls != 4 || len(waits) != 3 {
		t.Fatalf("Do = %v after %d calls and %d notifications, want nil after 4 and 3", err, calls, len(waits))
	}
	for _, w := range waits {
		if w <= 0 || w > 3*time.Millisecond {
			t.Errorf("wait %s out of the policy's bounds", w)
		}
	}
}

func TestDoStopsWhenTheContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	failure := errors.New("clickhouse down")
	calls := 0
	err := Do(ctx, Policy{Initial: time.Millisecond}, func() error {
		calls++
		if calls == 3 {
			cancel()
		}
		return failure
	}, nil)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, failure) {
		t.Fatalf("Do = %v, want both the context's error and the last failure", err)
	}
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
}

func TestDoGivesUpAfterMaxElapsed(t *testing.T) {
	failure := errors.New("no")
	start := time.Now()
	err := Do(t.Context(), Policy{Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: 20 * time.Millisecond},
		func() error { return failure }, nil)
	if !errors.Is(err, failure) || errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want the last failure", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %s", took)
	}
}

func TestDoStopsAtAPermanentError(t *testing.T) {
	failure := errors.New("refused for good")
	calls := 0
	err := Do(t.Context(), Policy{}, func() error {
		calls++
		return Permanent(failure)
	}, nil)
	if !errors.Is(err, failure) || calls != 1 {
		t.Fatalf("Do = %v after %d calls, want the failure after 1", err, calls)
	}
	if got, ok := AsPermanent(fmt.Errorf("wrapped: %w", Permanent(failure))); !ok || got != failure {
		t.Errorf("AsPermanent(wrapped Permanent) = %v, %v; want the failure", got, ok)
	}
	if got, ok := AsPermanent(failure); ok || got != nil {
		t.Errorf("AsPermanent(plain error) = %v, %v; want nil, false", got, ok)
	}
}

func TestBackoffWaitsAndResets(t *testing.T) {
	b := NewBackoff(Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond})
	var last time.Duration
	for range 10 {
		d, ok := b.Next()
		if !ok || d > 6*time.Millisecond {
			t.Fatalf("Next() = %s, %v", d, ok)
		}
		last = d
	}
	if last < 2*time.Millisecond {
		t.Errorf("after 10 waits the wait is %s, want it grown towards 4ms", last)
	}
	b.Reset()
	if d, _ := b.Next(); d > 2*time.Millisecond {
		t.Errorf("after Reset the wait is %s, want about 1ms", d)
	}
	if !b.Wait(t.Context()) {
		t.Error("Wait with a live context returned false")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if b.Wait(ctx) {
		t.Error("Wait with a done context returned true")
	}
	stopped := NewBackoff(Policy{Initial: time.Millisecond, MaxElapsed: time.Nanosecond})
	if !Wait(t.Context(), time.Millisecond) { // let MaxElapsed pass
		t.Fatal("Wait returned false")
	}
	if _, ok := stopped.Next(); ok {
		t.Error("Next after MaxElapsed reported another wait")
	}
}

func TestWait(t *testing.T) {
	if !Wait(t.Context(), time.Millisecond) {
		t.Error("Wait(1ms) = false with a live context")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if Wait(ctx, time.Hour) {
		t.Error("Wait = true with a done context")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Wait with a done context took %s", took)
	}
}
