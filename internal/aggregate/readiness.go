package aggregate

import (
	"errors"
	"strings"
	"sync"
)

// condition is one reason the service may not be ready. Each condition has exactly one writer.
type condition int

// The conditions, in the order Err lists them.
const (
	// condConsuming is written by Run's consuming side (the reader): starting, setting up, a
	// stopped consumer, shutting down.
	condConsuming condition = iota
	// condStore is written by the flusher: ClickHouse failed the last write, or has a schema fault.
	condStore
	// condDeadLetters is written by the flusher: dead letters wait for the DLQ stream.
	condDeadLetters

	numConditions
)

// readiness holds why the service is not ready, as one reason per condition. Each condition is
// set and cleared by its one owner, so that no owner's success hides another's failure. It is safe
// for concurrent use; the zero value is ready.
type readiness struct {
	mu      sync.Mutex
	reasons [numConditions]string
}

// set records that c fails, and why, replacing the reason it had.
func (r *readiness) set(c condition, reason string) {
	if reason == "" {
		reason = "not ready"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons[c] = reason
}

// clear records that c no longer fails.
func (r *readiness) clear(c condition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons[c] = ""
}

// Err returns nil when no condition fails, or an error listing the reason of every failing
// condition in the order of the conditions, separated by "; ".
func (r *readiness) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var failing []string
	for _, reason := range r.reasons {
		if reason != "" {
			failing = append(failing, reason)
		}
	}
	if len(failing) == 0 {
		return nil
	}
	return errors.New(strings.Join(failing, "; "))
}
