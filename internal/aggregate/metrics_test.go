package aggregate

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs/natstest"
)

// noWrites is a batchWriter for services that never flush.
type noWrites struct{}

func (noWrites) WriteIsolated(context.Context, chstore.Batch, bool) ([]chstore.Refused, error) {
	return nil, errors.New("not expected")
}

// Two services on one registry clash: the second New returns the registry's error instead of
// panicking; a nil registry registers nothing and never clashes.
func TestNewReportsAMetricsClash(t *testing.T) {
	url, _ := natstest.Start(t)
	_, js := natstest.Connect(t, url)
	reg := prometheus.NewRegistry()
	if _, err := New(Config{}, js, noWrites{}, nil, reg); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{}, js, noWrites{}, nil, reg)
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		t.Fatalf("second New on one registry: %v, want an AlreadyRegisteredError", err)
	}
	for range 2 {
		if _, err := New(Config{}, js, noWrites{}, nil, nil); err != nil {
			t.Fatalf("New with a nil registry: %v", err)
		}
	}
}
