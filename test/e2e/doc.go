// Package e2e holds the end-to-end tests of govpulse: events go in over HTTP through the real
// ingest handler into a real JetStream server, the real aggregator consumes them, and the test
// reads the results back from a real ClickHouse server (see internal/chstore/chtest for how the
// server is found). The package has no code of its own.
package e2e
