-- N synthetic cost events generated inside ClickHouse (numbers() + hash functions), so loading 10M
-- takes about a minute instead of an hour of HTTP. Shaped like real agent traffic: events come in
-- runs of 8 (7 costs and 1 outcome); a run belongs to one product line, agent, customer, segment
-- and intent, starts at a random instant of the 30 days from 2026-01-01 and lasts up to ~35 min
-- (so some runs cross an hour), mixes LLM calls on two models with tool calls, and one run in four
-- is a sub-run of the run before it. 1,000 customers each in one segment. Views fire as for any insert.
INSERT INTO cost_events (event_id, timestamp, received_at, type, product_line_id, environment, workflow_id, run_id, parent_run_id,
    agent_id, agent_version, step_name, customer_id, user_id, segment, intent, feature, provider, model, tool,
    input_tokens, output_tokens, cache_read_tokens, cost_usd, list_cost_usd, cost_source, status, attempt, duration_ms, revenue_usd)
SELECT
    concat('gen-', toString(number)) AS event_id,
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(cityHash64(run, 1) % (30 * 86400000 - 3600000) + step * (cityHash64(number, 1) % 300000)) AS timestamp,
    now64(3) - toIntervalHour(1) AS received_at,
    multiIf(step = 7, 'outcome', cityHash64(number, 2) % 4 = 0, 'tool', 'llm') AS type,
    ['support', 'search', 'sales-assist', 'code-review', 'billing-agent'][pl + 1] AS product_line_id,
    if(cityHash64(run, 3) % 10 = 0, 'staging', 'production') AS environment,
    concat('wf-', toString(pl * 10 + cityHash64(run, 4) % 10)) AS workflow_id,
    concat('run-', toString(run)) AS run_id,
    if(run % 4 = 0, '', concat('run-', toString(run - 1))) AS parent_run_id,
    concat('agent-', toString(agent)) AS agent_id,
    concat('v', toString(3 + cityHash64(run, 5) % 2)) AS agent_version,
    ['plan', 'retrieve', 'act', 'review'][step % 4 + 1] AS step_name,
    concat('cust-', toString(customer)) AS customer_id,
    concat('user-', toString(customer * 10 + cityHash64(run, 6) % 10)) AS user_id,
    ['enterprise', 'mid-market', 'smb', 'self-serve'][customer % 4 + 1] AS segment,
    ['refund', 'billing_question', 'bug_report', 'how_to', 'cancel', 'upgrade'][pl % 4 + cityHash64(run, 7) % 3 + 1] AS intent,
    concat('feature-', toString(pl * 2 + cityHash64(run, 8) % 2)) AS feature,
    if(type != 'llm', '', ['openai', 'openai', 'anthropic', 'anthropic', 'google', 'openai'][m + 1]) AS provider,
    if(type != 'llm', '', ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4-5', 'gemini-2.5-pro', 'o3'][m + 1]) AS model,
    if(type = 'tool', ['web_search', 'crm_lookup', 'sql_query', 'send_email'][(agent + cityHash64(number, 16) % 2) % 4 + 1], '') AS tool,
    if(type != 'llm', 0, 200 + cityHash64(number, 9) % 8000) AS input_tokens,
    if(type != 'llm', 0, 20 + cityHash64(number, 10) % 1500) AS output_tokens,
    intDiv(input_tokens * (cityHash64(number, 11) % 50), 100) AS cache_read_tokens,
    multiIf(type = 'tool', toDecimal128('0.005', 12), type = 'outcome', toDecimal128('0', 12), toDecimal128(input_tokens * 25 + output_tokens * 100, 12) / 10000000) AS cost_usd,
    cost_usd AS list_cost_usd,
    'reported' AS cost_source,
    multiIf(step = 7, if(cityHash64(run, 12) % 7 = 0, 'failure', 'success'), cityHash64(number, 12) % 20 = 0, 'error', 'success') AS status,
    toUInt16(if(step > 0 AND cityHash64(number, 17) % 10 = 0, 2, 1)) AS attempt,
    cityHash64(number, 13) % 20000 AS duration_ms,
    if(step = 7 AND status = 'success', toDecimal128(cityHash64(run, 18) % 200, 12) / 100, toDecimal128('0', 12)) AS revenue_usd
FROM
(
    SELECT number, intDiv(number, 8) AS run, number % 8 AS step,
           cityHash64(run, 0) % 5 AS pl, pl * 4 + cityHash64(run, 14) % 4 AS agent, cityHash64(run, 15) % 1000 AS customer,
           -- each agent has a main model and sometimes calls a cheaper one
           if(cityHash64(number, 19) % 3 = 0, (agent + 1) % 6, agent % 6) AS m
    FROM numbers({count:UInt64})
)
