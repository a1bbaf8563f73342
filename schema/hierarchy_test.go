package schema_test

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govpulse/govpulse/pkg/events"
	"github.com/govpulse/govpulse/schema"
)

var update = flag.Bool("update", false, "write "+hierarchyFile+" from the units of package events")

// hierarchyFile is the migration that loads the units of GB/T 2260; it is derived from
// events.Units (pkg/events/units.tsv) by hierarchySQL.
const hierarchyFile = "0008_hierarchy.sql"

// hierarchyHead is the part of the migration before the units: the table and the provincial units,
// which come from the regions table (migration 0002).
const hierarchyHead = `-- govpulse ClickHouse schema, migration 0008: the hierarchy of units (GB/T 2260) and the rankings
-- of groups of units, written by
-- TestHierarchyMigration -update from pkg/events/units.tsv; a new version of the data is a new
-- migration.
--
-- units holds every unit: the 32 provincial units of regions, 333 prefecture-level and 2975
-- county-level units, with level (1 provincial, 2 prefecture, 3 county), parent ('' for a
-- provincial unit) and the unit's provincial and prefecture-level units (province is the unit itself
-- at level 1; prefecture is the unit itself at level 2, '' at level 1 and for a county-level unit
-- directly under its provincial unit). A unit's subtree, the unit included, is therefore
--     SELECT region FROM ${DATABASE}.units FINAL
--     WHERE region = '330000' OR province = '330000' OR prefecture = '330000'
-- The rows below give code, Chinese and English name, and 1 for a county-level unit directly under
-- its provincial unit (the districts of the municipalities, 419001 济源市, ...), else 0; level,
-- parent and ancestors follow from these.

CREATE TABLE IF NOT EXISTS ${DATABASE}.units
(
    region String,
    name_zh String,
    name_en String,
    level UInt8,
    parent String,
    province String,
    prefecture String
)
ENGINE = ReplacingMergeTree()
ORDER BY region;

-- group_rankings holds the rankings of the groups of units beside the provincial units (package
-- internal/groups: key-cities, cities-<code>, counties-<code>), one row per rank, as rankings holds
-- the ranking of the provincial units. The latest ranking of the key cities:
--     SELECT rank, region, composite FROM ${DATABASE}.group_rankings FINAL
--     WHERE ranking_group = 'key-cities' AND method = '2017' AND version =
--         (SELECT max(version) FROM ${DATABASE}.group_rankings WHERE ranking_group = 'key-cities' AND method = '2017')
--     ORDER BY rank
CREATE TABLE IF NOT EXISTS ${DATABASE}.group_rankings
(
    ranking_group String,
    method String,
    version UInt64,
    as_of DateTime('UTC'),
    as_of_ns Int64,
    rank UInt16,
    region String,
    composite Float64,
    grade String,
    prev_rank UInt16,
    change Int16
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (ranking_group, method, version, rank);

INSERT INTO ${DATABASE}.units (region, name_zh, name_en, level, parent, province, prefecture)
SELECT region, name_zh, name_en, 1, '', region, ''
FROM ${DATABASE}.regions FINAL;
`

// hierarchyInsert is the statement for the lower units of one provincial unit; %s is the list of
// (code, name_zh, name_en, directly under the provincial unit) tuples.
const hierarchyInsert = `
INSERT INTO ${DATABASE}.units (region, name_zh, name_en, level, parent, province, prefecture)
SELECT c, zh, en, if(city, 2, 3), if(city OR top, prov, concat(substring(c, 1, 4), '00')), prov,
    if(city, c, if(top, '', concat(substring(c, 1, 4), '00')))
FROM (
    SELECT tupleElement(u, 1) AS c, tupleElement(u, 2) AS zh, tupleElement(u, 3) AS en, tupleElement(u, 4) = 1 AS top,
        substring(c, 5, 2) = '00' AS city, concat(substring(c, 1, 2), '0000') AS prov
    FROM system.one
    ARRAY JOIN [
%s
    ] AS u
);
`

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// hierarchySQL returns the migration for units: one insert per provincial unit with units below it.
func hierarchySQL(units []events.Unit) string {
	var b strings.Builder
	b.WriteString(hierarchyHead)
	var rows []string
	flush := func() {
		if len(rows) > 0 {
			fmt.Fprintf(&b, hierarchyInsert, strings.Join(rows, ",\n"))
			rows = rows[:0]
		}
	}
	prev := ""
	for _, u := range units {
		if u.Level == events.Provincial {
			continue
		}
		if u.Code[:2] != prev {
			flush()
			prev = u.Code[:2]
		}
		top := 0
		if u.Level == events.County && u.Parent == u.Code[:2]+"0000" {
			top = 1
		}
		rows = append(rows, fmt.Sprintf("(%s,%s,%s,%d)", quote(u.Code), quote(u.NameZH), quote(u.NameEN), top))
	}
	flush()
	return b.String()
}

func TestHierarchyMigration(t *testing.T) {
	want := hierarchySQL(events.Units())
	if *update {
		if err := os.WriteFile(filepath.Join(schema.ClickHouseDir, hierarchyFile), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := fs.ReadFile(schema.ClickHouse(), hierarchyFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not the migration of the units of package events; run go test ./schema -run TestHierarchyMigration -update", hierarchyFile)
	}
	if len(got) > 150<<10 {
		t.Errorf("%s is %d bytes", hierarchyFile, len(got))
	}
}
