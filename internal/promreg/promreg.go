// Package promreg registers a component's Prometheus collectors on an injected registry. It
// gives a nil registry one meaning across govpulse: a nil prometheus.Registerer means "do not
// register" (the collectors still count, nobody gathers them). Libraries register through it
// instead of MustRegister, so a clash is an error returned by the constructor, never a panic.
package promreg

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers cs on reg in order and stops at the first failure. A nil reg registers
// nothing and returns nil. The error wraps the registry's (a prometheus.AlreadyRegisteredError
// when a collector with the same descriptor is there already, matched with errors.As).
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("promreg: register: %w", err)
		}
	}
	return nil
}
