package chstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Store writes and reads the govpulse tables of one database. It is safe for concurrent use; it does
// not own the connection (the caller closes it).
type Store struct {
	conn    driver.Conn
	db      string
	cluster string // the ClickHouse cluster of the schema (OnCluster); "" for one node
	log     *slog.Logger

	onBlock func(table string, rows int) // called before each INSERT block is sent; for tests
}

// New returns a Store for database on conn, which may be connected to any database (Dial connects to
// "default"): every statement names the database. database must satisfy ValidDatabase; Migrate
// reports an invalid name, and writes and reads fail on it. A nil logger discards. Options choose
// the schema variant (OnCluster); without them the Store uses the single-node schema.
func New(conn driver.Conn, database string, logger *slog.Logger, opts ...Option) *Store {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Store{conn: conn, db: database, log: logger.With("component", "chstore", "database", database)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Database returns the name of the database the Store uses.
func (s *Store) Database() string { return s.db }

// table returns the qualified name of a table or view of the Store's database.
func (s *Store) table(name string) string { return "`" + s.db + "`." + name }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("chstore: ping: %w", err)
	}
	return nil
}

// ServerVersion returns the version the server reports, such as "18.16.1".
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", fmt.Errorf("chstore: server version: %w", err)
	}
	return v, nil
}
