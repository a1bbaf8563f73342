// Package clickhouse_test checks the ClickHouse users file of the deployment (users.xml, written by
// users.sh) against a real ClickHouse server started with it: the aggregator's user applies the
// migrations and writes, the analysts' user reads and can change nothing.
package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/govpulse/govpulse/internal/chstore"
)

const (
	aggregatePassword = "aggregate-test-pw"
	analystPassword   = "analyst-test-pw"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts a second local ClickHouse server (clickhouse.sh, the script of the test
// server) with the users file users.sh writes, on free ports, and stops it at the end of the test.
// It runs where `make test` runs (GOVPULSE_TEST_CH_DIR set: ClickHouse is installed).
func startServer(t *testing.T) string {
	t.Helper()
	if os.Getenv("GOVPULSE_TEST_CH_DIR") == "" {
		msg := "GOVPULSE_TEST_CH_DIR not set: `make test` sets it once ClickHouse is installed"
		if os.Getenv("GOVPULSE_REQUIRE_SERVERS") == "1" {
			t.Fatal(msg + " (GOVPULSE_REQUIRE_SERVERS=1)")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	gen := exec.Command("./users.sh")
	gen.Env = append(os.Environ(), "GOVPULSE_CLICKHOUSE_PASSWORD="+aggregatePassword, "GOVPULSE_CLICKHOUSE_ANALYST_PASSWORD="+analystPassword)
	users, err := gen.Output()
	if err != nil {
		t.Fatalf("users.sh: %v", err)
	}
	usersFile := filepath.Join(dir, "users.xml")
	if err := os.WriteFile(usersFile, users, 0o600); err != nil {
		t.Fatal(err)
	}
	tcp, http := freePort(t), freePort(t)
	env := append(os.Environ(), "CH_DIR="+filepath.Join(dir, "server"), fmt.Sprintf("CH_TCP_PORT=%d", tcp),
		fmt.Sprintf("CH_HTTP_PORT=%d", http), "CH_USERS_CONFIG="+usersFile, "CH_WAIT=15")
	script := func(arg string) error {
		cmd := exec.Command("./clickhouse.sh", arg)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("clickhouse.sh %s: %w\n%s", arg, err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		if err := script("stop"); err != nil {
			t.Error(err)
		}
	})
	if err := script("start"); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", tcp)
}

func open(t *testing.T, addr, user, password, database string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Database: database, Username: user, Password: password},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("open as %s: %v", user, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// code returns the ClickHouse error code of err, or 0.
func code(err error) int32 {
	if ex, ok := errors.AsType[*clickhouse.Exception](err); ok {
		return ex.Code
	}
	return 0
}

// ClickHouse error codes the test expects.
const (
	codeReadonly      = 164 // READONLY: "Cannot ... in readonly mode"
	codeAccessDenied  = 291 // DATABASE_ACCESS_DENIED
	codeWrongPassword = 193 // WRONG_PASSWORD
)

// insert writes one row into govpulse.users_probe as the aggregator writes: a batch.
func insert(ctx context.Context, conn driver.Conn) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO govpulse.users_probe (x)")
	if err != nil {
		return err
	}
	if err := b.Append(uint8(1)); err != nil {
		return err
	}
	return b.Send()
}

func TestUsers(t *testing.T) {
	addr := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The aggregator connects as chstore.Dial does, applies the migrations and writes.
	conn, database, err := chstore.Dial(ctx, "clickhouse://"+addr+"/govpulse", func(o *clickhouse.Options) {
		o.Auth.Username, o.Auth.Password = "aggregate", aggregatePassword
	})
	if err != nil {
		t.Fatalf("aggregate: dial: %v", err)
	}
	defer conn.Close()
	if err := chstore.New(conn, database, nil).Migrate(ctx); err != nil {
		t.Fatalf("aggregate: migrate: %v", err)
	}
	for _, q := range []string{
		"CREATE TABLE govpulse.users_probe (x UInt8) ENGINE = MergeTree ORDER BY x",
		"ALTER TABLE govpulse.users_probe ADD COLUMN y UInt8 DEFAULT 0",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("aggregate: %s: %v", q, err)
		}
	}
	if err := insert(ctx, conn); err != nil {
		t.Fatalf("aggregate: insert: %v", err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM govpulse.users_probe").Scan(&n); err != nil || n != 1 {
		t.Fatalf("aggregate: count %d, %v; want 1", n, err)
	}
	if err := conn.Exec(ctx, "CREATE DATABASE other"); code(err) != codeAccessDenied {
		t.Errorf("aggregate: CREATE DATABASE other: %v, want code %d", err, codeAccessDenied)
	}

	// The analyst reads the tables and views and can change nothing.
	an := open(t, addr, "analyst", analystPassword, "govpulse")
	if err := an.QueryRow(ctx, "SELECT count() FROM govpulse.users_probe").Scan(&n); err != nil || n != 1 {
		t.Fatalf("analyst: count %d, %v; want 1", n, err)
	}
	rows, err := an.Query(ctx, "SELECT * FROM govpulse.latest_scores LIMIT 1")
	if err != nil {
		t.Fatalf("analyst: read a view: %v", err)
	}
	rows.Close()
	if err := insert(ctx, an); code(err) != codeReadonly {
		t.Errorf("analyst: insert: %v, want code %d (readonly)", err, codeReadonly)
	}
	for _, q := range []string{
		"DROP TABLE govpulse.users_probe",
		"TRUNCATE TABLE govpulse.users_probe",
		"ALTER TABLE govpulse.users_probe DELETE WHERE x = 1",
		"CREATE TABLE govpulse.analyst_table (x UInt8) ENGINE = Memory",
		"SET readonly = 0",
	} {
		if err := an.Exec(ctx, q); code(err) != codeReadonly {
			t.Errorf("analyst: %s: %v, want code %d (readonly)", q, err, codeReadonly)
		}
	}
	if err := an.QueryRow(ctx, "SELECT count() FROM govpulse.users_probe").Scan(&n); err != nil || n != 1 {
		t.Errorf("analyst: after the refused writes count %d, %v; want 1", n, err)
	}
	if err := an.Exec(ctx, "SELECT count() FROM default.users_probe"); code(err) != codeAccessDenied {
		t.Errorf("analyst: read database default: %v, want code %d", err, codeAccessDenied)
	}

	// Wrong passwords.
	for _, u := range []struct{ user, password string }{{"aggregate", analystPassword}, {"analyst", "change-me-analyst"}} {
		c := open(t, addr, u.user, u.password, "govpulse")
		if err := c.Ping(ctx); code(err) != codeWrongPassword {
			t.Errorf("%s with a wrong password: %v, want code %d", u.user, err, codeWrongPassword)
		}
	}
}
