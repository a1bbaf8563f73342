-- govpulse ClickHouse schema, migration 0007: the lifecycle of reviews (好差评) and its alerts.

-- One row per (region, period, period_start): the reviews of a unit over a period, 'rolling' (the
-- 30-day window ending at period_end, the end of the watermark's day in UTC+8) or 'day' (one day in
-- UTC+8). A correction (a review voided on appeal, a rectification closed or overdue) is written
-- again with a higher version. bad_rate = bad / reviews, on_time_rate = closed_on_time /
-- (closed_on_time + closed_late + overdue), follow_up_mean = follow_up_sum / follow_ups, NULL when
-- the denominator is 0. overdue_cases lists the review ids of the rectifications overdue at as_of
-- (the watermark, event time).
CREATE TABLE IF NOT EXISTS ${DATABASE}.review_stats
(
    region String,
    period String,
    period_start DateTime('UTC'),
    period_end DateTime('UTC'),
    version UInt64,
    reviews UInt64,
    bad UInt64,
    bad_rate Nullable(Float64),
    appeals UInt64,
    appeals_upheld UInt64,
    rectifications_opened UInt64,
    closed_on_time UInt64,
    closed_late UInt64,
    overdue UInt64,
    overdue_cases Array(String),
    on_time_rate Nullable(Float64),
    follow_ups UInt64,
    follow_up_sum UInt64,
    follow_up_mean Nullable(Float64),
    as_of DateTime('UTC'),
    as_of_ns Int64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (region, period, period_start);

-- One row per (region, id, state): an alert of a unit's bad-review rate over a short window above
-- its 30-day baseline, raised, then ended; id is the region and the start of the window that raised
-- it, so that an alert stored or published again replaces itself. The evidence: the counts and
-- rates of the window and of the baseline, the factor and minimum count in force, and the items
-- with the most bad reviews in the window (top_items, top_bad, most first).
CREATE TABLE IF NOT EXISTS ${DATABASE}.alerts
(
    region String,
    id String,
    state Enum8('raised' = 1, 'ended' = 2),
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    bad UInt64,
    reviews UInt64,
    baseline_bad UInt64,
    baseline_reviews UInt64,
    factor Float64,
    min_count UInt64,
    top_items Array(String),
    top_bad Array(UInt64),
    version UInt64,
    recorded_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (region, id, state);
