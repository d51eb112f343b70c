-- Weekly chargeback per product line and environment, from a view on the ledger. Weeks are ISO
-- weeks (Monday start, UTC); a week that straddles two months has one row per month so a month's
-- total can be read from the view. AggregatingMergeTree keeps rows whose sums net to zero
-- (SummingMergeTree would drop them after a full reversal).
-- Categories: token = llm; compute = compute, infrastructure; tool = tool, vector_db; other = the rest.
CREATE TABLE IF NOT EXISTS weekly_chargeback {{ON_CLUSTER}}
(
    week             Date,
    month            Date,
    product_line_id  LowCardinality(String),
    environment      LowCardinality(String),
    token_cost_usd   SimpleAggregateFunction(sum, Decimal(38, 12)),
    compute_cost_usd SimpleAggregateFunction(sum, Decimal(38, 12)),
    tool_cost_usd    SimpleAggregateFunction(sum, Decimal(38, 12)),
    other_cost_usd   SimpleAggregateFunction(sum, Decimal(38, 12)),
    total_cost_usd   SimpleAggregateFunction(sum, Decimal(38, 12)),
    total_tokens     SimpleAggregateFunction(sum, UInt64),
    events           SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(month)
ORDER BY (product_line_id, environment, week, month);

CREATE MATERIALIZED VIEW IF NOT EXISTS weekly_chargeback_mv {{ON_CLUSTER}} TO weekly_chargeback AS
SELECT week, month, product_line_id, environment,
       s_token AS token_cost_usd, s_compute AS compute_cost_usd, s_tool AS tool_cost_usd, s_other AS other_cost_usd,
       s_total AS total_cost_usd, s_tokens AS total_tokens, s_events AS events
FROM
(
    SELECT
        toMonday(timestamp) AS week,
        toStartOfMonth(timestamp) AS month,
        product_line_id, environment,
        sumIf(cost_usd, type = 'llm') AS s_token,
        sumIf(cost_usd, type IN ('compute', 'infrastructure')) AS s_compute,
        sumIf(cost_usd, type IN ('tool', 'vector_db')) AS s_tool,
        sumIf(cost_usd, type NOT IN ('llm', 'compute', 'infrastructure', 'tool', 'vector_db')) AS s_other,
        sum(cost_usd) AS s_total,
        sum(input_tokens + output_tokens) AS s_tokens,
        countIf(record_type = 'event') AS s_events
    FROM cost_events
    GROUP BY week, month, product_line_id, environment
);

-- Backfill what the ledger held before the view existed (only while the view table is empty).
INSERT INTO weekly_chargeback
SELECT toMonday(timestamp), toStartOfMonth(timestamp), product_line_id, environment,
       sumIf(cost_usd, type = 'llm'), sumIf(cost_usd, type IN ('compute', 'infrastructure')),
       sumIf(cost_usd, type IN ('tool', 'vector_db')),
       sumIf(cost_usd, type NOT IN ('llm', 'compute', 'infrastructure', 'tool', 'vector_db')),
       sum(cost_usd), sum(input_tokens + output_tokens), countIf(record_type = 'event')
FROM cost_events
WHERE (SELECT count() FROM weekly_chargeback) = 0
GROUP BY toMonday(timestamp), toStartOfMonth(timestamp), product_line_id, environment;
