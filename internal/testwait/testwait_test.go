package testwait_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/testwait"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestForPollsUntilNil(t *testing.T) {
	var calls atomic.Int32
	testwait.For(t, 5*time.Second, time.Millisecond, func() error {
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n := calls.Load(); n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}

func TestRunStopsAndWaits(t *testing.T) {
	var stopped atomic.Bool
	stop := testwait.Run(t, "loop", func(ctx context.Context) error {
		<-ctx.Done()
		stopped.Store(true)
		return nil
	})
	stop()
	if !stopped.Load() {
		t.Error("stop returned before run did")
	}
	stop() // a second call does nothing
}

func TestUntilReturnsTheLastErrorAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	missing := errors.New("still missing")
	err := testwait.Until(ctx, time.Millisecond, func() error { return missing })
	if !errors.Is(err, missing) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Until: %v, want the deadline and the last error", err)
	}
}

func TestUntilStopsAtAbort(t *testing.T) {
	gone := errors.New("exited")
	var calls int
	err := testwait.Until(context.Background(), time.Millisecond, func() error {
		calls++
		return testwait.Abort(gone)
	})
	if !errors.Is(err, gone) || calls != 1 {
		t.Errorf("Until: %v after %d calls, want %v after 1", err, calls, gone)
	}
}
