#!/usr/bin/env bash
# cluster.sh: a govpulse cluster on this one machine (`make cluster`, `make cluster-stop`).
#
# Usage: deploy/cluster/cluster.sh start|stop|status|env|start-one NAME|kill NAME|stop-one NAME
#
#   start      builds the binaries (and nats-server from its module) into CLUSTER_DIR/bin unless
#              CLUSTER_BIN names a folder that has them, then starts everything below, in order
#   stop       stops everything it started (newest first: SIGTERM, SIGKILL after 30 s)
#   status     one line per process: running or not, pid, port
#   env        the addresses and credentials as shell variables (source it to use the cluster)
#   start-one NAME / kill NAME / stop-one NAME
#              start one process, SIGKILL it, or stop it with SIGTERM (NAME as in status)
#
# What runs (ports from CLUSTER_PORT_BASE, default 27000; everything on 127.0.0.1):
#   zookeeper       Debian's zookeeper package (installed with apt-get when missing)   base+20
#   clickhouse-1/2  two replicas of one shard of the ClickHouse cluster "govpulse"     base+1 / base+11
#                   (clickhouse-server of the Debian package, started by
#                   deploy/clickhouse/clickhouse.sh from CLUSTER_DIR/clickhouse-N)
#   nats-1/2/3      three JetStream servers of the NATS cluster "govpulse", configured   base+31..33
#                   by deploy/nats/cluster/govpulse.conf (users, permissions, sync) with
#                   local listen addresses, routes and store folders
#   schema          `aggregate migrate --clickhouse-cluster govpulse`: the cluster variant of
#                   the schema (ReplicatedReplacingMergeTree <table>_local behind Distributed
#                   <table>), derived from the migrations by internal/chstore
#   ingest-1/2      two ingest servers, streams with three replicas                     base+61..62
#   aggregate-a/b   two aggregator partitions (16 units each), R3 buckets               admin base+81..82
#   site            the site, reading through the Distributed tables                   base+90
#
# Environment: CLUSTER_DIR (default $PWD/.run/cluster): configuration, data, logs, pid files;
# CLUSTER_PORT_BASE; CLUSTER_BIN (prebuilt binaries: aggregate, ingest, site, nats-server);
# CLUSTER_FLAGS_aggregate, CLUSTER_FLAGS_ingest: extra flags of those processes.
# Passwords of the NATS users are generated once into CLUSTER_DIR/secrets.env.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd -P)"
CLUSTER_DIR="${CLUSTER_DIR:-$PWD/.run/cluster}"
mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR="$(cd "$CLUSTER_DIR" && pwd -P)"
BASE="${CLUSTER_PORT_BASE:-27000}"
BIN="${CLUSTER_BIN:-$CLUSTER_DIR/bin}"
LOGS="$CLUSTER_DIR/logs"
PIDS="$CLUSTER_DIR/pids"
CLUSTER_NAME=govpulse
DATABASE=govpulse

# The 32 units (schema/clickhouse/0002_regions.sql), in two partitions of 16.
REGIONS_A=110000,120000,130000,140000,150000,210000,220000,230000,310000,320000,330000,340000,350000,360000,370000,410000
REGIONS_B=420000,430000,440000,450000,460000,500000,510000,520000,530000,540000,610000,620000,630000,640000,650000,660000

ch_tcp() { echo $((BASE + 10 * ($1 - 1) + 1)); }
ch_http() { echo $((BASE + 10 * ($1 - 1) + 2)); }
ch_interserver() { echo $((BASE + 10 * ($1 - 1) + 3)); }
zk_port() { echo $((BASE + 20)); }
nats_port() { echo $((BASE + 30 + $1)); }
nats_cluster_port() { echo $((BASE + 40 + $1)); }
nats_http_port() { echo $((BASE + 50 + $1)); }
ingest_port() { echo $((BASE + 60 + $1)); }
ingest_admin_port() { echo $((BASE + 70 + $1)); }
aggregate_port() { case "$1" in a) echo $((BASE + 81)) ;; b) echo $((BASE + 82)) ;; esac; }
site_port() { echo $((BASE + 90)); }

