// Package bench holds the end-to-end replay benchmark of govpulse.
//
// BenchmarkEndToEnd feeds a synthetic stream of events over HTTP to the real ingest server, which
// publishes them to an in-process JetStream server (file storage), while the real aggregator
// consumes the stream, applies the events and stores rows and scores in ClickHouse. It reports the
// events per second from the first request to the last score stored, the events per second of
// ingest alone, and the time from the last event accepted to its score stored. It runs without and
// with the tables that explain every change (aggregate --explain) and prints their cost in the same
// run ("end-to-end explain cost: ..."), then repeats the run with the JetStream setting
// sync_interval: always.
//
// It needs the ClickHouse test server named by GOVPULSE_TEST_CLICKHOUSE (see internal/chstore/chtest)
// and is meant to run once per invocation:
//
//	GOVPULSE_TEST_CLICKHOUSE=127.0.0.1:19000 go test -run '^$' -bench EndToEnd -benchtime 1x ./test/bench/
//
// GOVPULSE_BENCH_EVENTS sets the number of events (default 200,000) and GOVPULSE_BENCH_FEEDERS the
// number of concurrent HTTP clients (default 8). `make bench` runs it (deploy/local/bench.sh).
package bench
