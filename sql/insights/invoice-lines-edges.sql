-- The edges of insights.invoice-lines-daily: the events before the first and after the last whole
-- UTC day of the window, summed per line as the daily table sums them.
UNION ALL
SELECT customer_id AS customer, toString(step_name) AS step,
       multiIf(type = 'llm', if(provider != '', toString(provider), toString(model)), type = 'tool' AND tool != '', toString(tool), toString(type)) AS source,
       multiIf(type = 'llm', 'tokens', unit != '', toString(unit), 'events') AS metric,
       sum(input_tokens + output_tokens) AS t, sum(quantity) AS q, countIf(record_type = 'event') AS e, sum(cost_usd) AS c
FROM cost_events
WHERE ((timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {day_from:DateTime('UTC')}) OR (timestamp >= {day_to:DateTime('UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}))
  AND type != 'outcome'
  {{filters}}
GROUP BY customer, step, source, metric
