package events_test

import (
	"reflect"

	"github.com/govpulse/govpulse/pkg/events"
)

// equalEvents compares two events; times compare as instants.
func equalEvents(a, b *events.Event) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !a.Time.Equal(b.Time) {
		return false
	}
	x, y := *a, *b
	x.Time, y.Time = x.Time.UTC(), y.Time.UTC()
	return x.ID == y.ID && x.Type == y.Type && x.Region == y.Region && x.Source == y.Source &&
		reflect.DeepEqual(x.Data, y.Data)
}
