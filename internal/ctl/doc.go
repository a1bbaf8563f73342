// Package ctl holds the logic of the govpulsectl command: feeding a
// scenario to the ingest HTTP API ([Feed]), writing it as NDJSON
// ([WriteNDJSON]) and watching the published rankings and scores on NATS
// ([Watch], [Once]). The command's main only parses flags and wires these
// together.
package ctl
