-- Weekly chargeback from the view: per product line, environment and ISO week (Monday, UTC).
SELECT product_line_id, environment, toString(week) AS week,
       toString(sum(token_cost_usd)) AS token_cost_usd, toString(sum(compute_cost_usd)) AS compute_cost_usd,
       toString(sum(tool_cost_usd)) AS tool_cost_usd, toString(sum(other_cost_usd)) AS other_cost_usd,
       toString(sum(total_cost_usd)) AS total_cost_usd, sum(total_tokens) AS total_tokens, sum(events) AS events
FROM weekly_chargeback
WHERE week >= {from:Date} AND week < {to:Date}
  AND environment = {environment:String}
  AND (empty({product_lines:Array(String)}) OR product_line_id IN {product_lines:Array(String)})
  AND ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
GROUP BY product_line_id, environment, week
ORDER BY week, product_line_id
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'chargeback.weekly'
