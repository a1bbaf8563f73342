#!/usr/bin/env bash
# test.sh: the whole test suite against real servers (`make test`).
#
# Runs the lint step of `make lint` (gofmt, go vet, staticcheck), installs ClickHouse when it is
# missing, and Debian's chromium with a CJK font for the site's browser test, starts a test server
# of its own (ports 19000/18123, data under $RUN_DIR/test-clickhouse, so it never touches the data
# of `make run`), runs `go test -race` over every package with the integration tests required (a
# test that cannot reach a server fails instead of skipping), and stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${RUN_DIR:-$PWD/.run}"
deploy/local/lint.sh
source deploy/local/test-clickhouse.sh

# The browser test (internal/site) drives headless Chromium; the font shows the Chinese names.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
if [ "${#missing[@]}" -gt 0 ]; then
	echo "== installing ${missing[*]}"
	sudo_=(); [ "$(id -u)" -eq 0 ] || sudo_=(sudo)
	"${sudo_[@]}" apt-get update
	"${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
export GOVPULSE_CHROMIUM="${GOVPULSE_CHROMIUM:-$(command -v chromium)}"

echo "== go test -race"
go test -race -shuffle=on -timeout 30m -count=1 ./...
