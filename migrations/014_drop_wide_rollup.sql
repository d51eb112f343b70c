-- The wide hourly rollup (12 dimensions and a distinct run-id set per row) is replaced by the
-- narrow rollups of 013 and run_facts of 012: it held almost a row per event and merging its
-- run-id sets made every read slow. Dropping the view first stops inserts from feeding it.
DROP VIEW IF EXISTS cost_rollup_hourly_mv {{ON_CLUSTER}};
DROP TABLE IF EXISTS cost_rollup_hourly {{ON_CLUSTER}};
