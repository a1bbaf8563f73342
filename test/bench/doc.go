// Package bench holds the end-to-end benchmarks of govpulse: the replay and the latency.
//
// BenchmarkEndToEnd feeds a synthetic stream of events over HTTP to the real ingest server, which
// publishes them to an in-process JetStream server (file storage), while the real aggregator
// consumes the stream, applies the events and stores rows and scores in ClickHouse. It reports the
// events per second from the first request to the last score stored, the events per second of
// ingest alone, and the time from the last event accepted to its score stored. It runs without and
// with the tables that explain every change (aggregate --explain) and prints their cost in the same
// run ("end-to-end explain cost: ..."); right after the default replay it measures the JetStream
// ceiling of the same events (published asynchronously by as many publishers as there are feeders
// while an ordered pull consumer reads them) and prints "end-to-end / JetStream ceiling = R"; then
// it repeats the replay with the JetStream setting sync_interval: always.
//
// BenchmarkEndToEndReplays runs the default replay three times in a row on one pipeline that stays
// up (the same stream, ClickHouse database and aggregator), each time the next stretch of the
// synthetic stream, and prints "end-to-end replays: replay 3 / replay 1 = R".
//
// BenchmarkLatency measures, on the same pipeline, the delay from ingest's 202 for an event to the
// first score published on NATS whose version (a stream sequence) covers it: with events paced at
// GOVPULSE_LATENCY_RATE per second (default 5,000) for GOVPULSE_LATENCY_SECONDS (default 20) in
// requests of GOVPULSE_LATENCY_BATCH events (default 50), and for GOVPULSE_LATENCY_LONE lone
// ratings (default 50), each sent after the pipeline was idle, following a warm-up.
//
// It needs the ClickHouse test server named by GOVPULSE_TEST_CLICKHOUSE (see internal/chstore/chtest)
// and is meant to run once per invocation:
//
//	GOVPULSE_TEST_CLICKHOUSE=127.0.0.1:19000 go test -run '^$' -bench EndToEnd -benchtime 1x ./test/bench/
//
// GOVPULSE_BENCH_EVENTS sets the number of events (default 200,000) and GOVPULSE_BENCH_FEEDERS the
// number of concurrent HTTP clients (default 8). `make bench` runs both (deploy/local/bench.sh).
//
// The command in test/bench/peer is `make bench-peer` (deploy/local/bench-peer.sh): aggregate
// against Telegraf draining the same backlog.
package bench
