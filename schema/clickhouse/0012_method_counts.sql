-- govpulse ClickHouse schema, migration 0012: the counts of method_scores in one column.
--
-- On 18.16 an INSERT costs about 10 ms plus 1.2 to 1.7 ms per file of the part it writes, and a
-- part has two files per stored column (docs/benchmarks.md, "ClickHouse work per flush"). The
-- aggregator publishes a batch's scores once their INSERT into method_scores returned, so that
-- INSERT is most of the latency of a lone event, and 48 of the some 80 files of its part were the
-- 24 counts, one UInt64 column each. They are now the elements of one column, counts
-- Array(UInt64) (four files), in the order of the fields of scoring.Counts; every count stays a
-- column of the same name and type, computed when read (published_items UInt64 ALIAS
-- counts[1], ...), so that the views, the site and every query naming a count read the same
-- columns and values as before. An INSERT writes counts instead of the 24 columns; a new count is
-- appended to scoring.Counts and added as the next element (ALTER TABLE ... ADD COLUMN name UInt64
-- ALIAS counts[25]; the rows stored before it read 0 there).
--
-- The rows stored before this migration have no counts in their parts (they read []). Each is
-- written again, first, with counts gathered from its columns (and 0 in the count columns, which
-- become ALIAS right after): the same key and version, so the two collapse into one, and
-- ReplacingMergeTree keeps the row inserted last of those with the same version (the copy) when
-- it merges them and when it reads through FINAL. Then the counts become ALIAS columns. Until
-- ClickHouse merges the parts, a reader without FINAL sees the old row (every count 0) beside its
-- copy; OPTIMIZE TABLE ... FINAL merges them at once, but not here: on 18.16 it fails ON CLUSTER
-- over replicated tables.
--
-- Re-running after an interruption is safe: ADD COLUMN of a column that exists counts as applied;
-- the copy skips every row that has a copy with counts already (after the columns became ALIAS an
-- old row reads 0 in every count, but it has its copy by then, since the copy ran first), so a
-- second copy inserts nothing; a MODIFY to the same ALIAS leaves the column as it is.
-- Aggregators of earlier releases must be stopped before it runs (they write the 24 columns,
-- which are computed after it, so ClickHouse would refuse their writes).
ALTER TABLE ${DATABASE}.method_scores ADD COLUMN counts Array(UInt64);

INSERT INTO ${DATABASE}.method_scores
(
    region, version, as_of_ns, method, composite, grade, platform_levels, integrated, portals,
    counts, term_names, term_values, window_start, window_end
)
SELECT
    region, version, as_of_ns, method, composite, grade, platform_levels, integrated, portals,
    [
        published_items, modes_total, maturity_total, required_province, covered_province,
        required_city, covered_city, required_county, covered_county, required_township,
        covered_township, audited_items, audit_correct_consistent, audit_correct_inconsistent,
        applications, applications_online_completed, ratings, rating_sum, ratings_bad,
        applications_no_visit, applications_timed, applications_on_time, rectifications_judged,
        rectifications_on_time
    ],
    term_names, term_values, window_start, window_end
FROM ${DATABASE}.method_scores
WHERE empty(counts)
    AND (method, region, version) GLOBAL NOT IN
        (SELECT method, region, version FROM ${DATABASE}.method_scores WHERE notEmpty(counts))
LIMIT 1 BY method, region, version;

ALTER TABLE ${DATABASE}.method_scores
    MODIFY COLUMN published_items UInt64 ALIAS counts[1],
    MODIFY COLUMN modes_total UInt64 ALIAS counts[2],
    MODIFY COLUMN maturity_total UInt64 ALIAS counts[3],
    MODIFY COLUMN required_province UInt64 ALIAS counts[4],
    MODIFY COLUMN covered_province UInt64 ALIAS counts[5],
    MODIFY COLUMN required_city UInt64 ALIAS counts[6],
    MODIFY COLUMN covered_city UInt64 ALIAS counts[7],
    MODIFY COLUMN required_county UInt64 ALIAS counts[8],
    MODIFY COLUMN covered_county UInt64 ALIAS counts[9],
    MODIFY COLUMN required_township UInt64 ALIAS counts[10],
    MODIFY COLUMN covered_township UInt64 ALIAS counts[11],
    MODIFY COLUMN audited_items UInt64 ALIAS counts[12],
    MODIFY COLUMN audit_correct_consistent UInt64 ALIAS counts[13],
    MODIFY COLUMN audit_correct_inconsistent UInt64 ALIAS counts[14],
    MODIFY COLUMN applications UInt64 ALIAS counts[15],
    MODIFY COLUMN applications_online_completed UInt64 ALIAS counts[16],
    MODIFY COLUMN ratings UInt64 ALIAS counts[17],
    MODIFY COLUMN rating_sum UInt64 ALIAS counts[18],
    MODIFY COLUMN ratings_bad UInt64 ALIAS counts[19],
    MODIFY COLUMN applications_no_visit UInt64 ALIAS counts[20],
    MODIFY COLUMN applications_timed UInt64 ALIAS counts[21],
    MODIFY COLUMN applications_on_time UInt64 ALIAS counts[22],
    MODIFY COLUMN rectifications_judged UInt64 ALIAS counts[23],
    MODIFY COLUMN rectifications_on_time UInt64 ALIAS counts[24];
