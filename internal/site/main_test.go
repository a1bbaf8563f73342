package site

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/govpulse/govpulse/internal/natsjs/natstest"
)

// TestMain fails the package's tests when a goroutine they started outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, natstest.IgnoreObjectStorePutLeak())
}
