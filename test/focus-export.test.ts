// FOCUS 1.2 / 1.3 conformance of the monthly export on generated months: LLM tokens in every bucket
// (book-priced, contracted, long-context tier, reported), tool calls, GPU and CPU hours, a unit
// contract, shared-cost allocation, re-pricing, a closed month with late corrections; every rule of
// test/focus-rules.ts on CSV and JSON of both versions, exact sums, and sha256 of closed months.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, type TestApp } from './helper.js';
import { focusViolations, parseCsv, productEquals, sumDecimals, type Row } from './focus-rules.js';

let t: TestApp;
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const get = (url: string, key = 'exp') => t.app.inject({ url, headers: as(key) });
const send = (method: 'POST' | 'PUT', url: string, payload: object = {}) => t.app.inject({ method, url, payload, headers: as('adm') });
const JAN = { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' };
const FEB = { start: '2026-02-01T00:00:00Z', end: '2026-03-01T00:00:00Z' };
const ev = (p: Record<string, unknown>) => makeEvent({ cost_usd: undefined, agent_id: 'agent-1', ...p });

const january = [
  // gpt-4o: 6,000 uncached + 4,000 cached input, 500 output → 0.015 + 0.005 + 0.005
  ev({ timestamp: '2026-01-05T10:00:00Z', product_line_id: 'fx-support', usage: { input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 500 } }),
  // claude under a 20% discount contract: cache write and read buckets
  ev({ timestamp: '2026-01-05T11:00:00Z', product_line_id: 'fx-support', provider: 'anthropic', model: 'claude-x', usage: { input_tokens: 20_000, cache_read_tokens: 12_000, cache_write_tokens: 5_000, output_tokens: 1_000 } }),
  // o3 with reasoning under a 33.333333% discount: the per-event rounding leaves a residue
  ev({ timestamp: '2026-01-06T09:00:00Z', product_line_id: 'fx-search', model: 'o3', usage: { input_tokens: 1_001, output_tokens: 3_001, reasoning_tokens: 2_501 } }),
  // long-context tier: 250,000 input tokens priced at the tier rate
  ev({ timestamp: '2026-01-06T10:00:00Z', product_line_id: 'fx-search', provider: 'google', model: 'gem-long', usage: { input_tokens: 250_000, output_tokens: 2_000 } }),
  ev({ timestamp: '2026-01-07T10:00:00Z', product_line_id: 'fx-search', type: 'tool', tool: 'web_search', model: undefined, usage: undefined }),
  ev({ timestamp: '2026-01-07T11:00:00Z', product_line_id: 'fx-search', type: 'compute', provider: 'runpod', model: undefined, usage: { quantity: '0.5', unit: 'gpu_hours' } }),
  ev({ timestamp: '2026-01-07T12:00:00Z', product_line_id: 'fx-search', type: 'compute', provider: '', model: undefined, usage: { quantity: '12.25', unit: 'cpu_core_hours' } }),
  makeEvent({ timestamp: '2026-01-08T12:00:00Z', product_line_id: 'fx-support', cost_usd: '0.123456789012' }),
  makeEvent({ timestamp: '2026-01-08T13:00:00Z', product_line_id: 'fx-support', type: 'human_escalation', model: undefined, provider: undefined, cost_usd: '4.5', usage: undefined }),
];

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'admin:adm,export:exp,read:rd,ingest:ing', LOAD_PRICE_CATALOG: false, FOCUS_BILLING_ACCOUNT_ID: 'acme-ai', FOCUS_BILLING_ACCOUNT_NAME: 'Acme AI Platform', LOG_LEVEL: process.env.FOCUS_LOG ?? 'silent' });
  const prices = [
    { provider: 'openai', item: 'gpt-4o', input_per_mtok: '2.5', output_per_mtok: '10', cache_read_per_mtok: '1.25' },
    { provider: 'openai', item: 'o3', input_per_mtok: '2', output_per_mtok: '8' },
    { provider: 'anthropic', item: 'claude-x', input_per_mtok: '3', output_per_mtok: '15', cache_read_per_mtok: '0.3', cache_write_per_mtok: '3.75' },
    { provider: 'openai', item: 'web_search', unit: 'calls', per_unit: '0.01' },
    { provider: '', item: '*', unit: 'gpu_hours', per_unit: '2.5' },
    { provider: '', item: '*', unit: 'cpu_core_hours', per_unit: '0.04' },
  ].map((p) => ({ effective_from: '2025-01-01T00:00:00Z', ...p }));
  expect((await send('PUT', '/api/v1/prices', { prices })).statusCode).toBe(200);
  // the long-context tier goes in through the LiteLLM import (the PUT route has no tier fields)
  const tier = await send('POST', '/api/v1/prices/import?effective_from=2025-01-01T00:00:00Z', {
    'google/gem-long': { litellm_provider: 'google', mode: 'chat', input_cost_per_token: 0.00000125, output_cost_per_token: 0.00001, input_cost_per_token_above_200k_tokens: 0.0000025, output_cost_per_token_above_200k_tokens: 0.000015 },
  });
  expect(tier.statusCode).toBe(200);
  expect((await send('PUT', '/api/v1/prices/contracts', { contracts: [
    { provider: 'anthropic', model: 'claude-x', effective_from: '2025-01-01T00:00:00Z', discount_pct: '20' },
    { provider: 'openai', model: 'o3', effective_from: '2025-01-01T00:00:00Z', discount_pct: '33.333333' },
    { provider: 'runpod', model: '', unit: 'gpu_hours', effective_from: '2025-01-01T00:00:00Z', override: { per_unit: '2.1' } },
  ] })).json()).toEqual({ added: 3 });
  await send('PUT', '/api/v1/taxonomy/product-lines/fx-support', { name: 'Customer Support', cost_center: 'CC-100', owner: 'support-team' });
  const receipt = await post(t.app, january, as('ing'));
  expect(receipt.json()).toMatchObject({ accepted: january.length, quarantined: 0, rejected: 0 });
  expect((await send('POST', '/api/v1/shared-costs', { month: '2026-01', name: 'vector cluster', amount_usd: '100.00', method: 'even', product_lines: ['fx-support', 'fx-search'] })).statusCode).toBe(201);
});
afterAll(async () => t.close());

