#!/usr/bin/env bash
# run.sh: the whole local pipeline (`make run`).
#
# Installs what is missing (ClickHouse from Debian's packages, curl), builds the binaries (and a NATS
# server from the nats-server module), starts ClickHouse on 127.0.0.1:9000, a JetStream server on
# 127.0.0.1:4222, `aggregate`, `ingest` (127.0.0.1:8080) and `site` (http://127.0.0.1:8088/), feeds
# the sample scenario through the HTTP API (SCENARIO=none feeds nothing) and shows the live ranking
# under each scoring method of GOVPULSE_METHODS (default 2017,2022).
# SCENARIO=2019 feeds the 2019 scenario (the 2020 report's composites of the 31 provinces and the
# 32 key cities, built for method 2022): the methods default to 2022,2017 (the aggregator ranks the
# groups of units under its first method) and the watch shows the key cities' ranking too.
# Ctrl-C stops everything it started, in order: site, ingest, aggregate (which flushes and
# checkpoints), NATS, ClickHouse.
# Everything lives under RUN_DIR (default .run/): the binaries in bin/, and each scenario's data
# (the JetStream store with the stream and the checkpoints, the ClickHouse server's data, the logs)
# in a data folder of its own, so that switching scenarios needs no reset: the sample scenario's
# (and SCENARIO=none's) is RUN_DIR itself (nats/, clickhouse/, log/), any other scenario's
# RUN_DIR/scenario-<name>/; GOVPULSE_DATA_DIR names another. `make reset` deletes them all.
# The ports can be moved (GOVPULSE_CH_PORT, GOVPULSE_CH_HTTP_PORT, GOVPULSE_NATS_PORT,
# GOVPULSE_NATS_HTTP_PORT and the services' GOVPULSE_*_ADDR), for example to run a second pipeline.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
SCENARIO="${SCENARIO:-sample}"
BIN="$RUN_DIR/bin"
case "$SCENARIO" in
sample | none) DATA_DIR="${GOVPULSE_DATA_DIR:-$RUN_DIR}" ;;
*) DATA_DIR="${GOVPULSE_DATA_DIR:-$RUN_DIR/scenario-$SCENARIO}" ;;
esac
LOG="$DATA_DIR/log"
export CH_DIR="$DATA_DIR/clickhouse" CH_TCP_PORT="${GOVPULSE_CH_PORT:-9000}" CH_HTTP_PORT="${GOVPULSE_CH_HTTP_PORT:-8123}"
export GOVPULSE_NATS_STORE="$DATA_DIR/nats"
NATS_PORT="${GOVPULSE_NATS_PORT:-4222}" NATS_HTTP_PORT="${GOVPULSE_NATS_HTTP_PORT:-8222}"
export GOVPULSE_NATS_URL="${GOVPULSE_NATS_URL:-nats://127.0.0.1:$NATS_PORT}"
export GOVPULSE_CLICKHOUSE_DSN="${GOVPULSE_CLICKHOUSE_DSN:-clickhouse://127.0.0.1:$CH_TCP_PORT/govpulse}"
export GOVPULSE_INGEST_ADDR="${GOVPULSE_INGEST_ADDR:-127.0.0.1:8080}"
export GOVPULSE_AGGREGATE_ADMIN_ADDR="${GOVPULSE_AGGREGATE_ADMIN_ADDR:-127.0.0.1:8081}"
export GOVPULSE_SITE_ADDR="${GOVPULSE_SITE_ADDR:-127.0.0.1:8088}"
# The scoring methods computed side by side (aggregate) and shown (govpulsectl watch: one table each).
if [ "$SCENARIO" = 2019 ]; then
	export GOVPULSE_METHODS="${GOVPULSE_METHODS:-2022,2017}"
	export GOVPULSE_WATCH_GROUPS="${GOVPULSE_WATCH_GROUPS:-key-cities}"
fi
export GOVPULSE_METHODS="${GOVPULSE_METHODS:-2017,2022}"

say() { printf '\033[1mgovpulse:\033[0m %s\n' "$*" >&2; }

if ! command -v curl >/dev/null; then
	say "installing curl"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl
fi
deploy/clickhouse/clickhouse.sh install
say "building"
mkdir -p "$BIN" "$LOG" "$GOVPULSE_NATS_STORE"
go build -o "$BIN/" ./cmd/...
go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2

pids=()
stop_all() {
	trap - INT TERM EXIT
	say "stopping"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "${pids[i]}" 2>/dev/null || true
	done
	deploy/clickhouse/clickhouse.sh stop || true
	say "stopped; logs are in $LOG"
}
trap stop_all INT TERM EXIT

wait_http() { # name url
	for _ in $(seq 1 300); do
		if curl -fsS -o /dev/null "$2" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	say "$1 did not become ready at $2; its log:"; tail -n 30 "$LOG/$1.log" >&2 || true
	return 1
}

deploy/clickhouse/clickhouse.sh start
setsid "$BIN/nats-server" -c deploy/nats/local.conf -p "$NATS_PORT" -m "$NATS_HTTP_PORT" >"$LOG/nats.log" 2>&1 &
pids+=($!)
wait_http nats "http://127.0.0.1:$NATS_HTTP_PORT/healthz?js-enabled-only=true"
setsid "$BIN/aggregate" >"$LOG/aggregate.log" 2>&1 &
pids+=($!)
setsid "$BIN/ingest" >"$LOG/ingest.log" 2>&1 &
pids+=($!)
wait_http aggregate "http://$GOVPULSE_AGGREGATE_ADMIN_ADDR/readyz"
wait_http ingest "http://$GOVPULSE_INGEST_ADDR/readyz"
setsid "$BIN/site" >"$LOG/site.log" 2>&1 &
pids+=($!)
wait_http site "http://$GOVPULSE_SITE_ADDR/readyz"
say "pipeline up: ingest http://$GOVPULSE_INGEST_ADDR, NATS $GOVPULSE_NATS_URL, ClickHouse 127.0.0.1:$CH_TCP_PORT (data in $DATA_DIR, logs in $LOG)"

if [ "$SCENARIO" != none ]; then
	say "feeding the $SCENARIO scenario"
	setsid "$BIN/govpulsectl" feed --url "http://$GOVPULSE_INGEST_ADDR" --scenario "$SCENARIO" >"$LOG/feed.log" 2>&1 &
	pids+=($!)
fi
say "the site: http://$GOVPULSE_SITE_ADDR/"
say "live rankings under methods $GOVPULSE_METHODS (Ctrl-C stops everything)"
"$BIN/govpulsectl" watch || true
