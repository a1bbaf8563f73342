package main

import (
	"bytes"
	"strings"
	"testing"
)

// A setting that can never work fails at start, before anything is dialled, with a message that
// names it; the old names of renamed settings still work, with a warning.
func TestBadSettingsFailAtStart(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--regions", "330000,330000"}, `region "330000" is listed twice`},
		{[]string{"--regions", "330000,"}, `region ""`},
		{[]string{"--stream-replicas", "7"}, "replicas 7"},
		{[]string{"--replicas", "7"}, "replicas 7"},
		{[]string{"--subject-prefix", "a b"}, "subject prefix"},
		{[]string{"--max-batch", "-1"}, "max batch"},
		{[]string{"--log-level", "loud"}, "log level"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), append(tc.args, "--clickhouse-dsn", "clickhouse://127.0.0.1:1/x", "--nats-url", "nats://127.0.0.1:1"), nil, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		}
		if tc.args[0] == "--replicas" && !strings.Contains(out.String(), "--replicas is deprecated; use --stream-replicas") {
			t.Errorf("--replicas: no deprecation warning in %q", out.String())
		}
	}
}
