package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{fmt.Errorf("feed: %w", ErrUsage), 2, ""},
		{errors.New("listen: refused"), 1, "cmd: listen: refused\n"},
	} {
		var out bytes.Buffer
		if got := exitCode("cmd", tc.err, &out); got != tc.code || out.String() != tc.out {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tc.err, got, out.String(), tc.code, tc.out)
		}
	}
}
