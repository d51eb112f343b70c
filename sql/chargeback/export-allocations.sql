-- Shared costs of the month as allocated to product lines: one row per product line and shared
-- cost, charged to the whole month, with the allocation method and shared-cost id.
SELECT
    {billing_start:DateTime64(3, 'UTC')} AS BillingPeriodStart,
    {billing_end:DateTime64(3, 'UTC')} AS BillingPeriodEnd,
    {month_start:DateTime64(3, 'UTC')} AS ChargePeriodStart,
    {month_end:DateTime64(3, 'UTC')} AS ChargePeriodEnd,
    'Usage' AS ChargeCategory,
    CAST(NULL, 'Nullable(String)') AS ChargeClass,
    if(pl.billing_mode = 'showback', toDecimal128(0, 12), a.amount_usd) AS BilledCost,
    a.amount_usd AS EffectiveCost,
    a.amount_usd AS ListCost,
    a.amount_usd AS ContractedCost,
    'USD' AS BillingCurrency,
    'agent-ledger' AS ServiceProviderName,
    s.name AS ServiceName,
    'AI and Machine Learning' AS ServiceCategory,
    concat('shared:', s.id) AS SkuId,
    a.share AS ConsumedQuantity,
    'Share' AS ConsumedUnit,
    a.share AS PricingQuantity,
    'Share' AS PricingUnit,
    toJSONString(map('product_line', a.product_line_id, 'shared_cost', s.name)) AS Tags,
    a.product_line_id AS x_ProductLine,
    if(pl.cost_center = '', 'unassigned', pl.cost_center) AS x_CostCenter,
    pl.owner AS x_Owner,
    'production' AS x_Environment,
    '' AS x_Agent,
    if(pl.billing_mode = '', 'chargeback', pl.billing_mode) AS x_BillingMode,
    toString(s.method) AS x_AllocationMethod,
    s.id AS x_SharedCostId,
    toUInt64(0) AS x_EventCount
FROM (SELECT * FROM shared_cost_allocations FINAL WHERE month = toDate({month_start:DateTime64(3, 'UTC')})) AS a
INNER JOIN (SELECT * FROM shared_costs FINAL WHERE month = toDate({month_start:DateTime64(3, 'UTC')})) AS s ON s.id = a.shared_cost_id
LEFT JOIN (SELECT id, cost_center, owner, billing_mode FROM product_lines FINAL) AS pl ON pl.id = a.product_line_id
