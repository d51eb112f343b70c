-- Runs as a first-class fact: one row per (product line, run) once merged, maintained by a view
-- on the ledger, so counting runs is a count() over runs instead of a distinct set of run ids per
-- query. Read it with FINAL (parts not yet merged hold partial rows of the same run).
-- Run attributes (segment, customer, agent, …) are the greatest value the run's events carry
-- (max: any value beats '', and a run whose events agree — the normal case — gets that value);
-- LowCardinality where the values are few, so counting runs by them reads a byte per run.
-- Event-level dimensions (models, tools, …) are the sets of values the run's events used (''
-- included: a run with a tool call has '' among its models).
CREATE TABLE IF NOT EXISTS run_facts {{ON_CLUSTER}}
(
    product_line_id     LowCardinality(String),
    run_id              String,
    started_at          SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    ended_at            SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    environment         SimpleAggregateFunction(max, LowCardinality(String)),
    agent_id            SimpleAggregateFunction(max, LowCardinality(String)),
    agent_version       SimpleAggregateFunction(max, LowCardinality(String)),
    segment             SimpleAggregateFunction(max, LowCardinality(String)),
    intent              SimpleAggregateFunction(max, LowCardinality(String)),
    feature             SimpleAggregateFunction(max, LowCardinality(String)),
    customer_id         SimpleAggregateFunction(max, String),
    user_id             SimpleAggregateFunction(max, String),
    workflow_id         SimpleAggregateFunction(max, String),
    prompt_version      SimpleAggregateFunction(max, LowCardinality(String)),
    parent_run_id       SimpleAggregateFunction(max, String),
    types               SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    statuses            SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    providers           SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    models              SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    tools               SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    steps               SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    events              SimpleAggregateFunction(sum, UInt64),
    cost_usd            SimpleAggregateFunction(sum, Decimal(38, 12)),
    failed_cost_usd     SimpleAggregateFunction(sum, Decimal(38, 12)),
    error_events        SimpleAggregateFunction(sum, UInt64),
    retry_events        SimpleAggregateFunction(sum, UInt64),
    retry_cost_usd      SimpleAggregateFunction(sum, Decimal(38, 12)),
    escalations         SimpleAggregateFunction(sum, UInt64),
    escalation_cost_usd SimpleAggregateFunction(sum, Decimal(38, 12)),
    -- the latest outcome event: (timestamp, status); (epoch, '') when the run has none
    outcome             SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), String)),
    revenue_usd         SimpleAggregateFunction(sum, Decimal(38, 12))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
ORDER BY (product_line_id, run_id);

-- The inner query names its aggregates apart from the source columns: in ClickHouse an alias
-- shadows a column of the same name everywhere in the query.
CREATE MATERIALIZED VIEW IF NOT EXISTS run_facts_mv {{ON_CLUSTER}} TO run_facts AS
SELECT
    product_line_id, run_id,
    s_started_at AS started_at,
    s_ended_at AS ended_at,
    s_environment AS environment,
    s_agent_id AS agent_id,
    s_agent_version AS agent_version,
    s_segment AS segment,
    s_intent AS intent,
    s_feature AS feature,
    s_customer_id AS customer_id,
    s_user_id AS user_id,
    s_workflow_id AS workflow_id,
    s_prompt_version AS prompt_version,
    s_parent_run_id AS parent_run_id,
    s_types AS types,
    s_statuses AS statuses,
    s_providers AS providers,
    s_models AS models,
    s_tools AS tools,
    s_steps AS steps,
    s_events AS events,
    s_cost_usd AS cost_usd,
    s_failed_cost_usd AS failed_cost_usd,
    s_error_events AS error_events,
    s_retry_events AS retry_events,
    s_retry_cost_usd AS retry_cost_usd,
    s_escalations AS escalations,
    s_escalation_cost_usd AS escalation_cost_usd,
    s_outcome AS outcome,
    s_revenue_usd AS revenue_usd
FROM
(
    SELECT
        product_line_id, run_id,
        min(timestamp) AS s_started_at,
        max(timestamp) AS s_ended_at,
        max(environment) AS s_environment,
        max(agent_id) AS s_agent_id,
        max(agent_version) AS s_agent_version,
        max(segment) AS s_segment,
        max(intent) AS s_intent,
        max(feature) AS s_feature,
        max(customer_id) AS s_customer_id,
        max(user_id) AS s_user_id,
        max(workflow_id) AS s_workflow_id,
        max(prompt_version) AS s_prompt_version,
        max(parent_run_id) AS s_parent_run_id,
        groupUniqArray(toString(type)) AS s_types,
        groupUniqArray(toString(status)) AS s_statuses,
        groupUniqArray(toString(provider)) AS s_providers,
        groupUniqArray(toString(model)) AS s_models,
        groupUniqArray(toString(tool)) AS s_tools,
        groupUniqArray(toString(step_name)) AS s_steps,
        countIf(record_type = 'event') AS s_events,
        sum(cost_usd) AS s_cost_usd,
        sumIf(cost_usd, status != 'success') AS s_failed_cost_usd,
        countIf(record_type = 'event' AND status IN ('error', 'timeout', 'cancelled', 'retry')) AS s_error_events,
        countIf(record_type = 'event' AND (attempt > 1 OR retry_of != '')) AS s_retry_events,
        sumIf(cost_usd, attempt > 1 OR retry_of != '') AS s_retry_cost_usd,
        countIf(record_type = 'event' AND type = 'human_escalation') AS s_escalations,
        sumIf(cost_usd, type = 'human_escalation') AS s_escalation_cost_usd,
        max(if(type = 'outcome' AND record_type = 'event', (timestamp, toString(status)), (toDateTime64(0, 3, 'UTC'), ''))) AS s_outcome,
        sum(revenue_usd) AS s_revenue_usd
    FROM cost_events
    WHERE run_id != ''
    GROUP BY product_line_id, run_id
);

-- Existing ledgers: fill run_facts from cost_events, a month at a time (see src/migrate.ts).
-- @backfill run_facts_mv
