-- govpulse ClickHouse schema, migration 0005: scoring methods side by side.
--
-- The scores and rankings tables key on (region, version) and (version, rank): two methods'
-- rows of the same event would replace one another there. They keep method 2017's scores and
-- rankings in their named columns (latest_scores, latest_ranking and score_history serve them,
-- unchanged). method_scores and method_rankings hold the scores and rankings of every method,
-- 2017 included, keyed by method first; a score's terms are the arrays term_names and
-- term_values, in the order of the method's terms, so that a new method needs no new column
-- (a new count does: ALTER TABLE method_scores ADD COLUMN, in the method's migration).

-- Every score of every region under every method.
CREATE TABLE IF NOT EXISTS ${DATABASE}.method_scores
(
    region String,
    version UInt64,
    as_of DateTime('UTC'),
    as_of_ns Int64,
    method String,
    composite Float64,
    grade String,
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
    ratings_bad UInt64,
    applications_no_visit UInt64,
    applications_timed UInt64,
    applications_on_time UInt64,
    term_names Array(String),
    term_values Array(Nullable(Float64)),
    window_start DateTime('UTC'),
    window_end DateTime('UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (method, region, version);

-- Every ranking under every method: one row per (method, version, rank).
CREATE TABLE IF NOT EXISTS ${DATABASE}.method_rankings
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
ORDER BY (method, version, rank);

-- One row per (method, region): its score of the highest version under the method.
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
    SELECT *
    FROM ${DATABASE}.method_scores FINAL
    WHERE (method, region, version) IN
        (SELECT method, region, max(version) FROM ${DATABASE}.method_scores GROUP BY method, region)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY method, region;

-- One row per (method, rank) of each method's ranking with the highest version.
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_method_ranking AS
SELECT
    method, rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version
FROM
(
    SELECT *
    FROM ${DATABASE}.method_rankings FINAL
    WHERE (method, version) IN (SELECT method, max(version) FROM ${DATABASE}.method_rankings GROUP BY method)
)
ANY LEFT JOIN
(
    SELECT region, name_zh, name_en FROM ${DATABASE}.regions FINAL
) USING region
ORDER BY method, rank;

-- Each unit's latest rank and composite under every method beside its rank and composite under
-- the default method 2017; rank_difference = rank under 2017 - rank under the method (positive:
-- the unit ranks higher under the method).
CREATE VIEW IF NOT EXISTS ${DATABASE}.method_comparison AS
SELECT
    region, name_zh, name_en, method, rank, composite, grade,
    default_rank, default_composite, toInt16(toInt16(default_rank) - toInt16(rank)) AS rank_difference
FROM
(
    SELECT method, region, name_zh, name_en, rank, composite, grade FROM ${DATABASE}.latest_method_ranking
)
ANY LEFT JOIN
(
    SELECT region, rank AS default_rank, composite AS default_composite
    FROM ${DATABASE}.latest_method_ranking WHERE method = '2017'
) USING region
ORDER BY region, method;

-- Method 2017 from method_scores, with its terms as named columns.
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_scores_2017 AS
SELECT
    region, name_zh, name_en, as_of,
    term_values[indexOf(term_names, 'service_modes')] AS service_modes,
    term_values[indexOf(term_names, 'item_coverage')] AS item_coverage,
    term_values[indexOf(term_names, 'guide_accuracy')] AS guide_accuracy,
    term_values[indexOf(term_names, 'online_maturity')] AS online_maturity,
    composite, grade,
    term_values[indexOf(term_names, 'satisfaction')] AS satisfaction,
    platform_levels, integrated, portals, window_start, window_end, as_of_ns, method, version
FROM ${DATABASE}.latest_method_scores
WHERE method = '2017';

CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_ranking_2017 AS
SELECT rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version
FROM ${DATABASE}.latest_method_ranking
WHERE method = '2017';

-- Method 2022 (一体化政务服务能力), with its five dimensions as named columns.
CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_scores_2022 AS
SELECT
    region, name_zh, name_en, as_of,
    term_values[indexOf(term_names, 'online_effectiveness')] AS online_effectiveness,
    term_values[indexOf(term_names, 'online_handling')] AS online_handling,
    term_values[indexOf(term_names, 'service_modes')] AS service_modes,
    term_values[indexOf(term_names, 'item_coverage')] AS item_coverage,
    term_values[indexOf(term_names, 'guide_accuracy')] AS guide_accuracy,
    composite, grade,
    term_values[indexOf(term_names, 'satisfaction')] AS satisfaction,
    platform_levels, integrated, portals,
    ratings, rating_sum, ratings_bad, applications, applications_online_completed,
    applications_no_visit, applications_timed, applications_on_time,
    window_start, window_end, as_of_ns, method, version
FROM ${DATABASE}.latest_method_scores
WHERE method = '2022';

CREATE VIEW IF NOT EXISTS ${DATABASE}.latest_ranking_2022 AS
SELECT rank, region, name_zh, name_en, composite, grade, prev_rank, change, as_of, version
FROM ${DATABASE}.latest_method_ranking
WHERE method = '2022';
