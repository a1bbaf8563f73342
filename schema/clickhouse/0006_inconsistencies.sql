-- govpulse ClickHouse schema, migration 0006: the inconsistencies between the portals of a unit
-- (internal/portals) and the portal measures of every unit.

-- One row per inconsistency: an item (level, item_code) of a unit that two of its portals
-- (portal_a < portal_b; '' is the main portal) describe differently, from its opening (the event
-- time and stream sequence of the event that opened it) to its closing (closed_version 0 and
-- closed_at 0 while it is open). fields names the fields that differ, values_a and values_b their
-- values on each side, in the same order: as they are now, or as they were when it closed.
-- version is the stream sequence of the last change; a replay writes the same key with the same or
-- a higher version, so the newest row of a key wins. Read through FINAL (or open_inconsistencies).
CREATE TABLE IF NOT EXISTS ${DATABASE}.inconsistencies
(
    region String,
    level String,
    item_code String,
    portal_a String,
    portal_b String,
    opened_version UInt64,
    opened_at DateTime('UTC'),
    opened_at_ns Int64,
    closed_version UInt64,
    closed_at DateTime('UTC'),
    closed_at_ns Int64,
    fields Array(String),
    values_a Array(String),
    values_b Array(String),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (region, level, item_code, portal_a, portal_b, opened_version);

-- The inconsistencies open now.
CREATE VIEW IF NOT EXISTS ${DATABASE}.open_inconsistencies AS
SELECT region, level, item_code, portal_a, portal_b, opened_version, opened_at, opened_at_ns, fields, values_a,
    values_b, version
FROM ${DATABASE}.inconsistencies FINAL
WHERE closed_version = 0;

-- One row per unit: its portal counts at version, the stream sequence of the last change of its
-- portal state (the newest row wins). portals: portals seen; published_items: items published on
-- at least one portal, multi_portal_items on more than one; open: open inconsistencies;
-- inconsistent_items: items with at least one; closed: inconsistencies closed so far and
-- open_nanos_total the sum of the times they stayed open (event time of the closing minus that of
-- the opening, at least 0).
CREATE TABLE IF NOT EXISTS ${DATABASE}.portal_counts
(
    region String,
    version UInt64,
    portals UInt64,
    published_items UInt64,
    multi_portal_items UInt64,
    open UInt64,
    inconsistent_items UInt64,
    closed UInt64,
    open_nanos_total Int64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (region);

-- The portal measures of every unit: the counts, the share of published items with an open
-- inconsistency and the mean time an inconsistency stayed open (seconds, over the closed ones).
CREATE VIEW IF NOT EXISTS ${DATABASE}.portal_measures AS
SELECT region, portals, published_items, multi_portal_items, open, inconsistent_items,
    if(published_items = 0, 0, inconsistent_items / published_items) AS share,
    closed, if(closed = 0, 0, open_nanos_total / closed / 1000000000) AS mean_open_seconds, version
FROM ${DATABASE}.portal_counts FINAL;
