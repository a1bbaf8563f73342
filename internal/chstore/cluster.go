package chstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// LocalSuffix ends the name of the replicated table that holds the rows of a table of the cluster
// schema: events_local holds the rows the Distributed table events reads and writes.
const LocalSuffix = "_local"

// Option configures a Store.
type Option func(*Store)

// OnCluster makes the Store use the cluster variant of the schema on the ClickHouse cluster name
// (a name of remote_servers in the servers' configuration), when name is not empty:
//
//   - every table of the migrations with a *MergeTree engine becomes <table>_local, created on
//     every node with the Replicated engine of the same family (path
//     /clickhouse/tables/{shard}/<database>/<table>, replica {replica}: macros of each node's
//     configuration), and <table> becomes a Distributed table over it, sharded by the hash of the
//     first column of the table's ORDER BY key, so that every version of a key lands on one shard
//     and FINAL collapses it there;
//   - every other DDL statement (views, ALTER, DROP) runs ON CLUSTER; an ALTER of a table that has
//     a local table alters the local table and creates the Distributed table again (it holds no
//     rows; ClickHouse 18.16 refuses ALTER ON CLUSTER of a Distributed table over replicated
//     shards), a DROP drops both;
//   - inserts go through the Distributed tables synchronously (insert_distributed_sync = 1), so
//     that an acknowledged write is stored, not queued;
//   - the migrations record (schema_migrations) is a replicated table like the others.
//
// Writers and readers keep the table names of the single-node schema, so nothing else changes.
// The variant is derived from the migrations when they are applied (ClusterStatements): a new
// migration's tables get it without any change here.
func OnCluster(name string) Option { return func(s *Store) { s.cluster = name } }

// Cluster returns the name of the ClickHouse cluster the Store's schema spans ("" for one node).
func (s *Store) Cluster() string { return s.cluster }

// ValidCluster reports whether name can be the name of a cluster: an identifier of letters,
// digits and underscores, starting with a letter or underscore (it is put into DDL unquoted).
func ValidCluster(name string) bool { return databaseName.MatchString(name) }

// localTable returns the name of the table that holds the rows of name: name itself on one node,
// name_local on a cluster.
func (s *Store) localTable(name string) string {
	if s.cluster == "" {
		return name
	}
	return name + LocalSuffix
}

// insertContext returns ctx with the settings every insert of the Store needs: on a cluster,
// synchronous inserts into the Distributed tables.
func (s *Store) insertContext(ctx context.Context) context.Context {
	if s.cluster == "" {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
}

var (
	// comments matches the comment lines that start a statement.
	comments = regexp.MustCompile(`^(\s*--[^\n]*\n)*\s*`)
	// qualified is a table name qualified by its database, either part in backquotes or not.
	qualified = "(`?[A-Za-z_][A-Za-z0-9_]*`?\\.`?[A-Za-z_][A-Za-z0-9_]*`?)"
	// createMergeTree matches CREATE TABLE [IF NOT EXISTS] db.t (columns) ENGINE = XMergeTree(args) rest.
	createMergeTree = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?` + qualified +
		`\s*(\(.*\))\s*ENGINE\s*=\s*([A-Za-z]*)MergeTree(?:\s*\(([^)]*)\))?(.*)$`)
	// orderBy captures the first column of an ORDER BY key.
	orderBy = regexp.MustCompile("(?is)\\bORDER\\s+BY\\s+\\(?\\s*`?([A-Za-z_][A-Za-z0-9_]*)")
	// ddl matches a DDL statement that names one object: the keyword part and the object name.
	ddl = regexp.MustCompile(`(?is)^((?:CREATE|ATTACH)\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?(?:VIEW|TABLE|DATABASE)\s+(?:IF\s+NOT\s+EXISTS\s+)?|` +
		`(?:DROP|DETACH)\s+(?:TABLE|VIEW|DATABASE)\s+(?:IF\s+EXISTS\s+)?|ALTER\s+TABLE\s+|TRUNCATE\s+TABLE\s+(?:IF\s+EXISTS\s+)?|OPTIMIZE\s+TABLE\s+)` +
		"(`?[A-Za-z_][A-Za-z0-9_]*`?(?:\\.`?[A-Za-z_][A-Za-z0-9_]*`?)?)(.*)$")
	// onCluster matches a statement that names its cluster already.
	onCluster = regexp.MustCompile(`(?is)^\s*ON\s+CLUSTER\b`)
)

