package chstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/govpulse/govpulse/schema"
)

// MigrationsTable is the table (in the govpulse database) that records applied migrations.
const MigrationsTable = "schema_migrations"

// ErrMigrationChanged is matched by the error of Migrate when a migration that the database records
// as applied no longer has the same content: migrations are append-only, a change is a new file.
var ErrMigrationChanged = errors.New("applied migration changed")

// Migration is one numbered SQL file of the schema.
type Migration struct {
	Version  uint32 // the number the file name starts with
	Name     string // the file name, such as 0001_tables.sql
	Checksum string // hex SHA-256 of the file's content
	SQL      string // the content, with the database placeholder not yet replaced
}

// Migrations returns the ClickHouse migrations embedded in package schema, ordered by version.
func Migrations() ([]Migration, error) { return LoadMigrations(schema.ClickHouse()) }

// LoadMigrations reads the migrations at the root of fsys: files named NNNN_name.sql (any number of
// digits, then an underscore), ordered by their number. Other files are ignored; two files with the
// same number are an error.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("chstore: read migrations: %w", err)
	}
	var ms []Migration
	seen := map[uint32]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("chstore: migration %s: name must be NNNN_name.sql", name)
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("chstore: migration %s: name must start with a positive number", name)
		}
		if other, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("chstore: migrations %s and %s have the same number", other, name)
		}
		seen[uint32(v)] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("chstore: read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: uint32(v), Name: name, Checksum: hex.EncodeToString(sum[:]), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// AppliedMigration is a row of the migrations table.
type AppliedMigration struct {
	Version   uint32
	Name      string
	Checksum  string
	AppliedAt time.Time
}

// Migrate creates the database if needed and applies the embedded migrations it has not applied
// yet, in order, recording each in MigrationsTable after all its statements succeeded. Applying
// twice is harmless: recorded migrations are skipped, and every statement is idempotent, so a
// migration interrupted half way is simply applied again. A recorded migration whose content changed
// is an error matching ErrMigrationChanged. Concurrent Migrate calls on one database are safe for
// the same reason, though both may run a statement.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	return s.MigrateWith(ctx, ms)
}

// MigrateWith is Migrate with the given migrations instead of the embedded ones.
func (s *Store) MigrateWith(ctx context.Context, ms []Migration) error {
	if !ValidDatabase(s.db) {
		return fmt.Errorf("chstore: migrate: %w: %q", ErrInvalidDatabase, s.db)
	}
	if s.cluster != "" && !ValidCluster(s.cluster) {
		return fmt.Errorf("chstore: migrate: invalid cluster name %q", s.cluster)
	}
	// The statements of every migration, so that a migration that alters a table of an earlier one
	// knows, on a cluster, that the table has a local table.
	locals := map[string]string{}
	bootstrap, err := s.statements(migrationsBootstrap(s.table(MigrationsTable)), locals)
	if err != nil {
		return fmt.Errorf("chstore: migrate: %s: %w", MigrationsTable, err)
	}
	stmts := make([][]string, len(ms))
	for i, m := range ms {
		split, err := SplitStatements(strings.ReplaceAll(m.SQL, schema.DatabasePlaceholder, "`"+s.db+"`"))
		if err != nil {
			return fmt.Errorf("chstore: migrate: %s: %w", m.Name, err)
		}
		if stmts[i], err = s.statements(split, locals); err != nil {
			return fmt.Errorf("chstore: migrate: %s: %w", m.Name, err)
		}
	}
	// On a cluster every DDL statement waits for every node; once the migrations record exists it
	// is not created again, so that a start while a node is down does not wait for it.
	if s.cluster == "" || !s.tableExists(ctx, MigrationsTable) {
		for _, st := range bootstrap {
			if err := s.conn.Exec(ctx, st); err != nil {
				return fmt.Errorf("chstore: migrate: create %s: %w", MigrationsTable, err)
			}
		}
	}
	applied, err := s.AppliedMigrations(ctx)
	if err != nil {
		return fmt.Errorf("chstore: migrate: %w", err)
	}
	done := make(map[uint32]AppliedMigration, len(applied))
	for _, a := range applied {
		done[a.Version] = a
	}
	for i, m := range ms {
		if a, ok := done[m.Version]; ok {
			if a.Checksum != m.Checksum {
				return fmt.Errorf("chstore: migrate: %s: %w (recorded checksum %s, file %s)", m.Name, ErrMigrationChanged, a.Checksum, m.Checksum)
			}
			continue
		}
		if err := s.apply(ctx, m, stmts[i]); err != nil {
			return err
		}
	}
	return nil
}

