package natsjs

import (
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// AsyncErrors counts the asynchronous publishes of a JetStream context that failed and keeps the
// first failure. The zero value is ready; Handler gives the option that feeds it.
type AsyncErrors struct {
	mu    sync.Mutex
	n     int
	first error
}

// Handler returns the option of jetstream.New that reports every failed asynchronous publish to e.
func (e *AsyncErrors) Handler() jetstream.JetStreamOpt {
	return jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) { e.add(err) })
}

func (e *AsyncErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		e.first = err
	}
	e.n++
}

// Err returns an error saying how many publishes failed and with what first, or nil.
func (e *AsyncErrors) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		return nil
	}
	return fmt.Errorf("%d publishes failed, the first with: %w", e.n, e.first)
}
