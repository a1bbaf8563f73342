package promreg_test

import (
	"errors"
	"testing"

	"github.com/govpulse/govpulse/internal/promreg"
	"github.com/prometheus/client_golang/prometheus"
)

func counter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "govpulse_test_total", Help: "A test counter."})
}

func TestNilRegistersNothing(t *testing.T) {
	if err := promreg.Register(nil, counter()); err != nil {
		t.Fatal(err)
	}
}

func TestRegisters(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := counter()
	if err := promreg.Register(reg, c); err != nil {
		t.Fatal(err)
	}
	c.Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "govpulse_test_total" {
		t.Errorf("gathered %v", mfs)
	}
}

func TestClashIsAnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := promreg.Register(reg, counter()); err != nil {
		t.Fatal(err)
	}
	err := promreg.Register(reg, counter())
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		t.Fatalf("second registration: %v, want an AlreadyRegisteredError", err)
	}
}
