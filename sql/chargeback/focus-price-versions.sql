-- The distinct price versions the month's export rows were priced with (to recover unit prices).
SELECT DISTINCT price_version
FROM cost_events
WHERE price_version != '' AND received_at <= {snapshot:DateTime64(3, 'UTC')}
  AND ((timestamp >= {month_start:DateTime64(3, 'UTC')} AND timestamp < {month_end:DateTime64(3, 'UTC')})
       OR arrayExists((s, e, c) -> timestamp >= s AND timestamp < e AND received_at > c,
                      {late_starts:Array(DateTime64(3, 'UTC'))}, {late_ends:Array(DateTime64(3, 'UTC'))}, {late_closed:Array(DateTime64(3, 'UTC'))}))
SETTINGS log_comment = 'chargeback.focus-price-versions'
