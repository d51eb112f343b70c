-- Invoice lines of the window's whole UTC days from invoice_lines_daily (migrations/022), summed per
-- line like invoice-lines-raw.sql. Filters name only customer_id and product_line_id, which both
-- tables carry.
SELECT customer_id AS customer, step, source, metric, sum(tokens) AS t, sum(quantity) AS q, sum(events) AS e, sum(cost_usd) AS c
FROM invoice_lines_daily
WHERE day >= {day_from:DateTime('UTC')} AND day < {day_to:DateTime('UTC')}
  {{filters}}
GROUP BY customer, step, source, metric
