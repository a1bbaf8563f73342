// Package chstore is the ClickHouse adapter of govpulse: it applies the schema migrations of package
// schema, writes the aggregator's output rows in batches and reads them back for tests, tools, the
// comparison of runs and the public site (a region's downsampled score history and its recent
// events, site.go). SecurityFlags defines the credential and TLS flags of the commands that dial it.
//
// # Idempotency
//
// Every table is a ReplacingMergeTree keyed so that a row written again (after a retry, a crash or a
// replay) replaces itself: events by (region, id), scores by (region, version), rankings by
// (version, rank), windows by (region, metric, window_start), late events by (region, id,
// stream_seq), DLQ entries by (stage, stream_seq). ClickHouse collapses such rows only when parts
// merge, so every reader here and every view of the schema reads through FINAL, max(version), LIMIT 1 BY or
// uniqExact and never counts an uncollapsed duplicate. Insert deduplication is never relied upon.
//
// # Compatibility
//
// The schema and the queries stay inside what ClickHouse 18.16 (the Debian package the tests run
// against) and current releases both accept: native protocol only, DateTime('UTC') seconds plus an
// Int64 column of Unix nanoseconds where full precision matters, explicit column lists on every
// INSERT, query settings that are integers or booleans (see Dial).
//
// # Failures
//
// Write keeps every INSERT block within MaxPartitionsPerBlock monthly partitions. Classify sorts a
// failure into Transient (retry), RowError (the rows are refused) and SchemaFault (a missing table
// or column, or an unknown server error: retry for a while, then treat as a row error).
// WriteIsolated splits a refused block in halves down to single rows, stores the others and returns
// the refused rows with their errors. DropMonthsBefore drops old monthly partitions (retention).
//
// # Score columns
//
// A row of the method_scores table, and of the view scores (method 2017, its terms in named
// columns), is a scoring.Score (ScoreRow): its columns, and so the INSERT and SELECT column lists
// and the conversions, are derived from the json and chtype tags of its fields (ScoreColumns,
// MethodScoreColumns), and tests check the migrated table and views against them. method_scores
// stores the counts (the fields of scoring.Counts) in one column, counts Array(UInt64), in field
// order; each count is a column of its name computed from its element when read.
//
// A Store is safe for concurrent use. It keeps no scoring logic: rows arrive computed.
package chstore
