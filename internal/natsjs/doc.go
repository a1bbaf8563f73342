// Package natsjs names and sets up the JetStream resources of govpulse: the
// EVENTS and DLQ streams, the KV bucket of the latest scores and the object
// store of aggregator checkpoints. Every Ensure function is idempotent: it
// creates the resource when it is missing and updates its configuration
// when it exists, so every process may call it at start.
//
// The package also offers Connect, which dials NATS with the options every
// govpulse process shares (a client name, reconnecting forever with a capped
// backoff, connection events logged through log/slog).
package natsjs
