-- A closed month's frozen statement totals, only the rows of the given product lines: the legacy
-- statement (x_ProductLine) of months closed before FOCUS statements, else the FOCUS close
-- statement (SubAccountId). A re-issue never counts twice: only 'close' issues are read here.
SELECT toString(statement_month) AS month, count() AS rows,
       toString(sum(EffectiveCost)) AS effective_cost_usd, toString(sum(BilledCost)) AS billed_cost_usd
FROM
(
    SELECT statement_month, EffectiveCost, BilledCost FROM statement_rows WHERE x_ProductLine IN {scope:Array(String)}
    UNION ALL
    SELECT statement_month, toDecimal128(EffectiveCost, 18), toDecimal128(BilledCost, 18) FROM focus_statement_rows
    WHERE SubAccountId IN {scope:Array(String)}
      AND issue_id IN (SELECT issue_id FROM focus_statement_files FINAL WHERE kind = 'close')
)
GROUP BY statement_month
SETTINGS log_comment = 'chargeback.period-statement-scoped'
