-- Ingestion in two steps (docs/ingestion.md "Many writers"): every API process appends accepted
-- events to event_log (cheap: no views), and one applier at a time moves pending commits into
-- cost_events with one INSERT … SELECT that drops ids already in the ledger, so every view is fed
-- once per event however many processes received it. A later ALTER of cost_events must be made to
-- event_log too (the apply copies columns by name).
-- received_at here is when the commit was logged (one instant per commit): the apply reads a
-- commit by it (the sort key) and its commit_id; a receipt's duplicate check reads by event_id
-- (the bloom filter copied from cost_events), over the day or two of log that is kept.
CREATE TABLE IF NOT EXISTS event_log {{ON_CLUSTER}} AS cost_events
ENGINE = {{REPLICATED}}MergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (received_at, event_id);

ALTER TABLE event_log {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS commit_id String;
ALTER TABLE event_log {{ON_CLUSTER}} DROP INDEX IF EXISTS idx_run_id;
ALTER TABLE event_log {{ON_CLUSTER}} DROP INDEX IF EXISTS idx_parent_run_id;

-- One row per commit (one log insert), so finding pending work never scans the log itself.
CREATE TABLE IF NOT EXISTS log_commits {{ON_CLUSTER}}
(
    commit_id  String,
    logged_at  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    rows        SimpleAggregateFunction(sum, UInt64),
    corrections SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMMDD(logged_at)
ORDER BY commit_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS log_commits_mv {{ON_CLUSTER}} TO log_commits AS
SELECT commit_id, min(received_at) AS logged_at, count() AS rows, countIf(record_type != 'event') AS corrections
FROM event_log
GROUP BY commit_id;

-- Commits already moved into cost_events, with the received_at stamp the apply gave their rows.
CREATE TABLE IF NOT EXISTS applied_commits {{ON_CLUSTER}}
(
    commit_id   String,
    stamp       DateTime64(3, 'UTC'),
    applied_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree
PARTITION BY toYYYYMM(applied_at)
ORDER BY commit_id
TTL toDateTime(applied_at) + INTERVAL 40 DAY;

-- Claims: the one compare-and-set ClickHouse offers. Inserts of the same key carry the key as
-- insert_deduplication_token, so only the first is stored; whoever reads back its own name owns
-- the key (applier lease terms, cluster locks, "announce this budget crossing once").
CREATE TABLE IF NOT EXISTS ledger_claims {{ON_CLUSTER}}
(
    key         String,
    owner       String,
    claimed_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}MergeTree
PARTITION BY toYYYYMM(claimed_at)
ORDER BY key
TTL toDateTime(claimed_at) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 100000;

-- Heartbeats of lease holders (the holder of a term writes them; no compare-and-set needed).
CREATE TABLE IF NOT EXISTS lease_heartbeats {{ON_CLUSTER}}
(
    lease_key  String,
    owner      String,
    at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}MergeTree
ORDER BY (lease_key, at)
TTL toDateTime(at) + INTERVAL 1 DAY;
