-- insights.invoice-lines: a month's ledger per customer as invoice lines by step, source and metric,
-- added up from the {{parts}} (src/insights/customers.ts): the window's raw events
-- (invoice-lines-raw.sql), or its whole UTC days from the daily invoice lines
-- (invoice-lines-daily.sql) and, for a month in a zone other than UTC, the raw events before the
-- first and after the last of them. Each part gives per line the tokens (t), quantity (q), event
-- rows (e) and cost (c); the quantity billed is tokens for LLM calls, events where the metric is
-- events, else the usage quantity. The slots are filled only from fixed fragments.
SELECT customer, step, source, metric,
    toString(multiIf(metric = 'tokens', toDecimal128(sum(t), 12), metric = 'events', toDecimal128(sum(e), 12), sum(q))) AS qty,
    toString(sum(c)) AS amount,
    sum(e) AS events
FROM
(
    {{parts}}
)
GROUP BY customer, step, source, metric
SETTINGS log_comment = 'insights.invoice-lines'
