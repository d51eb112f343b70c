-- The values of one dimension that spent most in the window (the daily digest).
SELECT {{column}} AS value, toString(sum(cost_usd)) AS cost_usd, countIf(record_type = 'event') AS events
FROM cost_events
WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} AND {{column}} != ''
  AND ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
GROUP BY value
ORDER BY sum(cost_usd) DESC, value
LIMIT {limit:UInt32}
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'anomalies.top-spenders'