nats_urls() { echo "nats://127.0.0.1:$(nats_port 1),nats://127.0.0.1:$(nats_port 2),nats://127.0.0.1:$(nats_port 3)"; }
# The DSN lists both replicas: a client whose replica is down uses the other. A query that gets
# no answer for 30 s fails (and a write is retried) instead of waiting for the client's default
# of 5 minutes: a replica restarted within its ZooKeeper session can hold an insert that long.
clickhouse_dsn() { echo "clickhouse://127.0.0.1:$(ch_tcp "${1:-1}"),127.0.0.1:$(ch_tcp "$((3 - ${1:-1}))")/$DATABASE?read_timeout=30s"; }

ALL=(zookeeper clickhouse-1 clickhouse-2 nats-1 nats-2 nats-3 schema ingest-1 ingest-2 aggregate-a aggregate-b site)

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

secrets() {
	local f="$CLUSTER_DIR/secrets.env" u
	if [ ! -s "$f" ]; then
		umask 077
		for u in SYS INGEST AGGREGATE READER ADMIN; do
			echo "GOVPULSE_NATS_${u}_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
		done >"$f"
	fi
	set -a
	# shellcheck disable=SC1090
	. "$f"
	set +a
}

build() {
	if [ -n "${CLUSTER_BIN:-}" ]; then
		for b in aggregate ingest site nats-server; do [ -x "$BIN/$b" ] || die "CLUSTER_BIN=$BIN has no $b"; done
		return 0
	fi
	log "building into $BIN"
	mkdir -p "$BIN"
	(cd "$ROOT" && GOFLAGS="${GOFLAGS:-} -buildvcs=false" go build -o "$BIN/" ./cmd/aggregate ./cmd/ingest ./cmd/site ./cmd/govpulsectl &&
		GOFLAGS="${GOFLAGS:-} -buildvcs=false" go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2)
}

pid_of() { # name: prints the pid when the process of that name is alive
	local f="$PIDS/$1.pid" pid
	[ -s "$f" ] || return 1
	pid="$(tr -dc '0-9' <"$f")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid: the process must still be the one started from this folder.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -F -e "$CLUSTER_DIR" -e "$BIN" || return 1
	echo "$pid"
}

# spawn NAME CMD...: start a process in the background, in a session of its own, logging to LOGS.
spawn() {
	local name="$1"
	shift
	mkdir -p "$LOGS" "$PIDS"
	if pid_of "$name" >/dev/null; then
		log "$name is running"
		return 0
	fi
	echo "=== $(date -u +%FT%T.%NZ) start $*" >>"$LOGS/$name.log"
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$PIDS/$name.pid"
}

