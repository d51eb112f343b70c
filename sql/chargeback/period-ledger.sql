-- Ledger cost and events per month, narrowed to a key's product lines when it is scoped. From the
-- daily purchase rollup (every ledger row, corrections included, summed per UTC day; events are its
-- event rows): months are UTC, so whole days add up to them exactly, and the listing reads one row
-- per day and product line instead of the whole ledger (100M events: 824 → 3 ms).
SELECT toString(toStartOfMonth(day)) AS month, toString(sum(cost_usd)) AS cost_usd, sum(events) AS events
FROM cost_purchase_daily
WHERE ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
GROUP BY month
ORDER BY month
SETTINGS prefer_column_name_to_alias = 0, log_comment = 'chargeback.period-ledger'
