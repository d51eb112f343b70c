-- Invoice lines by UTC day: a month's invoice drafts (/insights/invoices) read a month of every
-- customer's events otherwise (at 100M events: 6.7 s for all customers, 1.8 s for one). One row per
-- (day, customer, product line, step, source, metric) with the sums the drafts need; ordered by
-- customer first, so one customer's month is a key range. Source and metric as in
-- sql/insights/invoice-lines-raw.sql: the provider for LLM calls (else the model), the tool for tool
-- calls, else the event type; tokens for LLM calls, the usage unit when there is one, else events.
-- Corrections carry their original's dimensions and cost but no usage; outcome events carry
-- revenue, not cost, and are left out.

CREATE TABLE IF NOT EXISTS invoice_lines_daily {{ON_CLUSTER}}
(
    day                 DateTime('UTC'),
    customer_id         String,
    product_line_id     LowCardinality(String),
    step                LowCardinality(String),
    source              LowCardinality(String),
    metric              LowCardinality(String),
    tokens              SimpleAggregateFunction(sum, UInt64),
    quantity            SimpleAggregateFunction(sum, Decimal(38, 12)),
    events              SimpleAggregateFunction(sum, UInt64),
    cost_usd            SimpleAggregateFunction(sum, Decimal(38, 12))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (customer_id, day, product_line_id, step, source, metric);

-- The inner query names its aggregates apart from the source columns (an alias shadows a column of
-- the same name everywhere in the query).
CREATE MATERIALIZED VIEW IF NOT EXISTS invoice_lines_daily_mv {{ON_CLUSTER}} TO invoice_lines_daily AS
SELECT day, customer_id, product_line_id, step, source, metric, s_tokens AS tokens, s_quantity AS quantity, s_events AS events, s_cost_usd AS cost_usd
FROM
(
    SELECT toStartOfDay(timestamp) AS day, customer_id, product_line_id, toString(step_name) AS step,
           multiIf(type = 'llm', if(provider != '', toString(provider), toString(model)), type = 'tool' AND tool != '', toString(tool), toString(type)) AS source,
           multiIf(type = 'llm', 'tokens', unit != '', toString(unit), 'events') AS metric,
           sum(input_tokens + output_tokens) AS s_tokens, sum(quantity) AS s_quantity, countIf(record_type = 'event') AS s_events, sum(cost_usd) AS s_cost_usd
    FROM cost_events
    WHERE type != 'outcome'
    GROUP BY day, customer_id, product_line_id, step, source, metric
);

-- @backfill invoice_lines_daily_mv
