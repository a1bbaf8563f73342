#!/usr/bin/env bash
# users.sh: print deploy/clickhouse/users.xml with the SHA-256 of the passwords of the environment.
#
#   GOVPULSE_CLICKHOUSE_PASSWORD=... GOVPULSE_CLICKHOUSE_ANALYST_PASSWORD=... \
#     deploy/clickhouse/users.sh > users.xml
#
# GOVPULSE_CLICKHOUSE_PASSWORD is the aggregator's (user "aggregate"),
# GOVPULSE_CLICKHOUSE_ANALYST_PASSWORD the analysts' (user "analyst"). Both must be set, non-empty
# and not the placeholders of the example files (change-me...). The file holds only hashes.
set -euo pipefail

die() { printf 'users.sh: %s\n' "$*" >&2; exit 1; }

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

check() {
	local name="$1" value="${!1:-}"
	[ -n "$value" ] || die "$name is not set"
	case "${value,,}" in
	*change-me* | *changeme* | *change_me*) die "$name holds the example placeholder (change-me...): set a password of your own" ;;
	esac
}

check GOVPULSE_CLICKHOUSE_PASSWORD
check GOVPULSE_CLICKHOUSE_ANALYST_PASSWORD
sed -e "s/@GOVPULSE_CLICKHOUSE_PASSWORD_SHA256@/$(sha256 "$GOVPULSE_CLICKHOUSE_PASSWORD")/" \
	-e "s/@GOVPULSE_CLICKHOUSE_ANALYST_PASSWORD_SHA256@/$(sha256 "$GOVPULSE_CLICKHOUSE_ANALYST_PASSWORD")/" \
	"$(dirname "$0")/users.xml"
