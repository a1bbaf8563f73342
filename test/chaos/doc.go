// Package chaos holds the chaos test of the govpulse pipeline (TestChaos): it replays a synthetic
// stream through real ingest, aggregate, NATS and ClickHouse processes while it kills the
// aggregator with SIGKILL, stops ClickHouse and restarts the NATS server, and then checks that
// latest_scores, latest_ranking, the score changes at the latest versions, the inconsistencies
// between portals (FINAL), portal_measures and the per-region event counts equal those of an
// uninterrupted run over the same stream.
//
// The default run is short (20,000 events, 2 kills, one ClickHouse outage, one NATS restart) and
// runs with every `go test`; `make chaos` runs the long one (100,000 events, 5 kills):
//
//	go test -run TestChaos -count=1 -timeout 60m ./test/chaos -args -chaos.long
//
// GOVPULSE_CHAOS_LONG=1 selects the long run as well, and -chaos.seed (or GOVPULSE_CHAOS_SEED)
// repeats the random choices of an earlier run. The test needs clickhouse-server
// (deploy/clickhouse/clickhouse.sh install); without it the test is skipped, or fails when
// GOVPULSE_REQUIRE_SERVERS=1.
package chaos