// migrationsBootstrap returns the statements that create the database and the migrations record
// table, qualified as table.
func migrationsBootstrap(table string) []string {
	db, _, _ := strings.Cut(table, ".")
	return []string{
		"CREATE DATABASE IF NOT EXISTS " + db,
		"CREATE TABLE IF NOT EXISTS " + table + ` (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree() ORDER BY version`,
	}
}

// statements returns the statements that apply stmts (of a migration, database in place) to the
// Store's schema variant: stmts themselves on one node, their cluster form (ClusterStatements) on
// a cluster.
func (s *Store) statements(stmts []string, locals map[string]string) ([]string, error) {
	if s.cluster == "" {
		return stmts, nil
	}
	var out []string
	for _, st := range stmts {
		cs, err := ClusterStatements(st, s.db, s.cluster, locals)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// tableExists reports whether the connected server has the table (false also when it cannot tell).
func (s *Store) tableExists(ctx context.Context, table string) bool {
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", s.db, table).Scan(&n)
	return err == nil && n > 0
}

func (s *Store) apply(ctx context.Context, m Migration, stmts []string) error {
	start := time.Now()
	for i, st := range stmts {
		// With the settings of an insert, so that on a cluster the rows an INSERT ... SELECT copies
		// are stored when the statement returns.
		if err := s.conn.Exec(s.insertContext(ctx), st); err != nil && !columnAdded(st, err) {
			return fmt.Errorf("chstore: migrate: %s: statement %d: %w", m.Name, i+1, err)
		}
	}
	rec := "INSERT INTO " + s.table(MigrationsTable) + " (version, name, checksum, applied_at)"
	batch, err := s.conn.PrepareBatch(s.insertContext(ctx), rec)
	if err != nil {
		return fmt.Errorf("chstore: migrate: record %s: %w", m.Name, err)
	}
	if err := batch.Append(m.Version, m.Name, m.Checksum, time.Now().UTC()); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("chstore: migrate: record %s: %w", m.Name, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chstore: migrate: record %s: %w", m.Name, err)
	}
	s.log.Info("applied migration", "migration", m.Name, "statements", len(stmts), "duration", time.Since(start))
	return nil
}

// AppliedMigrations lists the migrations recorded in the database, one per version, ordered by
// version.
func (s *Store) AppliedMigrations(ctx context.Context) ([]AppliedMigration, error) {
	rows, err := s.conn.Query(ctx, "SELECT version, name, checksum, applied_at FROM "+s.table(MigrationsTable)+" FINAL ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("chstore: list migrations: %w", err)
	}
	defer rows.Close()
	var out []AppliedMigration
	for rows.Next() {
		var a AppliedMigration
		if err := rows.Scan(&a.Version, &a.Name, &a.Checksum, &a.AppliedAt); err != nil {
			return nil, fmt.Errorf("chstore: list migrations: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: list migrations: %w", err)
	}
	return out, nil
}

// addColumn matches a statement (after its comment lines) that adds a column to a table.
var addColumn = regexp.MustCompile(`(?is)^(\s*--[^\n]*\n)*\s*ALTER\s+TABLE\s+\S+\s+(ON\s+CLUSTER\s+\S+\s+)?ADD\s+COLUMN\s`)

// columnAdded reports whether err says that the column an ALTER TABLE ... ADD COLUMN statement adds
// exists already: the statement was applied by an earlier, interrupted run of its migration.
// ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so this is how such a statement is idempotent;
// it must add one column only.
func columnAdded(stmt string, err error) bool {
	var ex *clickhouse.Exception
	return addColumn.MatchString(stmt) && errors.As(err, &ex) &&
		(ex.Code == 44 || ex.Code == 15) && strings.Contains(ex.Message, "already exists")
}
