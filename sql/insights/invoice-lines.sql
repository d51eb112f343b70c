-- insights.invoice-lines: a month's ledger per customer as invoice lines by step, source (the
-- provider for LLM calls, the tool for tool calls, else the event type) and metric (tokens for LLM
-- calls: input + output, input including cached; the usage unit when the event has one; else events).
-- Corrections carry their original's dimensions and cost but no usage, so amounts net them and
-- quantities count each original once. Outcome events carry revenue, not cost, and are left out.
SELECT
    customer_id AS customer,
    toString(step_name) AS step,
    multiIf(type = 'llm', if(provider != '', toString(provider), toString(model)), type = 'tool' AND tool != '', toString(tool), toString(type)) AS source,
    multiIf(type = 'llm', 'tokens', unit != '', toString(unit), 'events') AS metric,
    toString(multiIf(metric = 'tokens', toDecimal128(sum(input_tokens + output_tokens), 12), metric = 'events', toDecimal128(countIf(record_type = 'event'), 12), sum(quantity))) AS qty,
    toString(sum(cost_usd)) AS amount,
    countIf(record_type = 'event') AS events
FROM cost_events
WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND type != 'outcome'
  {{filters}}
GROUP BY customer, step, source, metric
SETTINGS log_comment = 'insights.invoice-lines'
