-- Outcome of each replay of a quarantine record. accepted and duplicate are final, so a record
-- is re-ingested at most once successfully; the ledger's event_id dedup makes that exact.
CREATE TABLE IF NOT EXISTS quarantine_replays {{ON_CLUSTER}}
(
    quarantine_id String,
    event_id      String,
    outcome       LowCardinality(String),
    replayed_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(replayed_at)
ORDER BY quarantine_id;
