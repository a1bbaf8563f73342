#!/usr/bin/env bash
# lint.sh: gofmt, go vet and staticcheck over the tree (`make lint`, and the first step of
# `make test`). staticcheck is built from its module at the version pinned as STATICCHECK in the
# Makefile, so nothing needs to be installed beforehand.
set -euo pipefail
cd "$(dirname "$0")/../.."
STATICCHECK="${STATICCHECK:-$(sed -n 's/^STATICCHECK ?= //p' Makefile)}"

echo "== gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go'))"
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck ($STATICCHECK)"
go run "$STATICCHECK" ./...