wait_tcp() { # name port
	local i
	for ((i = 0; i < 600; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
		if [ -e "$PIDS/$1.pid" ] && ! pid_of "$1" >/dev/null; then break; fi
		sleep 0.1
	done
	tail -n 30 "$LOGS/$1.log" >&2 2>/dev/null || true
	die "$1 does not accept connections on port $2"
}

wait_http() { # name url
	local i
	for ((i = 0; i < 1200; i++)); do
		if curl -fsS -o /dev/null --max-time 2 "$2" 2>/dev/null; then return 0; fi
		if ! pid_of "$1" >/dev/null; then break; fi
		sleep 0.1
	done
	tail -n 30 "$LOGS/$1.log" >&2 2>/dev/null || true
	die "$1 is not ready at $2"
}

start_zookeeper() {
	if [ ! -r /usr/share/java/zookeeper.jar ]; then
		log "installing zookeeper (Debian package)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null
	fi
	local dir="$CLUSTER_DIR/zookeeper"
	mkdir -p "$dir/data"
	cat >"$dir/zoo.cfg" <<EOF
# Generated by deploy/cluster/cluster.sh: one ZooKeeper for the replicated tables and the
# distributed DDL queue of the local ClickHouse cluster.
tickTime=2000
dataDir=$dir/data
clientPort=$(zk_port)
clientPortAddress=127.0.0.1
maxClientCnxns=200
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
autopurge.purgeInterval=1
EOF
	spawn zookeeper java -Xmx256m -Dzookeeper.log.dir="$LOGS" -cp /usr/share/java/zookeeper.jar \
		org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg"
	wait_tcp zookeeper "$(zk_port)"
}

# clickhouse_env N: the environment of deploy/clickhouse/clickhouse.sh for replica N.
clickhouse_env() {
	echo "CH_DIR=$CLUSTER_DIR/clickhouse-$1" "CH_TCP_PORT=$(ch_tcp "$1")" "CH_HTTP_PORT=$(ch_http "$1")" \
		"CH_USERS_CONFIG=$CLUSTER_DIR/clickhouse-$1/users.xml" "CH_WAIT=120"
}

start_clickhouse() {
	local n="$1" dir="$CLUSTER_DIR/clickhouse-$1"
	mkdir -p "$dir/config.d"
	# The cluster of one shard with both replicas, the macros of this replica, ZooKeeper and the
	# distributed DDL queue. ClickHouse reads config.d beside the config.xml clickhouse.sh writes.
	cat >"$dir/config.d/cluster.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/cluster/cluster.sh (the 18.16 form of deploy/clickhouse/cluster/config.d/cluster.xml). -->
<yandex>
    <remote_servers>
        <$CLUSTER_NAME>
            <shard>
                <internal_replication>true</internal_replication>
                <replica><host>127.0.0.1</host><port>$(ch_tcp 1)</port></replica>
                <replica><host>127.0.0.1</host><port>$(ch_tcp 2)</port></replica>
            </shard>
        </$CLUSTER_NAME>
    </remote_servers>
    <macros>
        <cluster>$CLUSTER_NAME</cluster>
        <shard>01</shard>
        <replica>clickhouse-01-$n</replica>
    </macros>
    <zookeeper>
        <node><host>127.0.0.1</host><port>$(zk_port)</port></node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>$(ch_interserver "$n")</interserver_http_port>
</yandex>
EOF
	# The profile of deploy/clickhouse/cluster/users.d/govpulse.xml (subqueries over Distributed
	# tables), user default without password on loopback. Not its insert_quorum: 18.16 runs one
	# quorum insert per table at a time (error 286 for the others; current releases insert in
	# parallel, insert_quorum_parallel), which would serialise the two aggregator partitions.
	cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/cluster/cluster.sh. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <load_balancing>in_order</load_balancing>
            <distributed_product_mode>global</distributed_product_mode>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
	# shellcheck disable=SC2046
	env $(clickhouse_env "$n") "$ROOT/deploy/clickhouse/clickhouse.sh" start
}

stop_clickhouse() { # n signal
	local n="$1" pid f="$CLUSTER_DIR/clickhouse-$1/clickhouse-server.pid"
	if [ "$2" = KILL ]; then
		if [ -s "$f" ] && pid="$(tr -dc '0-9' <"$f")" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid"
			while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
		fi
		return 0
	fi
	# shellcheck disable=SC2046
	env $(clickhouse_env "$n") "$ROOT/deploy/clickhouse/clickhouse.sh" stop
}

start_nats() {
	local n="$1" dir="$CLUSTER_DIR/nats-$1"
	mkdir -p "$dir/jetstream"
	cp "$ROOT/deploy/nats/cluster/govpulse.conf" "$CLUSTER_DIR/govpulse.conf"
	# govpulse.conf as deployed (users, permissions, limits, sync_interval: always); what is
	# local comes after it and replaces its values: addresses, routes, store folder.
	cat >"$dir/nats.conf" <<EOF
# Generated by deploy/cluster/cluster.sh: deploy/nats/cluster/nats-$n.conf on local ports.
include ../govpulse.conf
server_name: nats-$n
listen: 127.0.0.1:$(nats_port "$n")
http: 127.0.0.1:$(nats_http_port "$n")
cluster {
  name: govpulse
  listen: 127.0.0.1:$(nats_cluster_port "$n")
  routes: [
    nats://127.0.0.1:$(nats_cluster_port 1)
    nats://127.0.0.1:$(nats_cluster_port 2)
    nats://127.0.0.1:$(nats_cluster_port 3)
  ]
}
jetstream {
  store_dir: $dir/jetstream
  max_memory_store: 256MB
  max_file_store: 20GB
  sync_interval: always
}
EOF
	secrets
	spawn "nats-$n" "$BIN/nats-server" -c "$dir/nats.conf"
	wait_tcp "nats-$n" "$(nats_port "$n")"
}

# nats_ready waits until every server is healthy: routed and in contact with the JetStream
# metadata leader (before that a stream cannot be created).
nats_ready() {
	local n
	for n in 1 2 3; do
		pid_of "nats-$n" >/dev/null || continue
		wait_http "nats-$n" "http://127.0.0.1:$(nats_http_port "$n")/healthz"
	done
}

aggregate_cmd() { # partition
	local regions=$REGIONS_A
	[ "$1" = b ] && regions=$REGIONS_B
	local replica=1
	[ "$1" = b ] && replica=2
	echo "$BIN/aggregate" --admin-addr "127.0.0.1:$(aggregate_port "$1")" --nats-url "$(nats_urls)" \
		--clickhouse-dsn "$(clickhouse_dsn "$replica")" --clickhouse-cluster "$CLUSTER_NAME" \
		--partition "$1" --regions "$regions" --stream-replicas 3 ${CLUSTER_FLAGS_aggregate:-}
}

start_one() {
	case "$1" in
	zookeeper) start_zookeeper ;;
	clickhouse-1 | clickhouse-2) start_clickhouse "${1#clickhouse-}" ;;
	nats-1 | nats-2 | nats-3) start_nats "${1#nats-}" ;;
	schema)
		secrets
		log "creating the cluster schema"
		GOVPULSE_NATS_USER=aggregate GOVPULSE_NATS_PASSWORD="$GOVPULSE_NATS_AGGREGATE_PASSWORD" \
			"$BIN/aggregate" migrate --clickhouse-dsn "$(clickhouse_dsn 1)" --clickhouse-cluster "$CLUSTER_NAME" \
			>>"$LOGS/schema.log" 2>&1 || { tail -n 20 "$LOGS/schema.log" >&2; die "schema failed"; }
		;;
	ingest-1 | ingest-2)
		secrets
		local n="${1#ingest-}"
		# shellcheck disable=SC2086
		GOVPULSE_NATS_USER=ingest GOVPULSE_NATS_PASSWORD="$GOVPULSE_NATS_INGEST_PASSWORD" \
			spawn "$1" "$BIN/ingest" --addr "127.0.0.1:$(ingest_port "$n")" --admin-addr "127.0.0.1:$(ingest_admin_port "$n")" \
			--nats-url "$(nats_urls)" --stream-replicas 3 ${CLUSTER_FLAGS_ingest:-}
		wait_http "$1" "http://127.0.0.1:$(ingest_port "$n")/readyz"
		;;
	aggregate-a | aggregate-b)
		secrets
		local p="${1#aggregate-}"
		# shellcheck disable=SC2046
		GOVPULSE_NATS_USER=aggregate GOVPULSE_NATS_PASSWORD="$GOVPULSE_NATS_AGGREGATE_PASSWORD" \
			spawn "$1" $(aggregate_cmd "$p")
		;;
	site)
		secrets
		GOVPULSE_NATS_USER=reader GOVPULSE_NATS_PASSWORD="$GOVPULSE_NATS_READER_PASSWORD" \
			spawn site "$BIN/site" --addr "127.0.0.1:$(site_port)" --nats-url "$(nats_urls)" \
			--clickhouse-dsn "$(clickhouse_dsn 2)"
		wait_http site "http://127.0.0.1:$(site_port)/readyz"
		;;
	*) die "unknown process $1 (one of: ${ALL[*]})" ;;
	esac
}

