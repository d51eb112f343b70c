-- Totals of a month's export over all pages (same filters and snapshot as the pages).
SELECT count() AS rows,
       toString(sum(EffectiveCost)) AS effective_cost_usd, toString(sum(BilledCost)) AS billed_cost_usd,
       toString(sum(ListCost)) AS list_cost_usd,
       toString(sumIf(EffectiveCost, x_SharedCostId != '')) AS allocated_shared_usd,
       toString(sumIf(EffectiveCost, ChargeClass = 'Correction')) AS corrections_usd
FROM ({{rows}})
WHERE ({environment:String} = 'all' OR x_Environment = {environment:String})
  AND ({billing_mode:String} = '' OR x_BillingMode = {billing_mode:String})
SETTINGS log_comment = 'chargeback.export-totals'
