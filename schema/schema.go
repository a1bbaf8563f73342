// Package schema holds the ClickHouse migrations of govpulse: numbered SQL files
// (clickhouse/0001_tables.sql, clickhouse/0002_regions.sql, ...) embedded in the binary and applied
// in order by internal/chstore, which records each applied file in a migrations table.
//
// In the files, ${DATABASE} stands for the database name; it is replaced when a migration is applied,
// so that every deployment (and every test) can use a database of its own. Statements end with a
// semicolon and are idempotent, so that a migration interrupted half way can be applied again.
package schema

import (
	"embed"
	"io/fs"
)

//go:embed clickhouse/*.sql
var clickhouseFiles embed.FS

// ClickHouseDir is the folder of the ClickHouse migrations inside the embedded file system.
const ClickHouseDir = "clickhouse"

// DatabasePlaceholder is the text that stands for the database name in the migrations.
const DatabasePlaceholder = "${DATABASE}"

// ClickHouse returns the embedded ClickHouse migrations: the numbered .sql files at its root
// (NNNN_name.sql). The file system is read-only and safe for concurrent use.
func ClickHouse() fs.FS {
	sub, err := fs.Sub(clickhouseFiles, ClickHouseDir)
	if err != nil {
		// fs.Sub fails only for an invalid path; ClickHouseDir is a valid constant.
		panic("schema: " + err.Error())
	}
	return sub
}
