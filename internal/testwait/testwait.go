// Package testwait is how govpulse tests wait: For polls a condition until it holds or a
// deadline passes (tests wait, they never sleep), and Run runs a long-lived component's
// Run(ctx) in the background until the test stops it, reporting the error it returned.
//
// Both take a testing.TB, so tests and benchmarks share them. They start no goroutine that
// outlives the test: Run's goroutine is waited for by stop, at the latest in t.Cleanup.
package testwait

import (
	"context"
	"sync"
	"testing"
	"time"
)

// For calls cond every interval until it returns nil. If cond still fails after timeout, For
// fails the test (t.Fatalf) with the last error cond returned. cond runs on the test's
// goroutine and should return quickly; an operation that may block gives itself a shorter
// timeout than For's.
func For(t testing.TB, timeout, interval time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		timer.Reset(interval)
		<-timer.C
	}
}

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
