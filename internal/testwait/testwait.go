// Package testwait is how govpulse tests wait: For polls a condition until it holds or a
// deadline passes (tests wait, they never sleep), Until is the same loop for goroutines that
// must return an error instead of failing the test, and Run runs a long-lived component's
// Run(ctx) in the background until the test stops it, reporting the error it returned.
//
// A condition is a func() error: nil when it holds, else an error that says what is still
// missing (the last one is reported on timeout); an error wrapped by Abort ends the wait at
// once. Everything takes a testing.TB, so tests and benchmarks share it. Run's goroutine is
// waited for by stop, at the latest in t.Cleanup. Buffer holds what a background component
// writes while the test reads it.
package testwait

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// For calls cond every interval until it returns nil. If cond still fails after timeout, or
// returns an error wrapped by Abort, For fails the test (t.Fatalf) with that error. For must be
// called from the test's goroutine; cond runs on it and should return quickly (an operation
// that may block gives itself a shorter timeout than For's).
func For(t testing.TB, timeout, interval time.Duration, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := Until(ctx, interval, cond); err != nil {
		t.Fatalf("after %s: %v", timeout, err)
	}
}

// Until calls cond every interval until it returns nil, and then returns nil. It returns the
// error of an Abort as soon as cond returns one, and, once ctx is done, ctx's error wrapped
// together with cond's last error (so errors.Is(err, context.DeadlineExceeded) holds). It may
// be called from any goroutine.
func Until(ctx context.Context, interval time.Duration, cond func() error) error {
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var a *abortError
		if errors.As(err, &a) {
			return a.err
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-timer.C:
		}
	}
}

// Abort wraps err so that For and Until stop waiting at once and report err: for a condition
// that can no longer become true (the process under test exited, the context is done).
func Abort(err error) error {
	return &abortError{err: err}
}

type abortError struct{ err error }

func (a *abortError) Error() string { return a.err.Error() }
func (a *abortError) Unwrap() error { return a.err }

// StopTimeout bounds how long stop waits for a background function to return once its
// context is cancelled.
const StopTimeout = time.Minute

// Run calls run in a new goroutine with a context that stop cancels. stop waits for run to
// return and reports a non-nil error with t.Errorf, naming it by name; it runs in t.Cleanup
// if the test has not called it, and a second call does nothing. If run has not returned
// within StopTimeout after the cancellation, stop fails the test. stop must be called from
// the test's goroutine (or its cleanup).
func Run(t testing.TB, name string, run func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			t.Helper()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			case <-time.After(StopTimeout):
				t.Errorf("%s: did not stop within %s", name, StopTimeout)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Buffer is a bytes.Buffer that a component running in the background (its logger, its output)
// and the test may use at once: the test reads String while the component writes. The zero
// value is empty and ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
