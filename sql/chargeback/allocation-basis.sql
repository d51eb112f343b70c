-- Usage per product line over a whole (UTC) month, as a basis for allocating shared costs. From the
-- daily purchase rollup (every ledger row summed per UTC day, product line, type, provider, model
-- and tool; events are its event rows), which adds up to the month exactly without scanning the
-- month's events. The inner query names its sums apart from the columns (an alias shadows a column).
SELECT product_line_id, toString(c) AS cost, e AS events, t AS tokens, r AS requests
FROM
(
    SELECT product_line_id, sum(cost_usd) AS c, sum(events) AS e, sum(input_tokens) + sum(output_tokens) AS t,
           sumIf(events, tool = {basis_value:String} OR provider = {basis_value:String}) AS r
    FROM cost_purchase_daily
    WHERE day >= {month_start:DateTime64(3, 'UTC')} AND day < {month_end:DateTime64(3, 'UTC')}
    GROUP BY product_line_id
)
WHERE e > 0
ORDER BY product_line_id
SETTINGS log_comment = 'chargeback.allocation-basis'
