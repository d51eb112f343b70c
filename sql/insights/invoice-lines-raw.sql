-- Invoice lines from raw events in {{window}}: source is the provider for LLM calls (else the model),
-- the tool for tool calls, else the event type; metric is tokens for LLM calls (input + output,
-- input including cached), the usage unit when the event has one, else events. Corrections carry
-- their original's dimensions and cost but no usage, so amounts net them and quantities count each
-- original once. Outcome events carry revenue, not cost, and are left out. migrations/022 fills
-- invoice_lines_daily with the same expressions.
SELECT customer_id AS customer, toString(step_name) AS step,
       multiIf(type = 'llm', if(provider != '', toString(provider), toString(model)), type = 'tool' AND tool != '', toString(tool), toString(type)) AS source,
       multiIf(type = 'llm', 'tokens', unit != '', toString(unit), 'events') AS metric,
       sum(input_tokens + output_tokens) AS t, sum(quantity) AS q, countIf(record_type = 'event') AS e, sum(cost_usd) AS c
FROM cost_events
WHERE {{window}}
  AND type != 'outcome'
  {{filters}}
GROUP BY customer, step, source, metric
