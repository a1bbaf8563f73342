-- govpulse ClickHouse schema, migration 0010: the columns of the explanation tables that are
-- derived from their other columns are computed when read (ALIAS) instead of being stored.
--
-- On 18.16 every INSERT writes a new part with two files per column (four for a Nullable
-- column), and merges write them again: what an explanation costs ClickHouse per flush goes with
-- the files of its parts far more than with its rows (docs/benchmarks.md, "ClickHouse work per
-- flush"). These five columns carry nothing the others do not: delta is to_value - from_value
-- (NULL when either is NULL, as the aggregator computed it), as_of is as_of_ns in seconds, and
-- applied is the sum of event_counts. Reading them gives the same values as before, for the rows
-- stored before this migration too; an INSERT no longer lists them. A column that is already an
-- ALIAS of the same expression is left as it is, so the migration can run again.
ALTER TABLE ${DATABASE}.score_changes MODIFY COLUMN delta Nullable(Float64) ALIAS to_value - from_value;
ALTER TABLE ${DATABASE}.score_changes MODIFY COLUMN as_of DateTime('UTC') ALIAS toDateTime(intDiv(as_of_ns, 1000000000), 'UTC');
ALTER TABLE ${DATABASE}.score_causes MODIFY COLUMN as_of DateTime('UTC') ALIAS toDateTime(intDiv(as_of_ns, 1000000000), 'UTC');
ALTER TABLE ${DATABASE}.score_causes MODIFY COLUMN applied UInt64 ALIAS arraySum(event_counts);
ALTER TABLE ${DATABASE}.rank_changes MODIFY COLUMN as_of DateTime('UTC') ALIAS toDateTime(intDiv(as_of_ns, 1000000000), 'UTC');
