-- The idempotency index: every event_id that reached cost_events, ordered by id so the
-- pre-insert duplicate check is a primary-key lookup. Filled by a view of cost_events itself,
-- so an event and its index entry are written by the same INSERT.
CREATE TABLE IF NOT EXISTS event_ids {{ON_CLUSTER}}
(
    event_id    String,
    received_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree
ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv {{ON_CLUSTER}} TO event_ids AS
SELECT event_id, received_at
FROM cost_events
WHERE record_type = 'event';
