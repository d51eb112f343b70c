-- Walking a run tree looks runs up by parent_run_id; a bloom filter lets that skip granules.
-- Parts written before this migration are indexed as they merge.
ALTER TABLE cost_events {{ON_CLUSTER}} ADD INDEX IF NOT EXISTS idx_parent_run_id parent_run_id TYPE bloom_filter(0.01) GRANULARITY 4;
