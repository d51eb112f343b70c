-- Narrow hourly rollups of the ledger, one per family of questions, sums only (no distinct sets:
-- runs come from run_facts). Each holds a few hundred thousand rows a month however many events
-- arrive, because its dimensions are few and correlated. A query reads the smallest one that has
-- every dimension it groups or filters by; the whole hours of its window come from the rollup and
-- the ragged edges from cost_events (src/costs/plan.ts). Sums are exact Decimal partial sums;
-- AggregatingMergeTree keeps rows whose sums net to zero after a reversal.

-- cost_purchase_hourly: what was bought and by which agent.
CREATE TABLE IF NOT EXISTS cost_purchase_hourly {{ON_CLUSTER}}
(
    hour                DateTime('UTC'),
    product_line_id     LowCardinality(String),
    environment         LowCardinality(String),
    type                LowCardinality(String),
    status              LowCardinality(String),
    provider            LowCardinality(String),
    model               LowCardinality(String),
    tool                LowCardinality(String),
    agent_id            LowCardinality(String),
    agent_version       LowCardinality(String),
    cost_usd            SimpleAggregateFunction(sum, Decimal(38, 12)),
    failed_cost_usd     SimpleAggregateFunction(sum, Decimal(38, 12)),
    events              SimpleAggregateFunction(sum, UInt64),
    input_tokens        SimpleAggregateFunction(sum, UInt64),
    output_tokens       SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens   SimpleAggregateFunction(sum, UInt64),
    cache_write_tokens  SimpleAggregateFunction(sum, UInt64),
    reasoning_tokens    SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (product_line_id, hour, environment, type, status, provider, model, tool, agent_id, agent_version);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_purchase_hourly_mv {{ON_CLUSTER}} TO cost_purchase_hourly AS
SELECT hour, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version,
       s_cost_usd AS cost_usd, s_failed_cost_usd AS failed_cost_usd, s_events AS events, s_input_tokens AS input_tokens, s_output_tokens AS output_tokens, s_cache_read_tokens AS cache_read_tokens, s_cache_write_tokens AS cache_write_tokens, s_reasoning_tokens AS reasoning_tokens
FROM
(
    SELECT
        toStartOfHour(timestamp) AS hour, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version,
        sum(cost_usd) AS s_cost_usd,
        sumIf(cost_usd, status != 'success') AS s_failed_cost_usd,
        countIf(record_type = 'event') AS s_events,
        sum(input_tokens) AS s_input_tokens,
        sum(output_tokens) AS s_output_tokens,
        sum(cache_read_tokens) AS s_cache_read_tokens,
        sum(cache_write_tokens) AS s_cache_write_tokens,
        sum(reasoning_tokens) AS s_reasoning_tokens
    FROM cost_events
    GROUP BY hour, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version
);

-- @backfill cost_purchase_hourly_mv

-- cost_business_hourly: who it was for and why.
CREATE TABLE IF NOT EXISTS cost_business_hourly {{ON_CLUSTER}}
(
    hour                DateTime('UTC'),
    product_line_id     LowCardinality(String),
    environment         LowCardinality(String),
    agent_id            LowCardinality(String),
    agent_version       LowCardinality(String),
    segment             LowCardinality(String),
    intent              LowCardinality(String),
    feature             LowCardinality(String),
    cost_usd            SimpleAggregateFunction(sum, Decimal(38, 12)),
    failed_cost_usd     SimpleAggregateFunction(sum, Decimal(38, 12)),
    events              SimpleAggregateFunction(sum, UInt64),
    input_tokens        SimpleAggregateFunction(sum, UInt64),
    output_tokens       SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens   SimpleAggregateFunction(sum, UInt64),
    cache_write_tokens  SimpleAggregateFunction(sum, UInt64),
    reasoning_tokens    SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (product_line_id, hour, environment, agent_id, agent_version, segment, intent, feature);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_business_hourly_mv {{ON_CLUSTER}} TO cost_business_hourly AS
SELECT hour, product_line_id, environment, agent_id, agent_version, segment, intent, feature,
       s_cost_usd AS cost_usd, s_failed_cost_usd AS failed_cost_usd, s_events AS events, s_input_tokens AS input_tokens, s_output_tokens AS output_tokens, s_cache_read_tokens AS cache_read_tokens, s_cache_write_tokens AS cache_write_tokens, s_reasoning_tokens AS reasoning_tokens
FROM
(
    SELECT
        toStartOfHour(timestamp) AS hour, product_line_id, environment, agent_id, agent_version, segment, intent, feature,
        sum(cost_usd) AS s_cost_usd,
        sumIf(cost_usd, status != 'success') AS s_failed_cost_usd,
        countIf(record_type = 'event') AS s_events,
        sum(input_tokens) AS s_input_tokens,
        sum(output_tokens) AS s_output_tokens,
        sum(cache_read_tokens) AS s_cache_read_tokens,
        sum(cache_write_tokens) AS s_cache_write_tokens,
        sum(reasoning_tokens) AS s_reasoning_tokens
    FROM cost_events
    GROUP BY hour, product_line_id, environment, agent_id, agent_version, segment, intent, feature
);

-- @backfill cost_business_hourly_mv

-- cost_customer_hourly: per customer.
CREATE TABLE IF NOT EXISTS cost_customer_hourly {{ON_CLUSTER}}
(
    hour                DateTime('UTC'),
    product_line_id     LowCardinality(String),
    environment         LowCardinality(String),
    segment             LowCardinality(String),
    customer_id         String,
    cost_usd            SimpleAggregateFunction(sum, Decimal(38, 12)),
    failed_cost_usd     SimpleAggregateFunction(sum, Decimal(38, 12)),
    events              SimpleAggregateFunction(sum, UInt64),
    input_tokens        SimpleAggregateFunction(sum, UInt64),
    output_tokens       SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens   SimpleAggregateFunction(sum, UInt64),
    cache_write_tokens  SimpleAggregateFunction(sum, UInt64),
    reasoning_tokens    SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (product_line_id, hour, environment, segment, customer_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_customer_hourly_mv {{ON_CLUSTER}} TO cost_customer_hourly AS
SELECT hour, product_line_id, environment, segment, customer_id,
       s_cost_usd AS cost_usd, s_failed_cost_usd AS failed_cost_usd, s_events AS events, s_input_tokens AS input_tokens, s_output_tokens AS output_tokens, s_cache_read_tokens AS cache_read_tokens, s_cache_write_tokens AS cache_write_tokens, s_reasoning_tokens AS reasoning_tokens
FROM
(
    SELECT
        toStartOfHour(timestamp) AS hour, product_line_id, environment, segment, customer_id,
        sum(cost_usd) AS s_cost_usd,
        sumIf(cost_usd, status != 'success') AS s_failed_cost_usd,
        countIf(record_type = 'event') AS s_events,
        sum(input_tokens) AS s_input_tokens,
        sum(output_tokens) AS s_output_tokens,
        sum(cache_read_tokens) AS s_cache_read_tokens,
        sum(cache_write_tokens) AS s_cache_write_tokens,
        sum(reasoning_tokens) AS s_reasoning_tokens
    FROM cost_events
    GROUP BY hour, product_line_id, environment, segment, customer_id
);

-- @backfill cost_customer_hourly_mv
