// Package benchkit holds what the project's benchmarks share: the CPU time the process has used,
// for figures per CPU second, and sizes given in the environment (GOVPULSE_BENCH_* and the like).
package benchkit

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// ProcessCPU returns the CPU time (user and system, every thread: the collector's workers count)
// the process has used so far.
func ProcessCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// EnvPositive returns the positive integer of environment variable name, or def when it is unset;
// any other value fails tb.
func EnvPositive(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
