package chstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/govpulse/govpulse/internal/chstore"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		name     string
		dsn      string
		wantDB   string
		wantAddr string
		wantUser string
		wantErr  bool
	}{
		{name: "default database", dsn: "clickhouse://127.0.0.1:9000", wantDB: "govpulse", wantAddr: "127.0.0.1:9000"},
		{name: "database in path", dsn: "clickhouse://u:p@127.0.0.1:9000/analytics", wantDB: "analytics", wantAddr: "127.0.0.1:9000", wantUser: "u"},
		{name: "integer setting", dsn: "clickhouse://127.0.0.1:9000/govpulse?max_execution_time=60", wantDB: "govpulse", wantAddr: "127.0.0.1:9000"},
		{name: "boolean setting", dsn: "clickhouse://127.0.0.1:9000/govpulse?optimize_throw_if_noop=true", wantDB: "govpulse", wantAddr: "127.0.0.1:9000"},
		{name: "tcp scheme", dsn: "tcp://127.0.0.1:9000/govpulse", wantDB: "govpulse", wantAddr: "127.0.0.1:9000"},
		{name: "string setting", dsn: "clickhouse://127.0.0.1:9000/govpulse?load_balancing=random", wantErr: true},
		{name: "http", dsn: "http://127.0.0.1:8123/govpulse", wantErr: true},
		{name: "no scheme", dsn: "127.0.0.1:9000", wantErr: true},
		{name: "bad database name", dsn: "clickhouse://127.0.0.1:9000/gov-pulse", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, db, err := chstore.ParseDSN(tt.dsn)
			if tt.wantErr {
				if !errors.Is(err, chstore.ErrInvalidDSN) {
					t.Fatalf("ParseDSN(%q) error = %v, want ErrInvalidDSN", tt.dsn, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDSN(%q): %v", tt.dsn, err)
			}
			if db != tt.wantDB {
				t.Errorf("database = %q, want %q", db, tt.wantDB)
			}
			if opts.Auth.Database != "default" {
				t.Errorf("connection database = %q, want default", opts.Auth.Database)
			}
			if got := strings.Join(opts.Addr, ","); got != tt.wantAddr {
				t.Errorf("addr = %q, want %q", got, tt.wantAddr)
			}
			if opts.Auth.Username != tt.wantUser && tt.wantUser != "" {
				t.Errorf("user = %q, want %q", opts.Auth.Username, tt.wantUser)
			}
			if opts.Compression == nil || opts.DialTimeout == 0 {
				t.Errorf("defaults not set: compression %v, dial timeout %v", opts.Compression, opts.DialTimeout)
			}
		})
	}
}

// The compression of the native protocol: the DSN's compress parameter, LZ4 without it.
func TestParseDSNCompression(t *testing.T) {
	tests := []struct {
		dsn     string
		want    clickhouse.CompressionMethod
		wantErr bool
	}{
		{dsn: "clickhouse://127.0.0.1:9000/govpulse", want: clickhouse.CompressionLZ4},
		{dsn: "clickhouse://localhost:9000/govpulse?compress=none", want: clickhouse.CompressionNone},
		{dsn: "clickhouse://[::1]:9000/govpulse?compress=FALSE", want: clickhouse.CompressionNone},
		{dsn: "clickhouse://10.0.0.7:9000/govpulse", want: clickhouse.CompressionLZ4},
		{dsn: "clickhouse://clickhouse:9000/govpulse", want: clickhouse.CompressionLZ4},
		{dsn: "clickhouse://127.0.0.1:9000/govpulse?compress=lz4", want: clickhouse.CompressionLZ4},
		{dsn: "clickhouse://127.0.0.1:9000/govpulse?compress=true", want: clickhouse.CompressionLZ4},
		{dsn: "clickhouse://127.0.0.1:9000/govpulse?compress=zstd", want: clickhouse.CompressionZSTD},
		{dsn: "clickhouse://10.0.0.7:9000/govpulse?compress=false", want: clickhouse.CompressionNone},
		{dsn: "clickhouse://10.0.0.7:9000/govpulse?compress=none", want: clickhouse.CompressionNone},
		{dsn: "clickhouse://10.0.0.7:9000/govpulse?compress=0&max_execution_time=60", want: clickhouse.CompressionNone},
		{dsn: "clickhouse://10.0.0.7:9000/govpulse?compress=gzip", wantErr: true},
		{dsn: "clickhouse://10.0.0.7:9000/govpulse?compress=fast", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			opts, _, err := chstore.ParseDSN(tt.dsn)
			if tt.wantErr {
				if !errors.Is(err, chstore.ErrInvalidDSN) {
					t.Fatalf("ParseDSN(%q) error = %v, want ErrInvalidDSN", tt.dsn, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDSN(%q): %v", tt.dsn, err)
			}
			if opts.Compression == nil || opts.Compression.Method != tt.want {
				t.Errorf("compression = %+v, want method %v", opts.Compression, tt.want)
			}
		})
	}
}

func TestParseDSNHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"mysql://user:s3cret@127.0.0.1:9000/x",
		"clickhouse://user:s3cret@127.0.0.1:port/x", // malformed port: the URL parser fails
		"clickhouse://user:s3cret@[::1/x",
	} {
		_, _, err := chstore.ParseDSN(dsn)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseDSN(%q): error %v must exist and not show the password", dsn, err)
		}
	}
}

// FuzzParseDSN feeds arbitrary text to ParseDSN: it returns options or an error matching
// ErrInvalidDSN, never panics, and no error repeats a password given in the DSN.
func FuzzParseDSN(f *testing.F) {
	for _, dsn := range []string{
		"clickhouse://127.0.0.1:9000/govpulse",
		"clickhouse://u:s3cret@127.0.0.1:9000/analytics?max_execution_time=60",
		"tcp://127.0.0.1:9000",
		"http://127.0.0.1:8123/govpulse",
		"clickhouse://user:s3cret@[::1/x",
	} {
		f.Add(dsn)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		_, _, err := chstore.ParseDSN(dsn)
		if err == nil {
			return
		}
		if !errors.Is(err, chstore.ErrInvalidDSN) {
			t.Fatalf("ParseDSN(%q): %v does not match ErrInvalidDSN", dsn, err)
		}
		if strings.Contains(dsn, ":s3cret@") && strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("ParseDSN(%q): error shows the password: %v", dsn, err)
		}
	})
}
