-- govpulse ClickHouse schema, migration 0011: every score and ranking is stored once.
--
-- Until now each flush wrote method 2017's scores twice, in scores (named columns) and in
-- method_scores (terms as arrays), and its ranking twice, in rankings and method_rankings. On
-- 18.16 what a flush costs ClickHouse goes with the files of its parts (docs/benchmarks.md,
-- "ClickHouse work per flush"), and the two copies were two parts of some 90 files a flush.
-- method_scores and method_rankings stay the tables; scores and rankings become views over them
-- (method 2017, its terms as the named columns they had, with the same types), read without FINAL
-- since they apply it themselves. The rows of the old tables that method_scores and
-- method_rankings do not hold already (stored before migration 0005) are copied there first,
-- then the old tables are dropped (schema/README.md, "Methods side by side").
--
-- Re-running after an interruption is safe: the CREATE TABLE IF NOT EXISTS of an old table does
-- nothing while the table or its view exists, and creates an empty table again if the migration
-- stopped between its DROP and its CREATE VIEW; the copies skip the rows already there (by key),
-- so a second copy inserts nothing; DROP and CREATE VIEW of a view are repeatable.
--
-- as_of of method_scores and method_rankings is computed from as_of_ns when read (ALIAS), as 0010
-- did for the explanation tables: first, so that the copies below need not write it. The views
-- that read those tables with SELECT * (which leaves ALIAS columns out) are created again with
-- their columns named.
ALTER TABLE ${DATABASE}.method_scores MODIFY COLUMN as_of DateTime('UTC') ALIAS toDateTime(intDiv(as_of_ns, 1000000000), 'UTC');
ALTER TABLE ${DATABASE}.method_rankings MODIFY COLUMN as_of DateTime('UTC') ALIAS toDateTime(intDiv(as_of_ns, 1000000000), 'UTC');

