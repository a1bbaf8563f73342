package natsjs

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestStreamDiff(t *testing.T) {
	want := EventsConfig(Names{}, StreamOptions{Replicas: 3, MaxAge: time.Hour})
	tests := []struct {
		name  string
		edit  func(*jetstream.StreamConfig)
		diffs []string
	}{
		{"same", func(*jetstream.StreamConfig) {}, nil},
		{"description only", func(c *jetstream.StreamConfig) { c.Description = "other" }, nil},
		{"replicas", func(c *jetstream.StreamConfig) { c.Replicas = 1 }, []string{"replicas 1 -> 3"}},
		{"max age and bytes", func(c *jetstream.StreamConfig) { c.MaxAge, c.MaxBytes = 0, 10 },
			[]string{"max_bytes 10 -> -1", "max_age 0s -> 1h0m0s"}},
		{"subjects", func(c *jetstream.StreamConfig) { c.Subjects = []string{"x.>"} }, []string{"subjects [x.>] -> [govpulse.events.>]"}},
		{"deny delete", func(c *jetstream.StreamConfig) { c.DenyDelete = false }, []string{"deny_delete false -> true"}},
	}
	for _, tt := range tests {
		have := want
		have.Subjects = append([]string(nil), want.Subjects...)
		tt.edit(&have)
		got := streamDiff(have, want)
		if strings.Join(got, "; ") != strings.Join(tt.diffs, "; ") {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.diffs)
		}
	}
}
