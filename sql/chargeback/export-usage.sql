-- FOCUS-aligned usage rows of one billing month: the month's ledger rows by day, product line,
-- environment, provider, service, SKU and agent, plus late rows of closed months assigned to this
-- month (ChargeClass 'Correction', original charge period). Pinned to a received_at snapshot.
SELECT
    {billing_start:DateTime64(3, 'UTC')} AS BillingPeriodStart,
    {billing_end:DateTime64(3, 'UTC')} AS BillingPeriodEnd,
    u.day AS ChargePeriodStart,
    u.day + toIntervalDay(1) AS ChargePeriodEnd,
    'Usage' AS ChargeCategory,
    if(u.correction, 'Correction', NULL) AS ChargeClass,
    if(pl.billing_mode = 'showback', toDecimal128(0, 12), u.cost) AS BilledCost,
    u.cost AS EffectiveCost,
    u.list_cost AS ListCost,
    u.cost AS ContractedCost,
    'USD' AS BillingCurrency,
    if(u.provider = '', 'internal', u.provider) AS ServiceProviderName,
    transform(u.type, ['llm', 'tool', 'compute', 'vector_db', 'payment', 'human_escalation', 'infrastructure', 'outcome'],
              ['LLM inference', 'Tool calls', 'Compute', 'Vector database', 'Payments', 'Human escalation', 'Infrastructure', 'Outcomes'], 'Other') AS ServiceName,
    'AI and Machine Learning' AS ServiceCategory,
    u.sku AS SkuId,
    u.qty AS ConsumedQuantity,
    u.unit_name AS ConsumedUnit,
    u.qty AS PricingQuantity,
    u.unit_name AS PricingUnit,
    toJSONString(map('product_line', u.product_line_id, 'environment', u.environment, 'agent', u.agent_id)) AS Tags,
    u.product_line_id AS x_ProductLine,
    if(pl.cost_center = '', 'unassigned', pl.cost_center) AS x_CostCenter,
    pl.owner AS x_Owner,
    u.environment AS x_Environment,
    u.agent_id AS x_Agent,
    if(pl.billing_mode = '', 'chargeback', pl.billing_mode) AS x_BillingMode,
    '' AS x_AllocationMethod,
    '' AS x_SharedCostId,
    u.events AS x_EventCount
FROM
(
    SELECT
        toDateTime64(toStartOfDay(timestamp), 3, 'UTC') AS day,
        NOT (timestamp >= {month_start:DateTime64(3, 'UTC')} AND timestamp < {month_end:DateTime64(3, 'UTC')}) AS correction,
        product_line_id, environment, provider, type, agent_id,
        multiIf(model != '', model, tool != '', tool, toString(type)) AS sku,
        if(type = 'llm', 'Tokens', if(unit = '', 'Events', toString(unit))) AS unit_name,
        sum(cost_usd) AS cost,
        sum(list_cost_usd) AS list_cost,
        if(type = 'llm', toDecimal128(sum(input_tokens + output_tokens), 12),
           if(unit = '', toDecimal128(countIf(record_type = 'event'), 12), toDecimal128(sum(quantity), 12))) AS qty,
        countIf(record_type = 'event') AS events
    FROM cost_events
    WHERE received_at <= {snapshot:DateTime64(3, 'UTC')}
      AND ((timestamp >= {month_start:DateTime64(3, 'UTC')} AND timestamp < {month_end:DateTime64(3, 'UTC')})
           OR arrayExists((s, e, c) -> timestamp >= s AND timestamp < e AND received_at > c,
                          {late_starts:Array(DateTime64(3, 'UTC'))}, {late_ends:Array(DateTime64(3, 'UTC'))}, {late_closed:Array(DateTime64(3, 'UTC'))}))
    GROUP BY day, correction, product_line_id, environment, provider, type, agent_id, sku, unit_name, unit
) AS u
LEFT JOIN (SELECT id, cost_center, owner, billing_mode FROM product_lines FINAL) AS pl ON pl.id = u.product_line_id