-- The table of 0001, for a run interrupted after its DROP below (a no-op otherwise).
CREATE TABLE IF NOT EXISTS ${DATABASE}.scores
(
    region String,
    version UInt64,
    as_of DateTime('UTC'),
    as_of_ns Int64,
    method String,
    service_modes Float64,
    item_coverage Float64,
    guide_accuracy Float64,
    online_maturity Float64,
    composite Float64,
    grade String,
    satisfaction Nullable(Float64),
    platform_levels UInt8,
    integrated UInt8,
    portals UInt32,
    published_items UInt64,
    modes_total UInt64,
    maturity_total UInt64,
    required_province UInt64,
    covered_province UInt64,
    required_city UInt64,
    covered_city UInt64,
    required_county UInt64,
    covered_county UInt64,
    required_township UInt64,
    covered_township UInt64,
    audited_items UInt64,
    audit_correct_consistent UInt64,
    audit_correct_inconsistent UInt64,
    applications UInt64,
    applications_online_completed UInt64,
    ratings UInt64,
    rating_sum UInt64,
    window_start DateTime('UTC'),
    window_end DateTime('UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (region, version);

CREATE TABLE IF NOT EXISTS ${DATABASE}.rankings
(
    version UInt64,
    as_of DateTime('UTC'),
    as_of_ns Int64,
    method String,
    rank UInt8,
    region String,
    composite Float64,
    grade String,
    prev_rank UInt8,
    change Int16
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (version, rank);

-- The scores stored in scores only: method 2017's terms, in the order of its Spec.Terms. The
-- counts that only method_scores has (ratings_bad, ..., rectifications_on_time) were not kept by
-- scores and stay 0 in these rows. A row written twice and not merged yet is copied once.
INSERT INTO ${DATABASE}.method_scores
(
    region, version, as_of_ns, method, composite, grade, platform_levels, integrated, portals,
    published_items, modes_total, maturity_total,
    required_province, covered_province, required_city, covered_city,
    required_county, covered_county, required_township, covered_township,
    audited_items, audit_correct_consistent, audit_correct_inconsistent,
    applications, applications_online_completed, ratings, rating_sum,
    term_names, term_values, window_start, window_end
)
SELECT
    region, version, as_of_ns, '2017', composite, grade, platform_levels, integrated, portals,
    published_items, modes_total, maturity_total,
    required_province, covered_province, required_city, covered_city,
    required_county, covered_county, required_township, covered_township,
    audited_items, audit_correct_consistent, audit_correct_inconsistent,
    applications, applications_online_completed, ratings, rating_sum,
    ['service_modes', 'item_coverage', 'guide_accuracy', 'online_maturity', 'satisfaction'],
    [toNullable(service_modes), toNullable(item_coverage), toNullable(guide_accuracy), toNullable(online_maturity), satisfaction],
    window_start, window_end
FROM ${DATABASE}.scores
WHERE (region, version) GLOBAL NOT IN (SELECT region, version FROM ${DATABASE}.method_scores WHERE method = '2017')
LIMIT 1 BY region, version;

-- The rankings stored in rankings only, likewise.
INSERT INTO ${DATABASE}.method_rankings (version, as_of_ns, method, rank, region, composite, grade, prev_rank, change)
SELECT version, as_of_ns, '2017', rank, region, composite, grade, prev_rank, change
FROM ${DATABASE}.rankings
WHERE (version, rank) GLOBAL NOT IN (SELECT version, rank FROM ${DATABASE}.method_rankings WHERE method = '2017')
LIMIT 1 BY version, rank;

DROP TABLE IF EXISTS ${DATABASE}.scores;
DROP TABLE IF EXISTS ${DATABASE}.rankings;

-- Every score of method 2017, one row per (region, version): the columns scores had, its terms
-- taken from term_names and term_values by name (the sub-indices always have a value; satisfaction
-- is NULL without ratings).
CREATE VIEW IF NOT EXISTS ${DATABASE}.scores AS
SELECT
    region, version, as_of, as_of_ns, method,
    assumeNotNull(term_values[indexOf(term_names, 'service_modes')]) AS service_modes,
    assumeNotNull(term_values[indexOf(term_names, 'item_coverage')]) AS item_coverage,
    assumeNotNull(term_values[indexOf(term_names, 'guide_accuracy')]) AS guide_accuracy,
    assumeNotNull(term_values[indexOf(term_names, 'online_maturity')]) AS online_maturity,
    composite, grade,
    term_values[indexOf(term_names, 'satisfaction')] AS satisfaction,
    platform_levels, integrated, portals,
    published_items, modes_total, maturity_total,
    required_province, covered_province, required_city, covered_city,
    required_county, covered_county, required_township, covered_township,
    audited_items, audit_correct_consistent, audit_correct_inconsistent,
    applications, applications_online_completed, ratings, rating_sum,
    window_start, window_end
FROM ${DATABASE}.method_scores FINAL
WHERE method = '2017';

-- Every ranking of method 2017, one row per (version, rank).
CREATE VIEW IF NOT EXISTS ${DATABASE}.rankings AS
SELECT version, as_of, as_of_ns, method, rank, region, composite, grade, prev_rank, change
FROM ${DATABASE}.method_rankings FINAL
WHERE method = '2017';

-- The views of 0003 and 0005 that read the tables through FINAL or with SELECT *, again.
DROP TABLE IF EXISTS ${DATABASE}.latest_scores;
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_scores AS
SELECT
    region, name_zh, name_en, as_of,
    service_modes, item_coverage, guide_accuracy, online_maturity,
    composite, grade, satisfaction, platform_levels, integrated, portals,
    published_items, modes_total, maturity_total,
    required_province, covered_province, required_city, covered_city,
    required_county, covered_county, required_township, covered_township,
    audited_items, audit_correct_consistent, audit_correct_inconsistent,
    applications, applications_online_completed, ratings, rating_sum,
    window_start, window_end, as_of_ns, method, version
FROM
(
    SELECT *
    FROM ${DATABASE}.scores
    WHERE (region, version) IN
        (SELECT region, max(version) FROM ${DATABASE}.method_scores WHERE method = '2017' GROUP BY region)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY region;

DROP TABLE IF EXISTS ${DATABASE}.latest_ranking;
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_ranking AS
SELECT
    rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version
FROM
(
    SELECT *
    FROM ${DATABASE}.rankings
    WHERE version = (SELECT max(version) FROM ${DATABASE}.method_rankings WHERE method = '2017')
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY rank;

DROP TABLE IF EXISTS ${DATABASE}.score_history;
CREATE VIEW IF NOT EXISTS ${DATABASE}.score_history AS
SELECT
    region, name_zh, name_en, as_of,
    service_modes, item_coverage, guide_accuracy, online_maturity,
    composite, grade, satisfaction, platform_levels, integrated, portals,
    published_items, modes_total, maturity_total,
    required_province, covered_province, required_city, covered_city,
    required_county, covered_county, required_township, covered_township,
    audited_items, audit_correct_consistent, audit_correct_inconsistent,
    applications, applications_online_completed, ratings, rating_sum,
    window_start, window_end, as_of_ns, method, version
FROM
(
    SELECT * FROM ${DATABASE}.scores
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY region, version;

DROP TABLE IF EXISTS ${DATABASE}.latest_method_scores;
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_method_scores AS
SELECT
    method, region, name_zh, name_en, as_of, composite, grade, term_names, term_values,
    platform_levels, integrated, portals,
    published_items, modes_total, maturity_total,
    required_province, covered_province, required_city, covered_city,
    required_county, covered_county, required_township, covered_township,
    audited_items, audit_correct_consistent, audit_correct_inconsistent,
    applications, applications_online_completed, ratings, rating_sum,
    ratings_bad, applications_no_visit, applications_timed, applications_on_time,
    window_start, window_end, as_of_ns, version
FROM
(
    SELECT
        method, region, as_of, composite, grade, term_names, term_values,
        platform_levels, integrated, portals,
        published_items, modes_total, maturity_total,
        required_province, covered_province, required_city, covered_city,
        required_county, covered_county, required_township, covered_township,
        audited_items, audit_correct_consistent, audit_correct_inconsistent,
        applications, applications_online_completed, ratings, rating_sum,
        ratings_bad, applications_no_visit, applications_timed, applications_on_time,
        window_start, window_end, as_of_ns, version
    FROM ${DATABASE}.method_scores FINAL
    WHERE (method, region, version) IN
        (SELECT method, region, max(version) FROM ${DATABASE}.method_scores GROUP BY method, region)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY method, region;

DROP TABLE IF EXISTS ${DATABASE}.latest_method_ranking;
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_method_ranking AS
SELECT
    method, rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version
FROM
(
    SELECT method, rank, region, composite, grade, prev_rank, change, as_of, version
    FROM ${DATABASE}.method_rankings FINAL
    WHERE (method, version) IN (SELECT method, max(version) FROM ${DATABASE}.method_rankings GROUP BY method)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY method, rank;
