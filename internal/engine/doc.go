// Package engine is the deterministic state machine of one partition of
// regions: it applies decoded events in stream order, keeps the watermark,
// judges lateness and duplicates, maintains the rolling and hourly windows
// (pkg/windows) and the portal state (internal/scoring), and produces
// scores, rankings and window rows stamped with the stream sequence of the
// event that last changed them.
//
// Because every output row carries the sequence of the event that produced
// it, the latest rows depend only on the events applied, never on how they
// were grouped into drains, on restarts from a snapshot, or on replays.
// The method and its choices are described in docs/method.md.
//
// An Engine is not safe for concurrent use; it starts no goroutines, reads
// no clock and does no I/O.
package engine
