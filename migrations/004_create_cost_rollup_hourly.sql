-- Hourly rollup of the ledger over the dimensions analysts group by most. Sums are exact
-- (Decimal), distinct runs are exact (uniqExact state), so any answer it gives equals the raw one.
CREATE TABLE IF NOT EXISTS cost_rollup_hourly {{ON_CLUSTER}}
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
    reasoning_tokens    SimpleAggregateFunction(sum, UInt64),
    runs                AggregateFunction(uniqExactIf, String, UInt8)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (product_line_id, hour, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature);

-- The inner query names its sums apart from the source columns: in ClickHouse an alias shadows
-- a column of the same name everywhere in the query (sumIf(cost_usd, …) would see sum(cost_usd)).
CREATE MATERIALIZED VIEW IF NOT EXISTS cost_rollup_hourly_mv {{ON_CLUSTER}} TO cost_rollup_hourly AS
SELECT
    hour, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature,
    s_cost AS cost_usd, s_failed AS failed_cost_usd, s_events AS events,
    s_input AS input_tokens, s_output AS output_tokens, s_cache_read AS cache_read_tokens,
    s_cache_write AS cache_write_tokens, s_reasoning AS reasoning_tokens, s_runs AS runs
FROM
(
    SELECT
        toStartOfHour(timestamp) AS hour,
        product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature,
        sum(cost_usd) AS s_cost,
        sumIf(cost_usd, status != 'success') AS s_failed,
        countIf(record_type = 'event') AS s_events,
        sum(input_tokens) AS s_input,
        sum(output_tokens) AS s_output,
        sum(cache_read_tokens) AS s_cache_read,
        sum(cache_write_tokens) AS s_cache_write,
        sum(reasoning_tokens) AS s_reasoning,
        uniqExactIfState(run_id, toUInt8(run_id != '')) AS s_runs
    FROM cost_events
    GROUP BY hour, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature
);

-- Backfill what the ledger held before the view existed (only while the rollup is still empty).
INSERT INTO cost_rollup_hourly
SELECT
    toStartOfHour(timestamp) AS hour,
    product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature,
    sum(cost_usd), sumIf(cost_usd, status != 'success'), countIf(record_type = 'event'),
    sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens),
    uniqExactIfState(run_id, toUInt8(run_id != ''))
FROM cost_events
WHERE (SELECT count() FROM cost_rollup_hourly) = 0
GROUP BY hour, product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature;