signal_one() { # name TERM|KILL
	local pid i
	case "$1" in
	clickhouse-1 | clickhouse-2)
		stop_clickhouse "${1#clickhouse-}" "$2"
		return 0
		;;
	schema) return 0 ;;
	esac
	pid="$(pid_of "$1")" || return 0
	kill "-$2" -- "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$1 (pid $pid) did not stop within 30s; SIGKILL"
		kill -KILL -- "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$PIDS/$1.pid"
}

cmd_start() {
	build
	start_one zookeeper
	start_one clickhouse-1
	start_one clickhouse-2
	start_one nats-1
	start_one nats-2
	start_one nats-3
	nats_ready
	start_one schema
	start_one ingest-1
	start_one ingest-2
	start_one aggregate-a
	start_one aggregate-b
	wait_http aggregate-a "http://127.0.0.1:$(aggregate_port a)/readyz"
	wait_http aggregate-b "http://127.0.0.1:$(aggregate_port b)/readyz"
	start_one site
	log "cluster up (dir $CLUSTER_DIR): ingest http://127.0.0.1:$(ingest_port 1) and :$(ingest_port 2), site http://127.0.0.1:$(site_port)/, NATS $(nats_urls), ClickHouse $(clickhouse_dsn 1)"
	log "source <(deploy/cluster/cluster.sh env) for the addresses and credentials; make cluster-stop stops it"
}

