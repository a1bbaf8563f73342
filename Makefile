# govpulse: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
RUN_DIR ?= $(CURDIR)/.run
BIN := $(RUN_DIR)/bin
SCENARIO ?= sample
export GOFLAGS ?= -buildvcs=false
# STATICCHECK is built from its module at this version (it supports Go 1.26).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test bench bench-peer chaos cluster cluster-stop chaos-cluster reset build lint

## run: install what is missing, start ClickHouse, NATS, aggregate and ingest, feed the scenario, watch the ranking
## (SCENARIO=sample, the default; 2019: the 2020 report's figures for 2019, with the key cities; none);
## each scenario keeps its stream and database in a data folder of its own (sample and none: $(RUN_DIR),
## others: $(RUN_DIR)/scenario-<name>), so switching scenarios needs no reset
run:
	@SCENARIO=$(SCENARIO) RUN_DIR=$(RUN_DIR) deploy/local/run.sh

## test: the whole suite against real servers (ClickHouse 18.16 started here, NATS in-process)
test:
	@RUN_DIR=$(RUN_DIR) STATICCHECK=$(STATICCHECK) deploy/local/test.sh

## bench: the benchmarks with their figures (hot paths, then the end-to-end replay)
bench:
	@RUN_DIR=$(RUN_DIR) deploy/local/bench.sh

## bench-peer: aggregate against Telegraf v1.37.2 (built here once) draining the same backlog of
## events (GOVPULSE_PEER_EVENTS, default 1,000,000) from JetStream into ClickHouse, on private servers
bench-peer:
	@RUN_DIR=$(RUN_DIR) deploy/local/bench-peer.sh

## chaos: 100,000 events through real servers while aggregate is killed (SIGKILL) 5 times, ClickHouse
## stopped once and NATS restarted once; compares the outputs with an uninterrupted run
chaos:
	@deploy/clickhouse/clickhouse.sh install
	@mkdir -p $(BIN)
	@$(GO) test -c -o $(BIN)/chaos.test ./test/chaos
	@GOVPULSE_REQUIRE_SERVERS=1 $(BIN)/chaos.test -test.run '^TestChaos$$' -test.count 1 -test.timeout 60m -chaos.long

## cluster: a cluster on this machine (deploy/cluster/cluster.sh): ZooKeeper, two ClickHouse replicas
## of one shard (replicated tables behind Distributed ones), three NATS servers (R3 streams and
## buckets), two ingest servers, two aggregator partitions and the site; data in .run/cluster
cluster:
	@deploy/clickhouse/clickhouse.sh install
	@CLUSTER_DIR=$(RUN_DIR)/cluster deploy/cluster/cluster.sh start

## cluster-stop: stop everything `make cluster` started (the data stays)
cluster-stop:
	@CLUSTER_DIR=$(RUN_DIR)/cluster deploy/cluster/cluster.sh stop

## chaos-cluster: events through a cluster of its own (as `make cluster`) while one NATS server (the
## stream leader), one ClickHouse replica, an aggregator partition and an ingest server are killed
## (SIGKILL) and restarted; compares with an uninterrupted single-node run
chaos-cluster:
	@deploy/clickhouse/clickhouse.sh install
	@mkdir -p $(BIN)
	@$(GO) test -c -o $(BIN)/chaos.test ./test/chaos
	@GOVPULSE_REQUIRE_SERVERS=1 $(BIN)/chaos.test -test.run '^TestChaosCluster$$' -test.count 1 -test.timeout 40m -chaos.cluster

## reset: delete the local stream and database of every scenario so that the next run starts empty
reset:
	@RUN_DIR=$(RUN_DIR) deploy/local/reset.sh

## build: the binaries, including a NATS server built from the nats-server module
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...
	$(GO) build -o $(BIN)/nats-server github.com/nats-io/nats-server/v2

## lint: gofmt, go vet and staticcheck (the lint step of `make test`)
lint:
	@STATICCHECK=$(STATICCHECK) deploy/local/lint.sh
