-- The UTC days of a re-price window that hold any event of the provider / model asked for, from
-- the daily purchase rollup: the re-price reads only those days (a window of years over a sparse
-- ledger was one candidates query per day, two with the ceiling's dry pass).
SELECT DISTINCT toUnixTimestamp(day) * 1000 AS day_ms
FROM cost_purchase_daily
WHERE day >= toStartOfDay({from:DateTime64(3, 'UTC')}) AND day < {to:DateTime64(3, 'UTC')}
  AND ({provider:String} = '' OR provider = {provider:String})
  AND ({model:String} = '' OR model = {model:String})
ORDER BY day_ms
SETTINGS log_comment = 'pricing.reprice-days'