cmd_stop() {
	local i
	for ((i = ${#ALL[@]} - 1; i >= 0; i--)); do
		signal_one "${ALL[i]}" TERM
	done
	log "stopped (data and logs stay in $CLUSTER_DIR)"
}

cmd_status() {
	local name pid
	for name in "${ALL[@]}"; do
		[ "$name" = schema ] && continue
		case "$name" in
		clickhouse-*)
			# shellcheck disable=SC2046
			env $(clickhouse_env "${name#clickhouse-}") "$ROOT/deploy/clickhouse/clickhouse.sh" status || true
			continue
			;;
		esac
		if pid="$(pid_of "$name")"; then echo "$name: running, pid $pid"; else echo "$name: stopped"; fi
	done
}

cmd_env() {
	secrets
	cat <<EOF
CLUSTER_DIR=$CLUSTER_DIR
GOVPULSE_NATS_URL=$(nats_urls)
GOVPULSE_CLICKHOUSE_DSN=$(clickhouse_dsn 1)
GOVPULSE_CLICKHOUSE_CLUSTER=$CLUSTER_NAME
GOVPULSE_INGEST_URL=http://127.0.0.1:$(ingest_port 1)
GOVPULSE_INGEST_URLS=http://127.0.0.1:$(ingest_port 1),http://127.0.0.1:$(ingest_port 2)
GOVPULSE_SITE_URL=http://127.0.0.1:$(site_port)
CLUSTER_CLICKHOUSE=127.0.0.1:$(ch_tcp 1),127.0.0.1:$(ch_tcp 2)
CLUSTER_AGGREGATE_ADMIN=127.0.0.1:$(aggregate_port a),127.0.0.1:$(aggregate_port b)
CLUSTER_NATS_HTTP=http://127.0.0.1:$(nats_http_port 1),http://127.0.0.1:$(nats_http_port 2),http://127.0.0.1:$(nats_http_port 3)
EOF
	cat "$CLUSTER_DIR/secrets.env"
}

sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
start-one) start_one "${1:?name}" ;;
kill) signal_one "${1:?name}" KILL ;;
stop-one) signal_one "${1:?name}" TERM ;;
*)
	echo "usage: $0 start|stop|status|env|start-one NAME|kill NAME|stop-one NAME" >&2
	exit 2
	;;
esac
