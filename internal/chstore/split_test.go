package chstore_test

import (
	"reflect"
	"testing"

	"github.com/govpulse/govpulse/internal/chstore"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "comments only", in: "-- a;\n/* b; */\n  ;\n", want: nil},
		{name: "one without semicolon", in: "SELECT 1", want: []string{"SELECT 1"}},
		{name: "two", in: "SELECT 1;\nSELECT 2;\n", want: []string{"SELECT 1", "SELECT 2"}},
		{name: "semicolon in string", in: "SELECT 'a;b'; SELECT 2", want: []string{"SELECT 'a;b'", "SELECT 2"}},
		{name: "escaped quote", in: `SELECT 'it\'s;'; SELECT 2`, want: []string{`SELECT 'it\'s;'`, "SELECT 2"}},
		{name: "doubled quote", in: "SELECT 'it''s;'; SELECT 2", want: []string{"SELECT 'it''s;'", "SELECT 2"}},
		{name: "backquoted identifier", in: "SELECT 1 AS `a;b`;", want: []string{"SELECT 1 AS `a;b`"}},
		{name: "semicolon in line comment", in: "SELECT 1 -- x; y\n, 2;", want: []string{"SELECT 1 -- x; y\n, 2"}},
		{name: "semicolon in block comment", in: "SELECT /* ; */ 1;", want: []string{"SELECT /* ; */ 1"}},
		{name: "leading comment kept", in: "-- t\nCREATE TABLE t (a UInt8) ENGINE = Memory;", want: []string{"-- t\nCREATE TABLE t (a UInt8) ENGINE = Memory"}},
		{name: "unterminated quote", in: "SELECT 'a;", wantErr: true},
		{name: "unterminated block comment", in: "SELECT 1 /* x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chstore.SplitStatements(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SplitStatements(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SplitStatements(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
