// Package natsjs names and sets up the JetStream resources of govpulse: the
// EVENTS and DLQ streams, the KV bucket of the latest scores and the object
// store of aggregator checkpoints. Every Ensure function is idempotent: it
// creates the resource when it is missing, leaves it alone when its settings
// are the ones asked for and updates them only when they differ, so every
// process may call it at start, also as a NATS user that may create streams
// but not change them.
//
// The package also offers Connect, which dials NATS with the options every
// govpulse process shares (a client name, reconnecting forever with a capped
// backoff, connection events logged through log/slog).
package natsjs
