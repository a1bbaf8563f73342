-- govpulse ClickHouse schema, migration 0009: the rectification counts of method 2022.
--
-- 在线服务成效度 of method 2022 reads the on-time rectification rate (按期整改率) of the rolling
-- window: rectifications_on_time / rectifications_judged (docs/method.md). Like every count of a
-- method other than 2017 they are columns of method_scores only (schema/README.md, "Methods side
-- by side"); one column per statement, so that the migration can run again after an interruption
-- (18.16 has no ADD COLUMN IF NOT EXISTS; "column already exists" counts as applied).
ALTER TABLE ${DATABASE}.method_scores ADD COLUMN rectifications_judged UInt64;
ALTER TABLE ${DATABASE}.method_scores ADD COLUMN rectifications_on_time UInt64;
