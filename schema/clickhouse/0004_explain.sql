-- govpulse ClickHouse schema, migration 0004: what explains every change of a score and of the ranking.
--
-- A stored score version's change is taken from the unit's previous stored version (the previous
-- flush that wrote the unit). After a crash, flushes are cut elsewhere, so the same version may be
-- written again with another previous version: the keys hold the new version only, and the row with
-- the highest from_version wins (the finer step; its from_version is a stored version too). Readers
-- read through FINAL, or take max(from_version) per version.

-- One row per (method, region, version, term): every term of the method, the composite and every
-- count (named as their columns in latest_scores), from the score at from_version (0: none, and
-- from_value and delta are NULL) to the score at version. Counts are stored as Float64 (exact).
CREATE TABLE IF NOT EXISTS ${DATABASE}.score_changes
(
    method String,
    region String,
    version UInt64,
    term String,
    from_version UInt64,
    from_value Nullable(Float64),
    to_value Nullable(Float64),
    delta Nullable(Float64),
    as_of DateTime('UTC'),
    as_of_ns Int64
)
ENGINE = ReplacingMergeTree(from_version)
ORDER BY (method, region, version, term);

-- One row per (method, region, version): the causes of the change from from_version. first_seq and
-- last_seq bound the stream sequences of the unit's events applied in between (0: none); applied
-- counts them, event_types/event_counts by type (applied = sum(event_counts)); items describes the
-- first 20 portal changes that won their key, items_total counts them all; window_types/window_left
-- count the user-experience events that left the 30-day window as it slid to a new day (net).
CREATE TABLE IF NOT EXISTS ${DATABASE}.score_causes
(
    method String,
    region String,
    version UInt64,
    from_version UInt64,
    as_of DateTime('UTC'),
    as_of_ns Int64,
    first_seq UInt64,
    last_seq UInt64,
    applied UInt64,
    event_types Array(String),
    event_counts Array(UInt64),
    items Array(String),
    items_total UInt64,
    window_types Array(String),
    window_left Array(Int64)
)
ENGINE = ReplacingMergeTree(from_version)
ORDER BY (method, region, version);

-- One row per (method, version, region) of a unit whose rank differs between the ranking of
-- from_version and that of version: the units it passed and those that passed it, each with the
-- scored term whose weighted change moved the pair's composite difference most ('' when none).
CREATE TABLE IF NOT EXISTS ${DATABASE}.rank_changes
(
    method String,
    version UInt64,
    from_version UInt64,
    as_of DateTime('UTC'),
    as_of_ns Int64,
    region String,
    old_rank UInt8,
    new_rank UInt8,
    passed Array(String),
    passed_terms Array(String),
    passed_by Array(String),
    passed_by_terms Array(String)
)
ENGINE = ReplacingMergeTree(from_version)
ORDER BY (method, version, region);
