package benchkit

import (
	"testing"
	"time"
)

func TestProcessCPUGrows(t *testing.T) {
	before := ProcessCPU(t)
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) { // spin: CPU time, not wall time
	}
	if after := ProcessCPU(t); after <= before {
		t.Errorf("CPU time %v after spinning, %v before", after, before)
	}
}

func TestEnvPositive(t *testing.T) {
	const name = "GOVPULSE_BENCHKIT_TEST"
	t.Setenv(name, "")
	if got := EnvPositive(t, name, 7); got != 7 {
		t.Errorf("unset: %d, want the default 7", got)
	}
	t.Setenv(name, "12")
	if got := EnvPositive(t, name, 7); got != 12 {
		t.Errorf("12: got %d", got)
	}
}
