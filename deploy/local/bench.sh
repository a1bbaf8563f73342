#!/usr/bin/env bash
# bench.sh: the benchmarks with their figures (`make bench`); docs/benchmarks.md explains them.
#
# Installs ClickHouse when it is missing and starts a test server of its own (ports 19000/18123,
# data under $RUN_DIR/test-clickhouse, as `make test` does), runs the Go benchmarks of the hot
# paths (decoding, windows, the engine, scoring, ClickHouse writes, ingest, the ingest load test),
# then the end-to-end replay (HTTP ingest -> JetStream -> aggregate -> ClickHouse) with the default
# JetStream sync interval, without and with the tables that explain every change (their cost is
# printed: "end-to-end explain cost"), JetStream alone publishing and consuming the same events right
# after it (its ceiling: "end-to-end / JetStream ceiling = R"), and with sync_interval: always, over
# the 32 provincial units and over every unit, three consecutive replays on one pipeline
# ("end-to-end replays: replay 3 / replay 1 = R"), the latency from ingest's 202
# to the score published on NATS (paced at 5,000 events/s, and for lone events on an idle
# pipeline), then the site's fan-out (1,000 Server-Sent Event clients receiving every ranking of a
# replay), prints the figures and stops the server.
# Everything printed is also written to $RUN_DIR/bench.txt.
#
# Environment:
#   BENCHTIME              -benchtime of the hot-path benchmarks (default 1s)
#   LOAD_BENCHTIME         -benchtime of the ingest load test BenchmarkLoadMixed (default 2s)
#   GOVPULSE_BENCH_EVENTS  events of the end-to-end replay (default 200000)
#   GOVPULSE_BENCH_FEEDERS concurrent HTTP clients of the replay (default 8)
#   GOVPULSE_LATENCY_RATE, GOVPULSE_LATENCY_SECONDS, GOVPULSE_LATENCY_BATCH, GOVPULSE_LATENCY_LONE
#                          the latency benchmark: events/s (5000) for seconds (20) in requests of
#                          (50) events; lone events (50)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd -P)"
BENCHTIME="${BENCHTIME:-1s}"
LOAD_BENCHTIME="${LOAD_BENCHTIME:-2s}"
OUT="$RUN_DIR/bench.txt"

source deploy/local/test-clickhouse.sh

# The packages of the hot paths, in the order of an event's way through the pipeline.
HOT_PACKAGES=(./pkg/events/ ./pkg/windows/ ./internal/scoring/ ./internal/engine/ ./internal/scenario/ ./internal/chstore/)

# run prints and runs a command; a failure is reported and remembered, and the next command runs.
failed=0
run() {
	echo "== $*"
	"$@" || { echo "FAILED (exit $?): $*"; failed=1; }
}

status=0
{
	echo "govpulse make bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
	echo "$(go version); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "ClickHouse $(deploy/clickhouse/clickhouse.sh client --query 'SELECT version()' 2>/dev/null || echo '?') on $GOVPULSE_TEST_CLICKHOUSE"
	echo
	run go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" -timeout 20m "${HOT_PACKAGES[@]}"
	echo
	run go test -run '^$' -bench . -skip LoadMixed -benchmem -benchtime "$BENCHTIME" -timeout 20m ./internal/ingest/
	echo
	run go test -run '^$' -bench LoadMixed -benchmem -benchtime "$LOAD_BENCHTIME" -timeout 20m ./internal/ingest/
	echo
	# One iteration is a whole replay of GOVPULSE_BENCH_EVENTS events: explain off and on, the JetStream
	# ceiling of the same events, then sync=always; then over the 32 provincial units and over every
	# unit (BenchmarkEndToEndUnits); then three consecutive replays on one pipeline
	# (BenchmarkEndToEndReplays).
	run go test -run '^$' -bench EndToEnd -benchtime 1x -timeout 45m ./test/bench/
	echo
	# One iteration is a whole paced run, or all the lone events.
	run go test -run '^$' -bench Latency -benchtime 1x -timeout 20m ./test/bench/
	echo
	# One iteration publishes every ranking of a replay of the sample scenario to 1,000 streams.
	run go test -run '^$' -bench Stream1000 -benchtime 1x -benchmem -timeout 10m ./internal/site/
	exit "$failed"
} 2>&1 | tee "$OUT" || status=$?

echo
echo "== figures (also in $OUT)"
grep -E '^(pkg:|Benchmark|end-to-end |latency |apply units)' "$OUT" || true
if [ "$status" -ne 0 ]; then
	echo "bench.sh: a benchmark failed (exit $status); see $OUT" >&2
fi
exit "$status"
