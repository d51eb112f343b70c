-- Usage per product line over a whole month, as a basis for allocating shared costs.
SELECT product_line_id,
       toString(sum(cost_usd)) AS cost,
       countIf(record_type = 'event') AS events,
       sum(input_tokens + output_tokens) AS tokens,
       countIf(record_type = 'event' AND (tool = {basis_value:String} OR provider = {basis_value:String})) AS requests
FROM cost_events
WHERE timestamp >= {month_start:DateTime64(3, 'UTC')} AND timestamp < {month_end:DateTime64(3, 'UTC')}
GROUP BY product_line_id
HAVING countIf(record_type = 'event') > 0
ORDER BY product_line_id
SETTINGS log_comment = 'chargeback.allocation-basis'
