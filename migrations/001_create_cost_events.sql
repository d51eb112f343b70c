-- The ledger: one row per priced cost event (record_type 'event'). Later corrections (reversals,
-- re-pricing) are appended as rows of their own and never mutate history.
CREATE TABLE IF NOT EXISTS cost_events {{ON_CLUSTER}}
(
    event_id            String,
    record_type         LowCardinality(String) DEFAULT 'event',
    correction_id       String DEFAULT '',
    timestamp           DateTime64(3, 'UTC'),
    received_at         DateTime64(3, 'UTC') DEFAULT now64(3),
    type                LowCardinality(String),
    product_line_id     LowCardinality(String),
    environment         LowCardinality(String) DEFAULT 'production',

    workflow_id         String DEFAULT '',
    run_id              String DEFAULT '',
    parent_run_id       String DEFAULT '',
    trace_id            String DEFAULT '',
    span_id             String DEFAULT '',
    parent_span_id      String DEFAULT '',

    agent_id            LowCardinality(String) DEFAULT '',
    agent_version       LowCardinality(String) DEFAULT '',
    step_name           LowCardinality(String) DEFAULT '',
    customer_id         String DEFAULT '',
    user_id             String DEFAULT '',
    segment             LowCardinality(String) DEFAULT '',
    intent              LowCardinality(String) DEFAULT '',
    feature             LowCardinality(String) DEFAULT '',
    feature_flag        LowCardinality(String) DEFAULT '',
    priority_tier       LowCardinality(String) DEFAULT '',
    prompt_version      LowCardinality(String) DEFAULT '',

    provider            LowCardinality(String) DEFAULT '',
    model               LowCardinality(String) DEFAULT '',
    tool                LowCardinality(String) DEFAULT '',

    input_tokens        UInt64 DEFAULT 0,
    output_tokens       UInt64 DEFAULT 0,
    cache_read_tokens   UInt64 DEFAULT 0,
    cache_write_tokens  UInt64 DEFAULT 0,
    reasoning_tokens    UInt64 DEFAULT 0,
    quantity            Decimal(38, 12) DEFAULT 0,
    unit                LowCardinality(String) DEFAULT '',
    duration_ms         UInt64 DEFAULT 0,

    -- cost_usd is the effective cost every report sums; list_cost_usd the undiscounted one.
    cost_usd            Decimal(38, 12) DEFAULT 0,
    list_cost_usd       Decimal(38, 12) DEFAULT 0,
    cost_source         LowCardinality(String) DEFAULT 'unpriced',
    price_version       String DEFAULT '',
    revenue_usd         Decimal(38, 12) DEFAULT 0,

    status              LowCardinality(String) DEFAULT 'success',
    attempt             UInt16 DEFAULT 1,
    retry_of            String DEFAULT '',

    attributes          Map(LowCardinality(String), String),

    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_run_id run_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = {{REPLICATED}}MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (product_line_id, toStartOfHour(timestamp), environment, type, event_id);
