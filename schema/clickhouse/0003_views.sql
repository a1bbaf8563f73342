-- govpulse ClickHouse schema, migration 0003: the views analysts query.
--
-- A ReplacingMergeTree collapses rows with the same key only when parts merge, so every view reads
-- through FINAL (and picks the highest version with max()): a row written twice and not yet merged
-- is still shown once. The names come from regions through ANY LEFT JOIN (at most one regions row
-- per key, and the score stays when a region is unknown), which 18.16 and current releases accept.

-- One row per region: its score of the highest version.
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
    FROM ${DATABASE}.scores FINAL
    WHERE (region, version) IN (SELECT region, max(version) FROM ${DATABASE}.scores GROUP BY region)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY region;

-- One row per rank of the ranking with the highest version.
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_ranking AS
SELECT
    rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version
FROM
(
    SELECT *
    FROM ${DATABASE}.rankings FINAL
    WHERE version = (SELECT max(version) FROM ${DATABASE}.rankings)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY rank;

-- Every stored score, one row per (region, version), oldest first.
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
    SELECT * FROM ${DATABASE}.scores FINAL
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY region, version;
