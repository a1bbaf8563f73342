package chstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DefaultDatabase is the database used when a DSN names none.
const DefaultDatabase = "govpulse"

// ErrInvalidDSN is matched (errors.Is) by every error ParseDSN returns for a DSN it does not accept.
var ErrInvalidDSN = errors.New("invalid ClickHouse DSN")

// ErrInvalidDatabase is matched by the errors of Dial and Migrate for a database name that is not
// an identifier of letters, digits and underscores starting with a letter or underscore.
var ErrInvalidDatabase = errors.New("invalid ClickHouse database name")

var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ValidDatabase reports whether name can be used as the govpulse database: letters, digits and
// underscores, starting with a letter or underscore, at most 128 characters. Such a name never needs
// quoting in SQL.
func ValidDatabase(name string) bool { return databaseName.MatchString(name) }

// DialOption adjusts the client options after the DSN is parsed, before the connection opens
// (for example the pool size or the dial timeout).
type DialOption func(*clickhouse.Options)

// ParseDSN parses a DSN such as clickhouse://user:pass@127.0.0.1:9000/govpulse?dial_timeout=5s into
// client options for the native protocol and the govpulse database name (DefaultDatabase when the
// path is empty). The returned options connect to database "default", so that Migrate can create the
// govpulse database. Query parameters that are not client options become query settings, which
// must be integers or booleans: ClickHouse 18.16 takes settings only in that form. An http or https
// scheme is refused: the HTTP interface of 18.16 fails at the handshake of the client. The
// parameter compress chooses the compression of the blocks sent and received (true or lz4, zstd,
// false or none; LZ4 without it).
// Every error matches ErrInvalidDSN.
func ParseDSN(dsn string) (*clickhouse.Options, string, error) {
	// The scheme is checked on the raw text so that no error repeats the password of the DSN.
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok || (scheme != "clickhouse" && scheme != "tcp") {
		return nil, "", fmt.Errorf("chstore: parse dsn: %w: want clickhouse://[user[:password]@]host:port[/database], the native protocol", ErrInvalidDSN)
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		// A *url.Error repeats the whole DSN, password included: keep only its cause.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return nil, "", fmt.Errorf("chstore: parse dsn: %w: %w", ErrInvalidDSN, err)
	}
	if opts.Protocol != clickhouse.Native {
		return nil, "", fmt.Errorf("chstore: parse dsn: %w: only the native protocol is supported", ErrInvalidDSN)
	}
	for k, v := range opts.Settings {
		switch v.(type) {
		case int, bool:
		default:
			return nil, "", fmt.Errorf("chstore: parse dsn: %w: setting %s=%v: settings must be integers or booleans", ErrInvalidDSN, k, v)
		}
	}
	database := opts.Auth.Database
	if database == "" {
		database = DefaultDatabase
	}
	if !ValidDatabase(database) {
		return nil, "", fmt.Errorf("chstore: parse dsn: %w: %w: %q", ErrInvalidDSN, ErrInvalidDatabase, database)
	}
	opts.Auth.Database = "default"
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if err := chooseCompression(dsn, opts); err != nil {
		return nil, "", err
	}
	return opts, database, nil
}

// chooseCompression sets the compression of the native protocol's blocks: the DSN's compress
// parameter when it has one (true or lz4: LZ4; false or none: none; zstd: ZSTD), otherwise LZ4.
// LZ4 is the default even over loopback: without it the aggregator's drain spent less CPU of its
// own (LZ4 was 4% of it) but ClickHouse 18.16 more, about 7 µs per event, in six runs of `make
// bench-peer` out of six (docs/benchmarks.md).
func chooseCompression(dsn string, opts *clickhouse.Options) error {
	_, rawQuery, _ := strings.Cut(dsn, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("chstore: parse dsn: %w: %w", ErrInvalidDSN, err)
	}
	values, given := query["compress"]
	if !given {
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
		return nil
	}
	var method clickhouse.CompressionMethod
	switch v := values[len(values)-1]; strings.ToLower(v) {
	case "true", "1", "lz4":
		method = clickhouse.CompressionLZ4
	case "false", "0", "none":
		method = clickhouse.CompressionNone
	case "zstd":
		method = clickhouse.CompressionZSTD
	default:
		return fmt.Errorf("chstore: parse dsn: %w: compress=%s: want true, false, lz4, zstd or none", ErrInvalidDSN, v)
	}
	level := 0
	if opts.Compression != nil {
		level = opts.Compression.Level
	}
	opts.Compression = &clickhouse.Compression{Method: method, Level: level}
	return nil
}

// Dial parses dsn (see ParseDSN), applies opts, opens a native connection pool and pings the server.
// It returns the connection and the govpulse database name to pass to New. The caller closes the
// connection. Errors from parsing match ErrInvalidDSN; otherwise the server did not answer.
func Dial(ctx context.Context, dsn string, opts ...DialOption) (driver.Conn, string, error) {
	o, database, err := ParseDSN(dsn)
	if err != nil {
		return nil, "", err
	}
	for _, opt := range opts {
		opt(o)
	}
	conn, err := clickhouse.Open(o)
	if err != nil {
		return nil, "", fmt.Errorf("chstore: open: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, "", fmt.Errorf("chstore: ping %v: %w", o.Addr, err)
	}
	return conn, database, nil
}

// DefaultDSN is the ClickHouse the commands use when no DSN is given: the local server of
// `make run`, database govpulse.
const DefaultDSN = "clickhouse://127.0.0.1:9000/govpulse"
