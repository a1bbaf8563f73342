# test-clickhouse.sh: sourced by test.sh and bench.sh. Installs ClickHouse when it is missing,
# starts the test server (ports 19000/18123 unless GOVPULSE_TEST_CH_PORT/_HTTP_PORT say otherwise,
# data under $RUN_DIR/test-clickhouse, never the data of `make run`), stops it when the calling
# script exits, and exports what the integration tests read: GOVPULSE_TEST_CLICKHOUSE,
# GOVPULSE_REQUIRE_SERVERS=1 (a test that cannot reach a server fails instead of skipping) and
# GOVPULSE_TEST_CH_DIR.
export CH_DIR="$RUN_DIR/test-clickhouse"
export CH_TCP_PORT="${GOVPULSE_TEST_CH_PORT:-19000}"
export CH_HTTP_PORT="${GOVPULSE_TEST_CH_HTTP_PORT:-18123}"

deploy/clickhouse/clickhouse.sh install
deploy/clickhouse/clickhouse.sh start
trap 'deploy/clickhouse/clickhouse.sh stop' EXIT

export GOVPULSE_TEST_CLICKHOUSE="127.0.0.1:$CH_TCP_PORT"
export GOVPULSE_REQUIRE_SERVERS=1
export GOVPULSE_TEST_CH_DIR="$CH_DIR"
