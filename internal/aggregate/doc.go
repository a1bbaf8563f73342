// Package aggregate is the aggregator service: it consumes the EVENTS stream of one partition in
// stream order, applies every event to the partition's engine, and flushes the results in batches:
// first to ClickHouse, then to NATS (score and ranking subjects and the latest-value bucket), and
// only then writes a checkpoint of the engine state and the last applied stream sequence. A batch
// is stored in two writes: its scores, which are then published at once, and its other rows, after
// which the rankings and the rest are published; so every message is published after its own rows
// are stored, and the checkpoint after both writes. Under load the explanation rows of a batch
// (score_changes, score_causes, rank_changes) are held and written with a later batch, those of
// several batches in one set of INSERTs (explain.go), but always before a checkpoint that covers
// their events.
//
// The order "store, then publish, then checkpoint" is what makes the outputs effectively once: a
// crash at any point replays events from the last checkpoint, and every replayed output row carries
// the same version (the stream sequence of the event that last changed it) as before, so ClickHouse
// replaces it with itself and NATS readers can drop versions they have already seen.
//
// Dead letters (undecodable messages, event times that break ingest's rule, too-late events and
// items over the limit) are written to the DLQ stream after their batch is stored. When the DLQ
// stream is missing the flusher creates it; when it cannot take them they wait in a bounded
// backlog, Ready reports it, no checkpoint is written past the oldest of them (the newest one is
// held back and written once they are), and a full backlog pauses consumption. After each flush
// that advanced it, the partition's watermark is put in the latest-value bucket under
// natsjs.WatermarkKey.
//
// Run has two loops, each the only owner of its state: the reader (read.go: the consumer, the
// engine, the batch being read, when to snapshot) reads, applies and cuts batches, taking the
// engine snapshot of a checkpoint at exactly the batch's last sequence; the flusher (flush.go: the
// store's schema-fault state, the versions published, the dead-letter backlog, the checkpoint held
// back) stores, publishes and checkpoints them in order, so that one batch is written while the
// next is read. A batch goes from one to the other only through a channel, and the reader keeps
// nothing of it.
//
// Readiness (readiness.go) is a fixed list of named conditions, each written by one owner: the
// reader's consuming condition (starting, setting up, a stopped consumer, shutting down), the
// flusher's store condition (ClickHouse failing or a schema fault) and its dead-letter condition.
// Ready lists every failing one in that order, so that one owner's success (a consumer that
// resumes) never hides another's failure (ClickHouse still down).
//
// Every wait between attempts goes through internal/retry: exponential backoff from 100ms up to
// Config.RetryMaxInterval, until the context is done.
//
// Ready is safe for concurrent use; otherwise a Service is not, and Run owns it until it returns.
package aggregate
