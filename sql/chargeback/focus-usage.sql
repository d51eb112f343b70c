-- FOCUS 1.2 / 1.3 usage rows of one billing month (docs/chargeback.md): per day, product line,
-- environment, agent, SKU and price. Each event is netted first (its original row plus any
-- re-pricing corrections), then split into one row per priced bucket (input, cached input, cache
-- write, output, reasoning tokens, the non-token unit) whose unit price × quantity is exactly its
-- cost; reported / unpriced costs pass through at 1 USD per USD; what neither explains (per-event
-- rounding to 12 decimals) is a residue row. Late rows of closed months come as ChargeClass
-- Correction with their original charge period. Pinned to a received_at snapshot.
SELECT
    toDateTime({billing_start:DateTime64(3, 'UTC')}, 'UTC') AS BillingPeriodStart,
    toDateTime({billing_end:DateTime64(3, 'UTC')}, 'UTC') AS BillingPeriodEnd,
    toDateTime(g.day, 'UTC') AS ChargePeriodStart,
    toDateTime(g.day + toIntervalDay(1), 'UTC') AS ChargePeriodEnd,
    if(g.b = 8 AND NOT g.correction, 'Adjustment', 'Usage') AS ChargeCategory,
    if(g.correction, 'Correction', NULL) AS ChargeClass,
    CAST(if(pl.billing_mode = 'showback', 0, g.c_cost) AS Decimal(38, 18)) AS BilledCost,
    CAST(g.c_cost AS Decimal(38, 18)) AS EffectiveCost,
    CAST(g.l_cost AS Decimal(38, 18)) AS ListCost,
    CAST(g.c_cost AS Decimal(38, 18)) AS ContractedCost,
    if(g.b = 8, NULL, CAST(g.l_price AS Nullable(Decimal(38, 20)))) AS ListUnitPrice,
    if(g.b = 8, NULL, CAST(g.c_price AS Nullable(Decimal(38, 20)))) AS ContractedUnitPrice,
    if(g.b = 8, NULL, CAST(g.pricing_q AS Nullable(Decimal(38, 12)))) AS PricingQuantity,
    if(g.b = 8, NULL, g.pricing_unit) AS PricingUnit,
    if(g.b = 8, NULL, CAST(g.consumed_q AS Nullable(Decimal(38, 12)))) AS ConsumedQuantity,
    if(g.b = 8, NULL, g.consumed_unit) AS ConsumedUnit,
    multiIf(g.b = 8, NULL, g.cost_source = 'book', 'Standard', 'Other') AS PricingCategory,
    'Usage-Based' AS ChargeFrequency,
    'USD' AS BillingCurrency,
    {account_id:String} AS BillingAccountId,
    {account_name:String} AS BillingAccountName,
    {invoice_id:String} AS InvoiceId,
    {account_name:String} AS InvoiceIssuerName,
    g.provider_name AS ProviderName,
    g.provider_name AS PublisherName,
    g.provider_name AS ServiceProviderName,
    if(g.b = 8 AND NOT g.correction, NULL, g.provider_name) AS HostProviderName,
    transform(g.type, ['llm', 'tool', 'compute', 'vector_db', 'payment', 'human_escalation', 'infrastructure', 'outcome'],
              ['LLM inference', 'Tool calls', 'Compute', 'Vector database', 'Payments', 'Human escalation', 'Infrastructure', 'Outcomes'], 'Other') AS ServiceName,
    transform(g.type, ['llm', 'tool', 'compute', 'infrastructure', 'vector_db'],
              ['AI and Machine Learning', 'AI and Machine Learning', 'Compute', 'Compute', 'Databases'], 'Other') AS ServiceCategory,
    transform(g.type, ['llm', 'tool', 'compute', 'infrastructure', 'vector_db'],
              ['Generative AI', 'Other (AI and Machine Learning)', 'Other (Compute)', 'Other (Compute)', 'Other (Databases)'], 'Other (Other)') AS ServiceSubcategory,
    multiIf(g.b = 8 AND NOT g.correction, NULL, g.sku_id) AS SkuId,
    multiIf(g.b = 8 AND NOT g.correction, NULL, g.meter) AS SkuMeter,
    if(g.b = 8, NULL, g.sku_price_id) AS SkuPriceId,
    if(g.b = 8, NULL, toJSONString(map('x_Meter', g.meter, 'x_PriceTier', if(g.tier_label = '', 'base', g.tier_label), 'x_CostSource', g.cost_source))) AS SkuPriceDetails,
    multiIf(
        g.b = 8 AND g.correction, concat(g.item, ': late correction to an invoiced month (re-pricing, reversal or late event without a unit price)'),
        g.b = 8, concat(g.item, ': residue of per-event costs rounded to 12 decimal places, or a cost no unit price × quantity can express'),
        g.b = 7, concat(g.item, ' (', g.provider_name, '): ', if(g.cost_source = 'reported', 'cost reported by the caller', 'no unit price in the price book'), ', passed through at 1 USD per USD'),
        concat(g.item, ' (', g.provider_name, '): ', g.meter, ' at ', toString(g.l_price), ' USD per ', g.pricing_unit, ' list',
               if(g.c_price != g.l_price, concat(', ', toString(g.c_price), ' USD contracted'), ''),
               if(g.tier_label = '', '', concat(' (', g.tier_label, ')')))) AS ChargeDescription,
    g.product_line_id AS SubAccountId,
    if(pl.name = '', g.product_line_id, pl.name) AS SubAccountName,
    toJSONString(map('product_line', g.product_line_id, 'environment', g.environment, 'agent', g.agent_id)) AS Tags,
    CAST(NULL, 'Nullable(String)') AS AllocatedMethodId,
    CAST(NULL, 'Nullable(String)') AS AllocatedMethodDetails,
    CAST(NULL, 'Nullable(String)') AS AllocatedResourceId,
    CAST(NULL, 'Nullable(String)') AS AllocatedResourceName,
    CAST(NULL, 'Nullable(String)') AS AllocatedTags,
    if(pl.cost_center = '', 'unassigned', pl.cost_center) AS x_CostCenter,
    pl.owner AS x_Owner,
    g.environment AS x_Environment,
    g.agent_id AS x_Agent,
    if(pl.billing_mode = '', 'chargeback', pl.billing_mode) AS x_BillingMode,
    if(g.b = 8, 'residue', g.cost_source) AS x_CostSource,
    '' AS x_AllocationMethod,
    '' AS x_SharedCostId,
    g.events AS x_EventCount
