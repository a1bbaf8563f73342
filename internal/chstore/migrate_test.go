package chstore_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/govpulse/govpulse/internal/chstore"
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
