-- Every event of these runs with its net cost (original row plus corrections).
SELECT
    event_id,
    anyIf(run_id, record_type = 'event') AS run_id,
    anyIf(parent_run_id, record_type = 'event') AS parent_run_id,
    anyIf(trace_id, record_type = 'event') AS trace_id,
    anyIf(span_id, record_type = 'event') AS span_id,
    anyIf(parent_span_id, record_type = 'event') AS parent_span_id,
    anyIf(product_line_id, record_type = 'event') AS product_line_id,
    anyIf(agent_id, record_type = 'event') AS agent_id,
    anyIf(step_name, record_type = 'event') AS step_name,
    anyIf(type, record_type = 'event') AS type,
    anyIf(model, record_type = 'event') AS model,
    anyIf(tool, record_type = 'event') AS tool,
    anyIf(status, record_type = 'event') AS status,
    anyIf(attempt, record_type = 'event') AS attempt,
    anyIf(retry_of, record_type = 'event') AS retry_of,
    toString(anyIf(timestamp, record_type = 'event')) AS timestamp,
    toString(sum(cost_usd)) AS cost_usd
FROM cost_events
WHERE run_id IN {runs:Array(String)}
GROUP BY event_id
HAVING countIf(record_type = 'event') = 1
ORDER BY min(timestamp), event_id
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'runs.run-events'
