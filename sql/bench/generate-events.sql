-- N synthetic cost events generated inside ClickHouse (numbers() + hash functions), so loading 10M
-- takes about a minute instead of an hour of HTTP. Correlated like real traffic: each product line
-- has its own agents, each agent one model and one tool; 1,000 customers each in one segment;
-- spread over the 30 days from 2026-01-01. Materialized views fire as for any insert.
INSERT INTO cost_events (event_id, timestamp, received_at, type, product_line_id, environment, workflow_id, run_id,
    agent_id, agent_version, customer_id, user_id, segment, intent, feature, provider, model, tool,
    input_tokens, output_tokens, cache_read_tokens, cost_usd, list_cost_usd, cost_source, status, duration_ms)
SELECT
    concat('gen-', toString(number)) AS event_id,
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(cityHash64(number, 1) % (30 * 86400000)) AS timestamp,
    now64(3) - toIntervalHour(1) AS received_at,
    if(cityHash64(number, 2) % 5 = 0, 'tool', 'llm') AS type,
    ['support', 'search', 'sales-assist', 'code-review', 'billing-agent'][pl + 1] AS product_line_id,
    if(cityHash64(number, 3) % 10 = 0, 'staging', 'production') AS environment,
    concat('wf-', toString(pl * 10 + cityHash64(number, 4) % 10)) AS workflow_id,
    concat('run-', toString(intDiv(number, 8))) AS run_id,
    concat('agent-', toString(agent)) AS agent_id,
    concat('v', toString(3 + cityHash64(number, 5) % 2)) AS agent_version,
    concat('cust-', toString(customer)) AS customer_id,
    concat('user-', toString(customer * 10 + cityHash64(number, 6) % 10)) AS user_id,
    ['enterprise', 'mid-market', 'smb', 'self-serve'][customer % 4 + 1] AS segment,
    ['refund', 'billing_question', 'bug_report', 'how_to', 'cancel', 'upgrade'][pl % 4 + cityHash64(number, 7) % 3 + 1] AS intent,
    concat('feature-', toString(pl * 2 + cityHash64(number, 8) % 2)) AS feature,
    if(type = 'tool', '', ['openai', 'openai', 'anthropic', 'anthropic', 'google', 'openai'][agent % 6 + 1]) AS provider,
    if(type = 'tool', '', ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4-5', 'gemini-2.5-pro', 'o3'][agent % 6 + 1]) AS model,
    if(type = 'tool', ['web_search', 'crm_lookup', 'sql_query', 'send_email'][agent % 4 + 1], '') AS tool,
    if(type = 'tool', 0, 200 + cityHash64(number, 9) % 8000) AS input_tokens,
    if(type = 'tool', 0, 20 + cityHash64(number, 10) % 1500) AS output_tokens,
    intDiv(input_tokens * (cityHash64(number, 11) % 50), 100) AS cache_read_tokens,
    if(type = 'tool', toDecimal128('0.005', 12), toDecimal128(input_tokens * 25 + output_tokens * 100, 12) / 10000000) AS cost_usd,
    cost_usd AS list_cost_usd,
    'reported' AS cost_source,
    if(cityHash64(number, 12) % 20 = 0, 'error', 'success') AS status,
    cityHash64(number, 13) % 20000 AS duration_ms
FROM
(
    SELECT number, cityHash64(number, 0) % 5 AS pl, pl * 4 + cityHash64(number, 14) % 4 AS agent, cityHash64(number, 15) % 1000 AS customer
    FROM numbers({count:UInt64})
)
