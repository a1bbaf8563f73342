package natsjs

import (
	"errors"
	"testing"
)

func TestAsyncErrorsCountsAndKeepsTheFirst(t *testing.T) {
	var e AsyncErrors
	if err := e.Err(); err != nil {
		t.Fatalf("no failure: %v", err)
	}
	first, second := errors.New("first"), errors.New("second")
	e.add(first)
	e.add(second)
	err := e.Err()
	if !errors.Is(err, first) || errors.Is(err, second) || err.Error() != "2 publishes failed, the first with: first" {
		t.Fatalf("two failures: %v", err)
	}
}
