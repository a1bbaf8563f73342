-- govpulse ClickHouse schema, migration 0001: the tables.
--
-- ${DATABASE} is replaced by the database name when the migration is applied.
-- Every statement is idempotent (IF NOT EXISTS), so a migration interrupted half way can run again.
-- Idempotency of the data comes from ReplacingMergeTree keys read through FINAL, argMax, max() or
-- LIMIT 1 BY, never from insert deduplication; retention is by monthly partition (DROP PARTITION).
-- Times are DateTime('UTC') seconds; columns ending in _ns hold the same instant in Unix nanoseconds.

-- Every accepted event, once per (region, id); a replay replaces the row with the same key.
CREATE TABLE IF NOT EXISTS ${DATABASE}.events
(
    region String,
    id String,
    type String,
    time DateTime('UTC'),
    time_ns Int64,
    ingest_time DateTime('UTC'),
    stream_seq UInt64,
    source String,
    item_code String,
    level String,
    rating UInt8,
    channel String,
    outcome String,
    payload String
)
ENGINE = ReplacingMergeTree(stream_seq)
PARTITION BY toYYYYMM(time)
ORDER BY (region, id);

-- Every score of every region: version = the stream sequence of the last event it reflects.
-- Each version is history; the same (region, version) written again replaces itself.
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

-- Every ranking: one row per (version, rank).
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

-- Event-time window aggregates (hourly feedback and application counts); a corrected window is
-- written again with a higher version and replaces the older row.
CREATE TABLE IF NOT EXISTS ${DATABASE}.windows
(
    region String,
    metric String,
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    version UInt64,
    count UInt64,
    rating_sum UInt64,
    rating_1 UInt64,
    rating_2 UInt64,
    rating_3 UInt64,
    rating_4 UInt64,
    rating_5 UInt64,
    completed UInt64,
    abandoned UInt64,
    rejected UInt64,
    online_completed UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (region, metric, window_start);

-- Events too late for their window. The stream sequence identifies one delivery of an event, so a
-- replay writes the same key again and replaces the row; an event re-sent under the same id later
-- (a new stream sequence) is a separate late arrival and keeps its own row.
CREATE TABLE IF NOT EXISTS ${DATABASE}.late_events
(
    region String,
    id String,
    type String,
    time DateTime('UTC'),
    time_ns Int64,
    stream_seq UInt64,
    watermark DateTime('UTC'),
    watermark_ns Int64,
    reason String,
    payload String,
    recorded_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (region, id, stream_seq);

-- The dead letter queue archived from the DLQ stream; its stream sequence makes re-archiving
-- idempotent.
CREATE TABLE IF NOT EXISTS ${DATABASE}.dlq
(
    stage String,
    reason String,
    reason_code String,
    source String,
    received_at DateTime('UTC'),
    stream_seq UInt64,
    event_id String,
    region String,
    type String,
    body String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (stage, stream_seq);

-- The 32 assessed units, for joins (filled by migration 0002).
CREATE TABLE IF NOT EXISTS ${DATABASE}.regions
(
    region String,
    name_zh String,
    name_en String,
    iso_3166_2 String
)
ENGINE = ReplacingMergeTree()
ORDER BY region;