FROM
(
    SELECT day, correction, product_line_id, environment, provider_name, type, agent_id, item, b, sku_id, sku_price_id, meter,
           consumed_unit, pricing_unit, tier_label, l_price, c_price, cost_source,
           sum(consumed_q) AS consumed_q, sum(pricing_q) AS pricing_q, sum(l_cost) AS l_cost, sum(c_cost) AS c_cost, sum(events_b) AS events
    FROM
    (
        SELECT
            day, correction, ev_pl AS product_line_id, ev_env AS environment, ev_type AS type, ev_agent AS agent_id, item, b, cost_source,
            transform(lower(ev_provider), ['openai', 'anthropic', 'google', 'vertex_ai', 'gemini', 'azure', 'azure_openai', 'bedrock', 'aws', 'mistral', 'cohere', 'groq', 'deepseek', 'xai', 'together', 'fireworks', 'perplexity', 'openrouter'],
                      ['OpenAI', 'Anthropic', 'Google', 'Google', 'Google', 'Microsoft', 'Microsoft', 'Amazon Web Services', 'Amazon Web Services', 'Mistral AI', 'Cohere', 'Groq', 'DeepSeek', 'xAI', 'Together AI', 'Fireworks AI', 'Perplexity', 'OpenRouter'],
                      if(ev_provider = '', {account_name:String}, ev_provider)) AS provider_name,
            if(b <= 6 AND tier, tier_label_e, '') AS tier_label,
            multiIf(b <= 5, ['Input Tokens', 'Cached Input Tokens', 'Cache Write Tokens', 'Output Tokens', 'Reasoning Tokens'][b],
                    b = 6, unit_display, b = 7, if(cost_source = 'reported', 'Reported Cost', 'Unpriced Usage'), 'Residue') AS meter,
            multiIf(b <= 5, concat(tok_sku, '/', ['input-tokens', 'cached-input-tokens', 'cache-write-tokens', 'output-tokens', 'reasoning-tokens'][b]),
                    b = 6, concat(base_sku, '/', unit_sku), b = 7, concat(base_sku, '/', cost_source), base_sku) AS sku_id,
            multiIf(b <= 5 AND tier, concat(sku_id, '/', replaceAll(tier_label_e, ' ', '-')), sku_id) AS sku_price_id,
            multiIf(b <= 5, 'Tokens', b = 6, unit_display, b = 7, pass_unit, '') AS consumed_unit,
            multiIf(b <= 5, '1000000 Tokens', b = 6, unit_display, b = 7, 'USD', '') AS pricing_unit,
            multiIf(b <= 6, cq[b], b = 7, pass_q, toDecimal128(0, 12)) AS consumed_q,
            multiIf(b <= 6, pq[b], b = 7, toDecimal256(cost, 12), toDecimal256(0, 12)) AS pricing_q,
            multiIf(b <= 6, lp[b], b = 7, toDecimal256(1, 20), NULL) AS l_price,
            multiIf(b <= 6, cp[b], b = 7, toDecimal256(1, 20), NULL) AS c_price,
            multiIf(b <= 6, assumeNotNull(lc[b]), b = 7, toDecimal256(cost, 32), res_l) AS l_cost,
            multiIf(b <= 6, assumeNotNull(cc[b]), b = 7, toDecimal256(cost, 32), res_c) AS c_cost,
            if(b = 8, 0, events) AS events_b
        FROM
        (
            SELECT *,
                arrayMap((x, o) -> if(o, assumeNotNull(x), toDecimal256(0, 32)), lc, ok) AS lcd,
                arrayMap((x, o) -> if(o, assumeNotNull(x), toDecimal256(0, 32)), cc, ok) AS ccd,
                toDecimal256(list_cost, 32) - if(priced, arraySum(lcd), toDecimal256(cost, 32)) AS res_l,
                toDecimal256(cost, 32) - if(priced, arraySum(ccd), toDecimal256(cost, 32)) AS res_c
            FROM
            (
                SELECT *,
                    arrayMap((q, p) -> q * p, pq, lp) AS lc,
                    arrayMap((q, p) -> q * p, pq, cp) AS cc,
                    arrayMap((q, l, c) -> ifNull(priced AND q != 0 AND l = toDecimal256(l, 18) AND c = toDecimal256(c, 18), 0), pq, lc, cc) AS ok
                FROM
                (
                    SELECT *,
                        indexOf({pv_keys:Array(String)}, pv) AS vidx,
                        vidx > 0 AND {pv_tier_above:Array(UInt64)}[vidx] > 0 AND in_t > {pv_tier_above:Array(UInt64)}[vidx] AS tier,
                        if(tier, vidx + length({pv_keys:Array(String)}), vidx) AS pidx,
                        vidx > 0 AND {p_ok:Array(UInt8)}[pidx] = 1 AS priced,
                        multiIf(priced, 'book', pv != '', 'book-unresolved', reported, 'reported', 'unpriced') AS cost_source,
                        {p_tier_label:Array(String)}[pidx] AS tier_label_e,
                        {p_tok_sku:Array(String)}[pidx] AS tok_sku,
                        {p_unit:Array(String)}[pidx] AS unit_sku,
                        transform({p_unit:Array(String)}[pidx], ['characters', 'seconds', 'calls', 'requests', 'gpu_hours', 'cpu_core_hours', 'gb_hours', 'events'],
                                  ['Characters', 'Seconds', 'Calls', 'Requests', 'GPU-Hours', 'Core-Hours', 'GB-Hours', 'Events'], 'Units') AS unit_display,
                        if(events = 0, toDecimal128(0, 12), if(qty = 0, toDecimal128(1, 12), qty)) AS unit_q,
                        [toInt64(in_t) - toInt64(cr_t) - toInt64(cw_t), toInt64(cr_t), toInt64(cw_t), toInt64(out_t) - toInt64(rs_t), toInt64(rs_t)] AS tok,
                        arrayConcat(arrayMap(x -> toDecimal128(x, 12), tok), [toDecimal128(if({p_unit:Array(String)}[pidx] = '', 0, unit_q), 12)]) AS cq,
                        arrayConcat(arrayMap(x -> toDecimal256(x, 12) / 1000000, tok), [toDecimal256(if({p_unit:Array(String)}[pidx] = '', 0, unit_q), 12)]) AS pq,
                        [toDecimal256OrNull({p_in_l:Array(String)}[pidx], 20), toDecimal256OrNull({p_cr_l:Array(String)}[pidx], 20), toDecimal256OrNull({p_cw_l:Array(String)}[pidx], 20),
                         toDecimal256OrNull({p_out_l:Array(String)}[pidx], 20), toDecimal256OrNull({p_rs_l:Array(String)}[pidx], 20), toDecimal256OrNull({p_unit_l:Array(String)}[pidx], 20)] AS lp,
                        [toDecimal256OrNull({p_in_c:Array(String)}[pidx], 20), toDecimal256OrNull({p_cr_c:Array(String)}[pidx], 20), toDecimal256OrNull({p_cw_c:Array(String)}[pidx], 20),
                         toDecimal256OrNull({p_out_c:Array(String)}[pidx], 20), toDecimal256OrNull({p_rs_c:Array(String)}[pidx], 20), toDecimal256OrNull({p_unit_c:Array(String)}[pidx], 20)] AS cp,
                        concat(if(ev_provider = '', 'internal', lower(ev_provider)), '/', item) AS base_sku,
                        multiIf(ev_type = 'llm', toDecimal128(in_t + out_t, 12), qty != 0, qty, toDecimal128(events, 12)) AS pass_q,
                        multiIf(ev_type = 'llm', 'Tokens', qty != 0, transform(ev_unit, ['characters', 'seconds', 'calls', 'requests', 'gpu_hours', 'cpu_core_hours', 'gb_hours', 'events'],
                                  ['Characters', 'Seconds', 'Calls', 'Requests', 'GPU-Hours', 'Core-Hours', 'GB-Hours', 'Events'], 'Units'), ev_type = 'tool', 'Calls', 'Events') AS pass_unit
                    FROM
                    (
                        SELECT
                            event_id, correction,
                            any(toDateTime64(toStartOfDay(timestamp), 3, 'UTC')) AS day,
                            any(product_line_id) AS ev_pl, any(toString(environment)) AS ev_env, any(toString(provider)) AS ev_provider,
                            any(toString(type)) AS ev_type, any(toString(agent_id)) AS ev_agent,
                            any(multiIf(model != '', model, tool != '', tool, toString(type))) AS item,
                            any(toString(unit)) AS ev_unit,
                            sum(input_tokens) AS in_t, sum(output_tokens) AS out_t, sum(cache_read_tokens) AS cr_t,
                            sum(cache_write_tokens) AS cw_t, sum(reasoning_tokens) AS rs_t, sum(quantity) AS qty,
                            sum(cost_usd) AS cost, sum(list_cost_usd) AS list_cost,
                            argMaxIf(price_version, received_at, price_version != '') AS pv,
                            countIf(cost_source = 'reported') > 0 AS reported,
                            countIf(record_type = 'event') AS events
                        FROM cost_events
                        WHERE received_at <= {snapshot:DateTime64(3, 'UTC')}
                          AND ((timestamp >= {month_start:DateTime64(3, 'UTC')} AND timestamp < {month_end:DateTime64(3, 'UTC')})
                               OR arrayExists((s, e, c) -> timestamp >= s AND timestamp < e AND received_at > c,
                                              {late_starts:Array(DateTime64(3, 'UTC'))}, {late_ends:Array(DateTime64(3, 'UTC'))}, {late_closed:Array(DateTime64(3, 'UTC'))}))
                        GROUP BY event_id, NOT (timestamp >= {month_start:DateTime64(3, 'UTC')} AND timestamp < {month_end:DateTime64(3, 'UTC')}) AS correction
                    )
                )
            )
        )
        ARRAY JOIN range(1, 9) AS b
        WHERE (b <= 6 AND ok[b] = 1) OR (b = 7 AND NOT priced) OR (b = 8 AND (res_l != 0 OR res_c != 0))
    )
    GROUP BY day, correction, product_line_id, environment, provider_name, type, agent_id, item, b, sku_id, sku_price_id, meter,
             consumed_unit, pricing_unit, tier_label, l_price, c_price, cost_source
) AS g
LEFT JOIN (SELECT id, name, cost_center, owner, billing_mode FROM product_lines FINAL) AS pl ON pl.id = g.product_line_id
