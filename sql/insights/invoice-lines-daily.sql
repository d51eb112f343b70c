-- insights.invoice-lines from the daily invoice lines (migrations/022): the window's whole UTC days
-- from invoice_lines_daily, its edges (a month in a zone that is not UTC starts and ends inside a
-- UTC day) from cost_events, summed per line exactly as sql/insights/invoice-lines.sql sums the
-- raw events. Filters name only customer_id and product_line_id, which both tables carry.
-- The double-brace slots are filled only from fixed fragments in src/insights/customers.ts.
SELECT customer, step, source, metric,
    toString(multiIf(metric = 'tokens', toDecimal128(sum(t), 12), metric = 'events', toDecimal128(sum(e), 12), sum(q))) AS qty,
    toString(sum(c)) AS amount,
    sum(e) AS events
FROM
(
    SELECT customer_id AS customer, step, source, metric, sum(tokens) AS t, sum(quantity) AS q, sum(events) AS e, sum(cost_usd) AS c
    FROM invoice_lines_daily
    WHERE day >= {day_from:DateTime('UTC')} AND day < {day_to:DateTime('UTC')}
      {{filters}}
    GROUP BY customer, step, source, metric
    {{edges}}
)
GROUP BY customer, step, source, metric
SETTINGS log_comment = 'insights.invoice-lines'
