#!/usr/bin/env bash
# reset.sh: delete the local stream and database so that the next `make run` starts empty
# (`make reset`). Stops nothing that is running: stop `make run` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
if pgrep -f "$RUN_DIR/bin/" >/dev/null 2>&1; then
	echo "reset: the local pipeline is still running; stop it (Ctrl-C in make run) first" >&2
	exit 1
fi
CH_DIR="$RUN_DIR/clickhouse" deploy/clickhouse/clickhouse.sh stop >/dev/null 2>&1 || true
rm -rf "$RUN_DIR/nats" "$RUN_DIR/clickhouse" "$RUN_DIR/log"
echo "reset: removed the local JetStream store and ClickHouse database under $RUN_DIR"
