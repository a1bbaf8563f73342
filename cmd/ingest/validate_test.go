package main

import (
	"bytes"
	"strings"
	"testing"
)

// A setting that can never work fails at start, before NATS is dialled, with a message that
// names it.
func TestBadSettingsFailAtStart(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--stream-replicas", "7"}, "replicas 7"},
		{[]string{"--duplicate-window", "1h", "--stream-max-age", "1m"}, "duplicate window"},
		{[]string{"--subject-prefix", "a.>"}, "subject prefix"},
		{[]string{"--max-body-memory", "1"}, "max body memory"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), append(tc.args, "--nats-url", "nats://127.0.0.1:1"), nil, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