const exportOf = async (month: string, version: '1.2' | '1.3', extra = '') => {
  const csv = await get(`/api/v1/exports/chargeback?month=${month}&format=csv&focus_version=${version}&whole_month=true${extra}`);
  expect(csv.statusCode).toBe(200);
  expect(csv.headers['x-focus-version']).toBe(version);
  return { res: csv, ...parseCsv(csv.body) };
};

describe('FOCUS rules on an open month', () => {
  for (const version of ['1.2', '1.3'] as const) {
    it(`FOCUS ${version}: every expressible rule holds on CSV and JSON`, async () => {
      const { columns, rows, res } = await exportOf('2026-01', version);
      expect(focusViolations(columns, rows, version, JAN)).toEqual([]);
      const json = (await get(`/api/v1/exports/chargeback?month=2026-01&format=json&focus_version=${version}&limit=1000`)).json();
      expect(json.focus_version).toBe(version);
      expect(Object.keys(json.rows[0])).toEqual(columns);
      const asStrings = json.rows.map((r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
      expect(focusViolations(columns, asStrings, version, JAN)).toEqual([]);
      expect(rows.length).toBe(Number(res.headers['x-total-rows']));
      if (process.env.FOCUS_LOG) console.log(rows.map((r) => [r.SkuPriceId, r.ChargeCategory, r.EffectiveCost, r.ListCost, r.x_CostSource].join(' | ')).join('\n'));
      expect(sumDecimals(rows.map((r) => r.EffectiveCost!))).toBe(res.headers['x-total-effective-cost']);
    });
  }

  it('splits each event into one row per SKU price with exact unit price × quantity', async () => {
    const { rows } = await exportOf('2026-01', '1.3');
    const by = (sku: string) => rows.filter((r) => r.SkuPriceId === sku);
    expect(by('openai/gpt-4o/input-tokens')[0]).toMatchObject({ ConsumedQuantity: '6000', PricingQuantity: '0.006', PricingUnit: '1000000 Tokens', ListUnitPrice: '2.5', ListCost: '0.015', EffectiveCost: '0.015' });
    expect(by('openai/gpt-4o/cached-input-tokens')[0]).toMatchObject({ ConsumedQuantity: '4000', ListUnitPrice: '1.25', ListCost: '0.005' });
    expect(by('openai/gpt-4o/output-tokens')[0]).toMatchObject({ ConsumedQuantity: '500', ListUnitPrice: '10', ListCost: '0.005' });
    // 20% off: cache write 5,000 × 3.75 → list 0.01875, contracted 3 per M → 0.015
    expect(by('anthropic/claude-x/cache-write-tokens')[0]).toMatchObject({ ListUnitPrice: '3.75', ContractedUnitPrice: '3', ListCost: '0.01875', ContractedCost: '0.015', BilledCost: '0.015', PricingCategory: 'Standard' });
    expect(by('anthropic/claude-x/input-tokens')[0]).toMatchObject({ ConsumedQuantity: '3000', ContractedUnitPrice: '2.4', ContractedCost: '0.0072' });
    expect(by('openai/o3/reasoning-tokens')[0]).toMatchObject({ ConsumedQuantity: '2501', ListUnitPrice: '8', ContractedUnitPrice: '5.33333336' });
    // tier: all 250,000 input tokens at 2.5 per M (above 200,000)
    expect(by('google/gem-long/input-tokens/above-200000-input-tokens')[0]).toMatchObject({ ListUnitPrice: '2.5', ListCost: '0.625', ConsumedQuantity: '250000' });
    expect(by('openai/web_search/calls')[0]).toMatchObject({ ConsumedQuantity: '1', ConsumedUnit: 'Calls', PricingUnit: 'Calls', ListUnitPrice: '0.01', ListCost: '0.01' });
    expect(by('runpod/compute/gpu_hours')[0]).toMatchObject({ ConsumedUnit: 'GPU-Hours', ListUnitPrice: '2.5', ContractedUnitPrice: '2.1', ListCost: '1.25', ContractedCost: '1.05', ServiceCategory: 'Compute' });
    expect(by('internal/compute/cpu_core_hours')[0]).toMatchObject({ ConsumedUnit: 'Core-Hours', ConsumedQuantity: '12.25', ListCost: '0.49', ServiceProviderName: 'Acme AI Platform' });
    expect(by('openai/gpt-4o/reported')[0]).toMatchObject({ PricingUnit: 'USD', PricingQuantity: '0.123456789012', ListUnitPrice: '1', PricingCategory: 'Other', x_CostSource: 'reported' });
    // the o3 discount rounds per event: what unit price × quantity cannot carry is one Adjustment row
    const residue = rows.filter((r) => r.ChargeCategory === 'Adjustment');
    expect(residue).toHaveLength(1);
    expect(residue[0]).toMatchObject({ SkuPriceId: null, ListUnitPrice: null, PricingQuantity: null, ConsumedQuantity: null, x_CostSource: 'residue', SubAccountId: 'fx-search' });
    expect(rows.every((r) => r.BillingAccountId === 'acme-ai' && r.InvoiceIssuerName === 'Acme AI Platform' && r.InvoiceId === 'acme-ai-2026-01')).toBe(true);
    expect(rows.find((r) => r.SubAccountId === 'fx-support')).toMatchObject({ SubAccountName: 'Customer Support', x_CostCenter: 'CC-100' });
  });

  it('keeps totals equal to the ledger: raw = export usage, shared = allocated, to the last digit', async () => {
    const { rows } = await exportOf('2026-01', '1.3');
    const ledger = (await get('/api/v1/reconciliation?month=2026-01', 'rd')).json();
    expect(ledger).toMatchObject({ reconciled: true, shared_costs_usd: '100', allocated_shared_usd: '100' });
    const usage = rows.filter((r) => !r.x_SharedCostId);
    expect(sumDecimals(usage.map((r) => r.EffectiveCost!))).toBe(ledger.raw_usd);
    const allocated = rows.filter((r) => r.x_SharedCostId);
    expect(allocated.map((r) => [r.SubAccountId, r.EffectiveCost, r.AllocatedMethodId, r.AllocatedResourceId, r.ChargeFrequency])).toEqual([
      ['fx-search', '50', 'even', 'fx-search', 'Recurring'], ['fx-support', '50', 'even', 'fx-support', 'Recurring'],
    ]);
    // list cost: every priced bucket at list plus the residue's list part equals the ledger's list cost
    const [list] = await (await t.app.engine.client.query({ query: "SELECT toString(sum(list_cost_usd)) AS l FROM cost_events WHERE toStartOfMonth(timestamp) = '2026-01-01'", format: 'JSONEachRow' })).json<{ l: string }>();
    expect(sumDecimals(usage.map((r) => r.ListCost!))).toBe(list!.l);
  });
});

describe('closed month, late corrections, hashes', () => {
  let closeFiles: { focus_version: string; sha256: string; bytes: number }[] = [];
  beforeAll(async () => {
    const close = await send('POST', '/api/v1/periods/2026-01/close');
    expect(close.statusCode).toBe(201);
    closeFiles = close.json().files;
    // a late event and a re-pricing of January after the close, and February's own usage
    await post(t.app, [ev({ timestamp: '2026-01-20T10:00:00Z', product_line_id: 'fx-support', usage: { input_tokens: 2_000, output_tokens: 100 } }),
      ev({ timestamp: '2026-02-03T10:00:00Z', product_line_id: 'fx-support', usage: { input_tokens: 1_000, output_tokens: 100 } })], as('ing'));
    await send('PUT', '/api/v1/prices', { prices: [{ provider: 'openai', item: 'gpt-4o', effective_from: '2025-01-01T00:00:00Z', input_per_mtok: '2', output_per_mtok: '10', cache_read_per_mtok: '1.25' }] });
    expect((await send('POST', '/api/v1/reprice', { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', provider: 'openai' })).json().repriced).toBeGreaterThan(0);
  });

  it('serves the frozen statement whose whole-month CSV sha256 is the recorded hash, per version', async () => {
    for (const version of ['1.2', '1.3'] as const) {
      const { res, columns, rows } = await exportOf('2026-01', version);
      const digest = createHash('sha256').update(res.rawPayload).digest('hex');
      expect(res.headers['x-content-sha256']).toBe(digest);
      expect(closeFiles.find((f) => f.focus_version === version)).toMatchObject({ sha256: digest, bytes: res.rawPayload.length });
      expect(focusViolations(columns, rows, version, JAN)).toEqual([]);
    }
    const period = (await get('/api/v1/periods', 'rd')).json().periods.find((p: { month: string }) => p.month === '2026-01');
    expect(period.content_hash).toBe(`sha256:${closeFiles.find((f) => f.focus_version === '1.3')!.sha256}`);
  });

  it('shows late rows in the next open month as Correction rows that keep the FOCUS rules', async () => {
    const { columns, rows } = await exportOf('2026-02', '1.3');
    expect(focusViolations(columns, rows, '1.3', FEB)).toEqual([]);
    const corrections = rows.filter((r) => r.ChargeClass === 'Correction');
    // the late event's buckets at the new price, and the re-pricing of the frozen gpt-4o event (6,000 × −0.5 per M)
    expect(corrections.find((r) => r.SkuPriceId === 'openai/gpt-4o/input-tokens')).toMatchObject({ ConsumedQuantity: '2000', ListUnitPrice: '2', ListCost: '0.004', ChargePeriodStart: '2026-01-20T00:00:00Z' });
    const repricing = corrections.filter((r) => r.SkuPriceId === null);
    if (process.env.FOCUS_LOG) console.log(corrections.map((r) => [r.SkuPriceId, r.ChargeCategory, r.EffectiveCost, r.ListCost, r.x_CostSource, r.ChargeDescription].join(' | ')).join('\n'));
    expect(sumDecimals(repricing.map((r) => r.EffectiveCost!))).toBe('-0.003');
    expect(repricing.every((r) => r.ChargeCategory === 'Usage' && r.ListUnitPrice === null && r.PricingQuantity === null)).toBe(true);
    const rec = (await get('/api/v1/reconciliation?month=2026-02', 'rd')).json();
    expect(rec).toMatchObject({ reconciled: true });
    expect(sumDecimals(corrections.map((r) => r.EffectiveCost!))).toBe(rec.corrections_from_earlier_months_usd);
    expect((await get('/api/v1/reconciliation?month=2026-01', 'rd')).json()).toMatchObject({ reconciled: true, status: 'closed' });
  });

  it('binds cursors to format and version, and documents pages', async () => {
    const first = await get('/api/v1/exports/chargeback?month=2026-02&format=csv&focus_version=1.3&limit=2');
    const cursor = first.headers['x-next-cursor'] as string;
    expect(cursor).toBeTruthy();
    for (const other of ['format=parquet&focus_version=1.3', 'format=csv&focus_version=1.2', 'format=json&focus_version=1.3']) {
      const res = await get(`/api/v1/exports/chargeback?month=2026-02&${other}&limit=2&cursor=${cursor}`);
      expect([res.statusCode, res.json().reason], other).toEqual([400, 'cursor_mismatch']);
    }
    // joining pages: first page whole, later pages without their header line = the whole-month file
    let body = first.body;
    let next: string | undefined = cursor;
    while (next) {
      const page = await get(`/api/v1/exports/chargeback?month=2026-02&format=csv&focus_version=1.3&limit=2&cursor=${next}`);
      body += page.body.slice(page.body.indexOf('\n') + 1);
      next = page.headers['x-next-cursor'] as string | undefined;
    }
    const whole = await get('/api/v1/exports/chargeback?month=2026-02&format=csv&focus_version=1.3&whole_month=true');
    expect(body).toBe(whole.body);
    expect((await get(`/api/v1/exports/chargeback?month=2026-02&format=csv&whole_month=true&cursor=${cursor}`)).json().reason).toBe('invalid_request');
    // a cursor edited to another snapshot than a watermark could be: refused, not a 500
    const edit = (change: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(cursor, 'base64url').toString()), ...change })).toString('base64url');
    for (const s of [1e16, 0, -1, 2.5, Date.now() + 86_400_000]) {
      const res = await get(`/api/v1/exports/chargeback?month=2026-02&format=csv&focus_version=1.3&limit=2&cursor=${edit({ s })}`);
      expect([res.statusCode, res.json().reason], String(s)).toEqual([400, 'invalid_cursor']);
    }
    expect((await get('/api/v1/exports/chargeback?month=2026-02&focus_version=1.1')).statusCode).toBe(400);
  });

  it('writes Parquet with the same rows and exact decimals', async () => {
    const parquet = await get('/api/v1/exports/chargeback?month=2026-01&format=parquet&focus_version=1.3&whole_month=true');
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const file = `${mkdtempSync('/tmp/focus-pq-')}/jan.parquet`;
    writeFileSync(file, parquet.rawPayload);
    const [sum] = await (await t.app.engine.client.query({ query: `SELECT count() AS n, toString(sum(EffectiveCost)) AS total FROM file('${file}', Parquet)`, format: 'JSONEachRow' })).json<{ n: string; total: string }>();
    const csv = await exportOf('2026-01', '1.3');
    expect([Number(sum!.n), sum!.total]).toEqual([csv.rows.length, csv.res.headers['x-total-effective-cost']]);
  });
});

describe('months closed before FOCUS statements', () => {
  it('keep the legacy statement and hash; a re-issue adds a FOCUS statement with its own hash', async () => {
    await post(t.app, [makeEvent({ timestamp: '2025-11-10T00:00:00Z', product_line_id: 'fx-old', cost_usd: '3.3' }), ev({ timestamp: '2025-11-11T00:00:00Z', product_line_id: 'fx-old', usage: { input_tokens: 1000, output_tokens: 10 } })], as('ing'));
    await t.app.ingestor.settle(); // in cost_events before the SQL below rewrites their received_at
    // a legacy close, as the previous version wrote it: statement_rows + a periods row with the old hash
    const { client } = t.app.engine;
    await client.command({ query: `INSERT INTO statement_rows (statement_month, row_no, BillingPeriodStart, BillingPeriodEnd, ChargePeriodStart, ChargePeriodEnd, ChargeCategory, ChargeClass, BilledCost, EffectiveCost, ListCost, ContractedCost, BillingCurrency, ServiceProviderName, ServiceName, ServiceCategory, SkuId, ConsumedQuantity, ConsumedUnit, PricingQuantity, PricingUnit, Tags, x_ProductLine, x_CostCenter, x_Owner, x_Environment, x_Agent, x_BillingMode, x_AllocationMethod, x_SharedCostId, x_EventCount)
      VALUES ('2025-11-01', 1, '2025-11-01', '2025-12-01', '2025-11-10', '2025-11-11', 'Usage', NULL, 3.3, 3.3, 3.3, 3.3, 'USD', 'openai', 'LLM inference', 'AI and Machine Learning', 'gpt-4o', 1200, 'Tokens', 1200, 'Tokens', '{}', 'fx-old', 'unassigned', '', 'production', '', 'chargeback', '', '', 1),
             ('2025-11-01', 2, '2025-11-01', '2025-12-01', '2025-11-11', '2025-11-12', 'Usage', NULL, 0.0021, 0.0021, 0.0021, 0.0021, 'USD', 'openai', 'LLM inference', 'AI and Machine Learning', 'gpt-4o', 1010, 'Tokens', 1010, 'Tokens', '{}', 'fx-old', 'unassigned', '', 'production', '', 'chargeback', '', '', 1)` });
    await client.insert({ table: 'periods', values: [{ month: '2025-11-01', status: 'closed', closed_at: '2025-12-02 00:00:00.000', rows: 2, effective_cost_usd: '3.3021', billed_cost_usd: '3.3021', list_cost_usd: '3.3021', content_hash: 'sha256:legacy' }], format: 'JSONEachRow' });
    // (gpt-4o input is 2 per M by now: 1,000 × 2 + 10 × 10 per M = 0.0021)
    // received_at of these events is now (after the pretend close); pin them before it for the re-issue
    await client.command({ query: "ALTER TABLE cost_events UPDATE received_at = toDateTime64('2025-12-01 00:00:00', 3, 'UTC') WHERE product_line_id = 'fx-old' SETTINGS mutations_sync = 2" });
    const legacy = await get('/api/v1/exports/chargeback?month=2025-11&format=csv&limit=100');
    expect(legacy.headers['x-focus-version']).toBe('legacy');
    expect(legacy.body.split('\n')[0]).toContain('x_ProductLine');
    expect((await get('/api/v1/exports/chargeback?month=2025-11&format=csv&focus_version=1.3')).json()).toMatchObject({ status: 409, reason: 'statement_not_reissued' });
    const reissue = await send('POST', '/api/v1/periods/2025-11/reissue');
    expect(reissue.statusCode).toBe(201);
    expect(reissue.json()).toMatchObject({ legacy_content_hash: 'sha256:legacy', effective_cost_usd: '3.3021' });
    const focus = await exportOf('2025-11', '1.3');
    expect(createHash('sha256').update(focus.res.rawPayload).digest('hex')).toBe(reissue.json().files.find((f: { focus_version: string }) => f.focus_version === '1.3').sha256);
    expect(focusViolations(focus.columns, focus.rows, '1.3', { start: '2025-11-01T00:00:00Z', end: '2025-12-01T00:00:00Z' })).toEqual([]);
    expect((await get('/api/v1/exports/chargeback?month=2025-11&format=csv&limit=100')).body).toBe(legacy.body);
    expect((await get('/api/v1/periods', 'rd')).json().periods.find((p: { month: string }) => p.month === '2025-11').content_hash).toBe('sha256:legacy');
    expect((await send('POST', '/api/v1/periods/2025-11/reissue')).json().reason).toBe('statement_current');
  });

  it('the rule checker itself catches broken rows', () => {
    const good: Row = { ListUnitPrice: '2.5', PricingQuantity: '0.006', ListCost: '0.015' };
    expect(productEquals(good.ListUnitPrice!, good.PricingQuantity!, good.ListCost!)).toBe(true);
    expect(productEquals('2.5', '0.006', '0.0151')).toBe(false);
    const row: Row = { ChargeCategory: 'Usage', ChargeClass: null, ConsumedUnit: 'gpu_hours', PricingUnit: '1M Tokens', SkuPriceId: null, ListUnitPrice: null, BillingCurrency: 'usd', ServiceCategory: 'AI', BillingPeriodStart: JAN.start, BillingPeriodEnd: JAN.end, ChargePeriodStart: JAN.start, ChargePeriodEnd: '2026-01-02T00:00:00.000Z' };
    const found = focusViolations(['BilledCost'], [row], '1.3', JAN).join('\n');
    for (const rule of ['presence: ServiceProviderName missing', 'ConsumedUnit: UnitFormat', 'PricingUnit: UnitFormat', 'SkuPriceId: MUST NOT be null', 'BillingCurrency: CurrencyFormat', 'ServiceCategory: allowed values', 'ChargePeriodEnd: DateTimeFormat']) {
      expect(found).toContain(rule);
    }
  });
});
