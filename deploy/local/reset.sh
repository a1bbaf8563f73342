#!/usr/bin/env bash
# reset.sh: delete the local streams and databases of every scenario so that the next `make run`
# starts empty (`make reset`): the sample scenario's data folder (RUN_DIR's nats/, clickhouse/ and
# log/) and every other scenario's (RUN_DIR/scenario-<name>/). Stops nothing that is running: stop
# `make run` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
if pgrep -f "$RUN_DIR/bin/" >/dev/null 2>&1; then
	echo "reset: the local pipeline is still running; stop it (Ctrl-C in make run) first" >&2
	exit 1
fi
for data in "$RUN_DIR" "$RUN_DIR"/scenario-*/; do
	[ -d "$data" ] || continue
	data="${data%/}"
	CH_DIR="$data/clickhouse" deploy/clickhouse/clickhouse.sh stop >/dev/null 2>&1 || true
	rm -rf "$data/nats" "$data/clickhouse" "$data/log"
	if [ "$data" != "$RUN_DIR" ]; then
		rmdir "$data" 2>/dev/null || true
	fi
	echo "reset: removed the local JetStream store and ClickHouse database under $data"
done
