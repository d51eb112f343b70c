-- Guardrails: budgets, the thresholds already announced per window (so each fires once),
-- notifications, webhooks and every delivery attempt.
CREATE TABLE IF NOT EXISTS budgets {{ON_CLUSTER}}
(
    id          String,
    name        String,
    scope       Map(String, String),
    budget_window LowCardinality(String),
    amount_usd  Decimal(38, 12),
    thresholds  Array(Float64),
    action      LowCardinality(String),
    deleted     UInt8 DEFAULT 0,
    updated_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS notifications {{ON_CLUSTER}}
(
    id         String,
    dedup_key  String,
    type       LowCardinality(String),
    payload    String,
    created_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(created_at)
ORDER BY dedup_key;

CREATE TABLE IF NOT EXISTS webhooks {{ON_CLUSTER}}
(
    id         String,
    url        String,
    secret     String,
    deleted    UInt8 DEFAULT 0,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS webhook_deliveries {{ON_CLUSTER}}
(
    notification_id String,
    webhook_id      String,
    attempt         UInt16,
    outcome         LowCardinality(String),
    http_status     UInt16,
    error           String,
    attempted_at    DateTime64(3, 'UTC'),
    next_attempt_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = {{REPLICATED}}MergeTree
ORDER BY (notification_id, webhook_id, attempt);
