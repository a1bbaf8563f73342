// Package dlqarchive copies the dead letters of the DLQ stream into the
// ClickHouse table dlq, so that operators can ask in SQL what a source sent
// wrong and when.
//
// An Archiver reads the DLQ stream with a durable pull consumer (by default
// "dlq-archiver"), converts each message to a chstore.DLQRow (its headers
// Govpulse-Stage, Govpulse-Reason, Govpulse-Reason-Code, Govpulse-Source,
// Govpulse-Received-At, Govpulse-Event-Id, Govpulse-Region, Govpulse-Type,
// its payload as the body and its stream sequence), writes each fetched
// batch with one chstore write, retrying with backoff while ClickHouse
// fails, and acknowledges the messages only after the write. A crash
// between write and acknowledgement redelivers the batch; the table keys
// rows by (stage, stream_seq), so the copy collapses to one row. A row that
// ClickHouse refuses for good is isolated from its batch (chstore's
// WriteIsolated), logged, counted and acknowledged: it stays in the stream.
//
// The dlq table is partitioned by month of received_at. The Archiver drops
// every month that lies wholly before now minus Config.Retention (90 days by
// default), at start and every Config.RetentionInterval (an hour), with
// ALTER TABLE ... DROP PARTITION: ClickHouse 18.16 has no TTL.
package dlqarchive
