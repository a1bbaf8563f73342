#!/usr/bin/env bash
# test.sh: the whole test suite against real servers (`make test`).
#
# Installs ClickHouse when it is missing, starts a test server of its own (ports 19000/18123, data
# under $RUN_DIR/test-clickhouse, so it never touches the data of `make run`), runs gofmt, go vet
# and `go test -race` over every package with the integration tests required (a test that cannot
# reach a server fails instead of skipping), and stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
source deploy/local/test-clickhouse.sh

echo "== gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go'))"
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -shuffle=on -timeout 30m -count=1 ./...
