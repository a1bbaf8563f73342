package natsjs

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
)

// Reconnect backoff bounds used by Connect.
const (
	minReconnectDelay = 100 * time.Millisecond
	maxReconnectDelay = 5 * time.Second
)

// Connect dials the NATS server at url with the options every govpulse
// process shares: the client name "govpulse", reconnecting forever with an
// exponential backoff from 100ms to 5s (with jitter), and disconnects,
// reconnects, closes and asynchronous errors logged through logger (nil
// discards). opts are applied after these and may override them (for
// example nats.Name or nats.RetryOnFailedConnect). The returned connection
// is safe for concurrent use; the caller closes (or drains) it.
func Connect(url string, logger *slog.Logger, opts ...nats.Option) (*nats.Conn, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("component", "nats")
	base := []nats.Option{
		nats.Name("govpulse"),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			logger.Info("connection closed", "err", nc.LastError())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				logger.Error("async error", "subject", sub.Subject, "err", err)
				return
			}
			logger.Error("async error", "err", err)
		}),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect %s: %w", url, err)
	}
	logger.Info("nats connection", "url", nc.ConnectedUrlRedacted(), "status", nc.Status().String())
	return nc, nil
}

// reconnectDelay doubles from minReconnectDelay up to maxReconnectDelay and
// adds up to 20% jitter so that many clients do not reconnect in step.
func reconnectDelay(attempts int) time.Duration {
	d := maxReconnectDelay
	if attempts < 16 {
		d = min(minReconnectDelay<<attempts, maxReconnectDelay)
	}
	return d + rand.N(d/5+1)
}
