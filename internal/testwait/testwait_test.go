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
