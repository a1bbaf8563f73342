package chstore_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/chstore/chtest"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []string
		wantErr string
	}{
		{name: "ordered by number", fs: fstest.MapFS{
			"0010_c.sql": file("SELECT 3;"), "0002_b.sql": file("SELECT 2;"), "0001_a.sql": file("SELECT 1;"),
			"README.md": file("not a migration"),
		}, want: []string{"0001_a.sql", "0002_b.sql", "0010_c.sql"}},
		{name: "empty", fs: fstest.MapFS{}, want: nil},
		{name: "same number", fs: fstest.MapFS{"0001_a.sql": file(""), "1_b.sql": file("")}, wantErr: "same number"},
		{name: "no number", fs: fstest.MapFS{"init.sql": file("")}, wantErr: "NNNN_name.sql"},
		{name: "not a number", fs: fstest.MapFS{"abc_init.sql": file("")}, wantErr: "positive number"},
		{name: "zero", fs: fstest.MapFS{"0000_init.sql": file("")}, wantErr: "positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := chstore.LoadMigrations(tt.fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadMigrations error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Name)
				if len(m.Checksum) != 64 {
					t.Errorf("%s: checksum %q", m.Name, m.Checksum)
				}
			}
			checkEqual(t, "names", got, tt.want)
		})
	}
}

// TestEmbeddedMigrations checks the shipped files: numbered from 1 without gaps, every statement
// qualified with the database placeholder, and splittable.
func TestEmbeddedMigrations(t *testing.T) {
	ms, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, m := range ms {
		if m.Version != uint32(i+1) {
			t.Errorf("%s: version %d, want %d", m.Name, m.Version, i+1)
		}
		stmts, err := chstore.SplitStatements(m.SQL)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		for _, st := range stmts {
			if !strings.Contains(st, "${DATABASE}.") {
				t.Errorf("%s: statement without ${DATABASE}: %.80q", m.Name, st)
			}
		}
	}
}

// TestMigrateAddColumnAgain checks that a migration adding a column is applied again after an
// interruption that left the column added but the migration unrecorded (18.16 has no ADD COLUMN
// IF NOT EXISTS), and that other failures of such a statement still fail the migration.
func TestMigrateAddColumnAgain(t *testing.T) {
	conn, db := chtest.Open(t)
	ctx := t.Context()
	s := chstore.New(conn, db, nil)
	ms := []chstore.Migration{{Version: 1, Name: "0001_t.sql", Checksum: "a",
		SQL: "CREATE TABLE IF NOT EXISTS ${DATABASE}.t (a UInt8) ENGINE = MergeTree ORDER BY a;"}}
	if err := s.MigrateWith(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "ALTER TABLE `"+db+"`.t ADD COLUMN b UInt64"); err != nil {
		t.Fatal(err)
	}
	ms = append(ms, chstore.Migration{Version: 2, Name: "0002_b.sql", Checksum: "b",
		SQL: "-- the column b\nALTER TABLE ${DATABASE}.t ADD COLUMN b UInt64;"})
	if err := s.MigrateWith(ctx, ms); err != nil {
		t.Fatalf("MigrateWith after an interrupted ADD COLUMN: %v", err)
	}
	applied, err := s.AppliedMigrations(ctx)
	if err != nil || len(applied) != 2 {
		t.Fatalf("applied %v, %v; want 2 migrations", applied, err)
	}
	ms = append(ms, chstore.Migration{Version: 3, Name: "0003_c.sql", Checksum: "c",
		SQL: "ALTER TABLE ${DATABASE}.no_such_table ADD COLUMN c UInt64;"})
	if err := s.MigrateWith(ctx, ms); err == nil {
		t.Fatal("MigrateWith adding a column to a missing table succeeded")
	}
}

// migrationsAround returns the migrations numbered before version, in order, and migration
// version itself, for the tests that store rows as an earlier release did and then migrate them.
func migrationsAround(t testing.TB, version uint32) (before []chstore.Migration, m chstore.Migration) {
	t.Helper()
	ms, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, mig := range ms {
		switch {
		case mig.Version < version:
			before = append(before, mig)
		case mig.Version == version:
			m = mig
		}
	}
	if m.Version != version {
		t.Fatalf("no migration %04d", version)
	}
	return before, m
}
