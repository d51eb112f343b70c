-- Daily twins of the narrow hourly rollups, fed by views on the hourly tables (each insert into
-- cost_events reaches them through the hourly view's output block, already aggregated, so they
-- cost little at ingest). A window of whole UTC days reads them and only its edges come from the
-- hourly rollups and raw events: 24 times fewer rows than hourly for a month's dashboard.

CREATE TABLE IF NOT EXISTS cost_purchase_daily {{ON_CLUSTER}}
(
    day                 DateTime('UTC'),
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
PARTITION BY toYYYYMM(day)
ORDER BY (product_line_id, day, environment, type, status, provider, model, tool, agent_id, agent_version);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_purchase_daily_mv {{ON_CLUSTER}} TO cost_purchase_daily AS
SELECT day, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, s_cost_usd AS cost_usd, s_failed_cost_usd AS failed_cost_usd, s_events AS events, s_input_tokens AS input_tokens, s_output_tokens AS output_tokens, s_cache_read_tokens AS cache_read_tokens, s_cache_write_tokens AS cache_write_tokens, s_reasoning_tokens AS reasoning_tokens
FROM
(
    SELECT toStartOfDay(hour) AS day, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, sum(cost_usd) AS s_cost_usd, sum(failed_cost_usd) AS s_failed_cost_usd, sum(events) AS s_events, sum(input_tokens) AS s_input_tokens, sum(output_tokens) AS s_output_tokens, sum(cache_read_tokens) AS s_cache_read_tokens, sum(cache_write_tokens) AS s_cache_write_tokens, sum(reasoning_tokens) AS s_reasoning_tokens
    FROM cost_purchase_hourly
    GROUP BY day, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version
);

-- @backfill cost_purchase_daily_mv

CREATE TABLE IF NOT EXISTS cost_business_daily {{ON_CLUSTER}}
(
    day                 DateTime('UTC'),
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
PARTITION BY toYYYYMM(day)
ORDER BY (product_line_id, day, environment, agent_id, agent_version, segment, intent, feature);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_business_daily_mv {{ON_CLUSTER}} TO cost_business_daily AS
SELECT day, product_line_id, environment, agent_id, agent_version, segment, intent, feature, s_cost_usd AS cost_usd, s_failed_cost_usd AS failed_cost_usd, s_events AS events, s_input_tokens AS input_tokens, s_output_tokens AS output_tokens, s_cache_read_tokens AS cache_read_tokens, s_cache_write_tokens AS cache_write_tokens, s_reasoning_tokens AS reasoning_tokens
FROM
(
    SELECT toStartOfDay(hour) AS day, product_line_id, environment, agent_id, agent_version, segment, intent, feature, sum(cost_usd) AS s_cost_usd, sum(failed_cost_usd) AS s_failed_cost_usd, sum(events) AS s_events, sum(input_tokens) AS s_input_tokens, sum(output_tokens) AS s_output_tokens, sum(cache_read_tokens) AS s_cache_read_tokens, sum(cache_write_tokens) AS s_cache_write_tokens, sum(reasoning_tokens) AS s_reasoning_tokens
    FROM cost_business_hourly
    GROUP BY day, product_line_id, environment, agent_id, agent_version, segment, intent, feature
);

-- @backfill cost_business_daily_mv

CREATE TABLE IF NOT EXISTS cost_customer_daily {{ON_CLUSTER}}
(
    day                 DateTime('UTC'),
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
PARTITION BY toYYYYMM(day)
ORDER BY (product_line_id, day, environment, segment, customer_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_customer_daily_mv {{ON_CLUSTER}} TO cost_customer_daily AS
SELECT day, product_line_id, environment, segment, customer_id, s_cost_usd AS cost_usd, s_failed_cost_usd AS failed_cost_usd, s_events AS events, s_input_tokens AS input_tokens, s_output_tokens AS output_tokens, s_cache_read_tokens AS cache_read_tokens, s_cache_write_tokens AS cache_write_tokens, s_reasoning_tokens AS reasoning_tokens
FROM
(
    SELECT toStartOfDay(hour) AS day, product_line_id, environment, segment, customer_id, sum(cost_usd) AS s_cost_usd, sum(failed_cost_usd) AS s_failed_cost_usd, sum(events) AS s_events, sum(input_tokens) AS s_input_tokens, sum(output_tokens) AS s_output_tokens, sum(cache_read_tokens) AS s_cache_read_tokens, sum(cache_write_tokens) AS s_cache_write_tokens, sum(reasoning_tokens) AS s_reasoning_tokens
    FROM cost_customer_hourly
    GROUP BY day, product_line_id, environment, segment, customer_id
);

-- @backfill cost_customer_daily_mv
