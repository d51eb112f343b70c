-- Everything that was not accepted: unattributable events (replayable) and malformed items,
-- with the reason and validation messages. quarantine_id is a digest of the item, so a retried
-- batch collapses onto the same rows.
CREATE TABLE IF NOT EXISTS quarantine {{ON_CLUSTER}}
(
    quarantine_id   String,
    received_at     DateTime64(3, 'UTC'),
    event_id        String,
    product_line_id String,
    disposition     LowCardinality(String),
    reason          LowCardinality(String),
    errors          Array(String),
    payload         String
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(received_at)
ORDER BY quarantine_id;
