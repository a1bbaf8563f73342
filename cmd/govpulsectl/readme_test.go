package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/govpulse/govpulse/internal/config/configtest"
)

// The README's flag table of each subcommand is the one its flags give.
func TestREADMEFlags(t *testing.T) {
	for _, cmd := range []string{"feed", "watch", "gen", "explain"} {
		var out bytes.Buffer
		_ = run(t.Context(), []string{cmd, "--help"}, nil, io.Discard, &out)
		configtest.CheckREADME(t, "../../README.md", "govpulsectl "+cmd, out.String())
	}
}