// ClusterStatements returns the statements that apply stmt, one statement of a migration with its
// database already in place, to the cluster schema on cluster (see OnCluster). database is the
// database of the schema; locals maps the tables created so far with a local table to the
// statement that creates their Distributed table (it is updated: a CREATE adds its table, a DROP
// removes it), so that ALTER and DROP of such a table reach both. Statements that are not DDL
// (INSERT ... SELECT) are returned unchanged: they go through the Distributed tables. It fails on
// a statement it cannot place on the cluster rather than run it on one node.
func ClusterStatements(stmt, database, cluster string, locals map[string]string) ([]string, error) {
	head := comments.FindString(stmt)
	body := strings.TrimRight(stmt[len(head):], "; \t\n")
	if m := createMergeTree.FindStringSubmatch(body); m != nil {
		ifNot, name, columns, family, args, rest := m[1], m[2], m[3], m[4], strings.TrimSpace(m[5]), m[6]
		db, table := splitName(name, database)
		if strings.HasPrefix(strings.ToLower(family), "replicated") {
			return nil, fmt.Errorf("chstore: cluster schema: table %s is replicated already; migrations create single-node tables", table)
		}
		key := orderBy.FindStringSubmatch(rest)
		if key == nil {
			return nil, fmt.Errorf("chstore: cluster schema: table %s has no ORDER BY key to shard by", table)
		}
		engineArgs := "'/clickhouse/tables/{shard}/" + db + "/" + table + "', '{replica}'"
		if args != "" {
			engineArgs += ", " + args
		}
		local := qualify(db, table+LocalSuffix)
		distributed := "CREATE TABLE IF NOT EXISTS " + qualify(db, table) + " ON CLUSTER " + cluster + " AS " + local +
			"\nENGINE = Distributed(" + cluster + ", " + db + ", " + table + LocalSuffix + ", cityHash64(" + key[1] + "))"
		locals[table] = distributed
		return []string{
			head + "CREATE TABLE " + ifNot + local + " ON CLUSTER " + cluster + "\n" + columns +
				"\nENGINE = Replicated" + family + "MergeTree(" + engineArgs + ")" + rest,
			strings.Replace(distributed, "IF NOT EXISTS ", ifNot, 1),
		}, nil
	}
	m := ddl.FindStringSubmatch(body)
	if m == nil {
		if isDDL(body) {
			return nil, fmt.Errorf("chstore: cluster schema: cannot place on the cluster: %.80q", body)
		}
		return []string{stmt}, nil
	}
	verb, name, rest := m[1], m[2], m[3]
	if onCluster.MatchString(rest) {
		return nil, fmt.Errorf("chstore: cluster schema: %s names a cluster already; migrations are single-node", name)
	}
	db, table := splitName(name, database)
	distributed, hasLocal := locals[table]
	upper := strings.ToUpper(verb)
	switch {
	case !hasLocal || strings.HasPrefix(upper, "CREATE") || !strings.Contains(name, "."):
		return []string{head + verb + name + " ON CLUSTER " + cluster + rest}, nil
	case strings.HasPrefix(upper, "DROP"):
		delete(locals, table)
		return []string{
			head + verb + name + " ON CLUSTER " + cluster + rest,
			verb + qualify(db, table+LocalSuffix) + " ON CLUSTER " + cluster + rest,
		}, nil
	case strings.HasPrefix(upper, "ALTER"):
		// The local table first; then the Distributed table is created again with its columns.
		return []string{
			head + verb + qualify(db, table+LocalSuffix) + " ON CLUSTER " + cluster + rest,
			"DROP TABLE IF EXISTS " + qualify(db, table) + " ON CLUSTER " + cluster,
			distributed,
		}, nil
	}
	// TRUNCATE, OPTIMIZE: the rows are in the local table.
	return []string{head + verb + qualify(db, table+LocalSuffix) + " ON CLUSTER " + cluster + rest}, nil
}

// isDDL reports whether a statement changes the schema (and so must reach every node).
func isDDL(body string) bool {
	w, _, _ := strings.Cut(strings.TrimSpace(body), " ")
	switch strings.ToUpper(strings.TrimSpace(w)) {
	case "CREATE", "ATTACH", "DROP", "DETACH", "ALTER", "RENAME", "TRUNCATE", "OPTIMIZE":
		return true
	}
	return false
}

// splitName returns the database and table of a possibly qualified name, without backquotes.
func splitName(name, database string) (string, string) {
	name = strings.ReplaceAll(name, "`", "")
	if db, t, ok := strings.Cut(name, "."); ok {
		return db, t
	}
	return database, name
}

// qualify returns db.table with the database in backquotes, as the migrations are applied.
func qualify(db, table string) string { return "`" + db + "`." + table }
