-- Ledger cost and events per month, narrowed to a key's product lines when it is scoped.
SELECT toString(toStartOfMonth(timestamp)) AS month, toString(sum(cost_usd)) AS cost_usd, countIf(record_type = 'event') AS events
FROM cost_events
WHERE ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
GROUP BY month
ORDER BY month
SETTINGS prefer_column_name_to_alias = 0, log_comment = 'chargeback.period-ledger'
