#!/usr/bin/env bash
# bench-peer.sh: govpulse's aggregator against Telegraf on the same backlog (`make bench-peer`);
# docs/benchmarks.md explains it and gives the figures of one run.
#
# Builds Telegraf v1.37.2 from its module into $RUN_DIR/tools (once: skipped when that binary
# reports this version; the build takes several minutes), aggregate, the NATS server (from the
# nats-server module) and the benchmark command test/bench/peer into $RUN_DIR/bin; installs
# ClickHouse when it is missing; starts a private ClickHouse (data under $RUN_DIR/bench-peer/clickhouse)
# and a private JetStream server (a fresh store under $RUN_DIR/bench-peer/nats); then test/bench/peer
# publishes the backlog into EVENTS and measures Telegraf (deploy/bench-peer/telegraf.conf) and
# aggregate draining it, one after the other. Both servers are stopped at the end. Everything
# printed is also written to $RUN_DIR/bench-peer.txt.
#
# Environment:
#   GOVPULSE_PEER_EVENTS     events of the backlog (default 1000000)
#   GOVPULSE_PEER_CH_PORT    native port of the private ClickHouse (default 19300; HTTP: GOVPULSE_PEER_CH_HTTP_PORT, 18300)
#   GOVPULSE_PEER_NATS_PORT  port of the private NATS server (default 14300)
#   TELEGRAF                 a Telegraf v1.37.2 binary to use instead of building one
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd -P)"
BIN="$RUN_DIR/bin"
TOOLS="$RUN_DIR/tools"
PEER_DIR="$RUN_DIR/bench-peer"
OUT="$RUN_DIR/bench-peer.txt"
EVENTS="${GOVPULSE_PEER_EVENTS:-1000000}"
NATS_PORT="${GOVPULSE_PEER_NATS_PORT:-14300}"
TELEGRAF_VERSION=1.37.2
TELEGRAF_MODULE="github.com/influxdata/telegraf/cmd/telegraf@v$TELEGRAF_VERSION"
export CH_DIR="$PEER_DIR/clickhouse"
export CH_TCP_PORT="${GOVPULSE_PEER_CH_PORT:-19300}"
export CH_HTTP_PORT="${GOVPULSE_PEER_CH_HTTP_PORT:-18300}"

log() { printf 'bench-peer.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# port_free succeeds when nothing listens on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# telegraf_ok succeeds when $1 is a Telegraf binary built from the module at TELEGRAF_VERSION (a
# `go install` build reports "Telegraf unknown" itself: its build information names the module).
telegraf_ok() {
	[ -x "$1" ] && go version -m "$1" 2>/dev/null |
		grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/influxdata/telegraf[[:space:]]+v$TELEGRAF_VERSION([[:space:]]|\$)"
}

# build_telegraf installs Telegraf from its module into TOOLS, printing progress while it builds.
build_telegraf() {
	local blog="$TOOLS/telegraf-build.log" pid start rc=0
	mkdir -p "$TOOLS"
	log "building Telegraf v$TELEGRAF_VERSION from its module into $TOOLS (several minutes; log $blog)"
	start=$SECONDS
	GOBIN="$TOOLS" go install "$TELEGRAF_MODULE" >"$blog" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 15
		kill -0 "$pid" 2>/dev/null || break
		log "  still building Telegraf ($((SECONDS - start)) s; $(grep -c '^go: downloading' "$blog" || true) modules downloaded)"
	done
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$blog" >&2
		die "building Telegraf failed (exit $rc)"
	fi
	log "Telegraf built in $((SECONDS - start)) s"
}

TELEGRAF="${TELEGRAF:-$TOOLS/telegraf}"
if telegraf_ok "$TELEGRAF"; then
	log "using $TELEGRAF (module github.com/influxdata/telegraf v$TELEGRAF_VERSION)"
else
	[ "$TELEGRAF" = "$TOOLS/telegraf" ] || die "TELEGRAF=$TELEGRAF is not built from github.com/influxdata/telegraf v$TELEGRAF_VERSION"
	build_telegraf
	telegraf_ok "$TELEGRAF" || die "$TELEGRAF is not built from github.com/influxdata/telegraf v$TELEGRAF_VERSION"
fi

log "building aggregate, nats-server and bench-peer into $BIN"
mkdir -p "$BIN"
go build -o "$BIN/aggregate" ./cmd/aggregate
go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2
go build -o "$BIN/bench-peer" ./test/bench/peer

for p in "$CH_TCP_PORT" "$CH_HTTP_PORT" "$NATS_PORT"; do
	port_free "$p" || die "port $p is in use; choose others with GOVPULSE_PEER_CH_PORT, GOVPULSE_PEER_CH_HTTP_PORT, GOVPULSE_PEER_NATS_PORT"
done

NATS_PID=""
cleanup() {
	if [ -n "$NATS_PID" ] && kill -0 "$NATS_PID" 2>/dev/null; then
		kill -TERM "$NATS_PID" 2>/dev/null || true
		wait "$NATS_PID" 2>/dev/null || true
	fi
	deploy/clickhouse/clickhouse.sh stop || true
}
trap cleanup EXIT

deploy/clickhouse/clickhouse.sh install
deploy/clickhouse/clickhouse.sh start
CH_PID="$(tr -dc '0-9' <"$CH_DIR/clickhouse-server.pid")"

# A fresh JetStream store, the default sync interval (as `make bench`'s replay; the drains read
# the stream and write only acknowledgements).
rm -rf "$PEER_DIR/nats"
mkdir -p "$PEER_DIR/nats/store"
cat >"$PEER_DIR/nats/nats.conf" <<CONF
listen: 127.0.0.1:$NATS_PORT
max_payload: 1MB
jetstream {
  store_dir: "$PEER_DIR/nats/store"
  max_memory_store: 256MB
  max_file_store: 20GB
}
CONF
"$BIN/nats-server" -c "$PEER_DIR/nats/nats.conf" >"$PEER_DIR/nats/nats.log" 2>&1 &
NATS_PID=$!
for ((i = 0; i < 100; i++)); do
	! port_free "$NATS_PORT" && break
	kill -0 "$NATS_PID" 2>/dev/null || { tail -n 20 "$PEER_DIR/nats/nats.log" >&2; die "nats-server exited"; }
	sleep 0.1
done
port_free "$NATS_PORT" && die "nats-server does not listen on $NATS_PORT"

{
	echo "govpulse make bench-peer, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
	echo "$(go version); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "Telegraf v$TELEGRAF_VERSION ($TELEGRAF); ClickHouse $(deploy/clickhouse/clickhouse.sh client --query 'SELECT version()'); $("$BIN/nats-server" --version)"
	"$BIN/bench-peer" --events "$EVENTS" --nats-url "nats://127.0.0.1:$NATS_PORT" --clickhouse "127.0.0.1:$CH_TCP_PORT" \
		--telegraf "$TELEGRAF" --telegraf-config deploy/bench-peer/telegraf.conf --aggregate "$BIN/aggregate" \
		--log-dir "$PEER_DIR" --clickhouse-pid "$CH_PID" --nats-pid "$NATS_PID"
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$OUT"
