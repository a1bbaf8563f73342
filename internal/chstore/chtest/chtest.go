// Package chtest gives integration tests a ClickHouse database of their own.
//
// Tests that need ClickHouse call Open. The server is named by the environment variable
// GOVPULSE_TEST_CLICKHOUSE (host:port of its native protocol, for example 127.0.0.1:19000, as
// started by deploy/clickhouse/clickhouse.sh with CH_TCP_PORT=19000). When the variable is unset
// the test is skipped, saying why, unless GOVPULSE_REQUIRE_SERVERS=1, which makes it fail instead
// (make test and CI set it, so integration tests never pass vacuously).
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// EnvAddr names the environment variable with the host:port of the test server.
const EnvAddr = "GOVPULSE_TEST_CLICKHOUSE"

// EnvRequire names the environment variable that, set to 1, turns a missing server into a failure.
const EnvRequire = "GOVPULSE_REQUIRE_SERVERS"

// Addr returns the test server's host:port. When none is configured it skips tb, or fails it when
// servers are required.
func Addr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		msg := EnvAddr + " not set: start a server with CH_TCP_PORT=19000 deploy/clickhouse/clickhouse.sh start " +
			"and export " + EnvAddr + "=127.0.0.1:19000"
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatal(msg + " (" + EnvRequire + "=1)")
		}
		tb.Skip(msg)
	}
	return addr
}

// Open connects to the test server (see the package documentation) and creates a fresh database
// with a random name (govpulse_test_<hex>). It returns the connection, which is connected to
// database "default" as chstore.Dial's is, and the database name. At the end of the test the database is
// dropped and the connection closed. The connection compresses its blocks with LZ4 unless a
// compression method is given (a benchmark comparing the methods).
func Open(tb testing.TB, compression ...clickhouse.CompressionMethod) (driver.Conn, string) {
	tb.Helper()
	addr := Addr(tb)
	method := clickhouse.CompressionLZ4
	if len(compression) > 0 {
		method = compression[0]
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Database: "default"},
		DialTimeout: 5 * time.Second,
		Compression: &clickhouse.Compression{Method: method},
	})
	if err != nil {
		tb.Fatalf("chtest: open %s: %v", addr, err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("chtest: random database name: %v", err)
	}
	db := "govpulse_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		_ = conn.Close()
		tb.Fatalf("chtest: create database on %s: %v", addr, err)
	}
	tb.Cleanup(func() {
		// A database that took a whole scenario may take a while to drop on a busy server.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			tb.Errorf("chtest: drop database %s: %v", db, err)
		}
		if err := conn.Close(); err != nil {
			tb.Errorf("chtest: close: %v", err)
		}
	})
	return conn, db
}

// EnvCluster names the environment variable with the host:port (native protocol) of every replica
// of a ClickHouse cluster with ZooKeeper, comma separated, for the tests of the cluster schema:
// one shard, its replicas, the cluster named ClusterName in remote_servers, macros {shard} and
// {replica} on each (make cluster starts one: deploy/cluster/cluster.sh, 127.0.0.1:27001 and
// 127.0.0.1:27011). Unlike EnvAddr, an unset variable skips the test even with
// GOVPULSE_REQUIRE_SERVERS=1: the cluster needs ZooKeeper, which make test does not start.
const EnvCluster = "GOVPULSE_TEST_CLICKHOUSE_CLUSTER"

// ClusterName is the name of the test cluster in remote_servers.
const ClusterName = "govpulse"

// OpenCluster connects to every replica of the test cluster (see EnvCluster) and chooses a fresh
// database name (govpulse_test_<hex>), which it does not create: Migrate creates it on every node.
// It returns one connection per replica, in the order of the variable, connected to database
// "default", and the database name. At the end of the test the database is dropped on every
// replica and the connections are closed.
func OpenCluster(tb testing.TB) ([]driver.Conn, string) {
	tb.Helper()
	addrs := os.Getenv(EnvCluster)
	if addrs == "" {
		tb.Skip(EnvCluster + " not set: start a cluster with make cluster and export " + EnvCluster + "=127.0.0.1:27001,127.0.0.1:27011")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("chtest: random database name: %v", err)
	}
	db := "govpulse_test_" + hex.EncodeToString(b[:])
	var conns []driver.Conn
	for _, addr := range strings.Split(addrs, ",") {
		conn, err := clickhouse.Open(&clickhouse.Options{
			Addr:        []string{addr},
			Auth:        clickhouse.Auth{Database: "default"},
			DialTimeout: 5 * time.Second,
			Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		})
		if err != nil {
			tb.Fatalf("chtest: open %s: %v", addr, err)
		}
		conns = append(conns, conn)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, conn := range conns {
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
				tb.Errorf("chtest: drop database %s: %v", db, err)
			}
			if err := conn.Close(); err != nil {
				tb.Errorf("chtest: close: %v", err)
			}
		}
	})
	return conns, db
}
