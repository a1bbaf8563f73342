package main

import (
	"bytes"
	"testing"

	"github.com/govpulse/govpulse/internal/config/configtest"
)

// The README's flag table of site is the one its flags give.
func TestREADMEFlags(t *testing.T) {
	var out bytes.Buffer
	_ = run(t.Context(), []string{"--help"}, nil, &out)
	configtest.CheckREADME(t, "../../README.md", "site", out.String())
}
