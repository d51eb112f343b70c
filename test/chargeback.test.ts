// Finance: weekly view vs raw, FOCUS export per format, pagination under ingestion, allocation
// exactness, month close with late corrections, showback, reconciliation to the last decimal.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimals, buildTestApp, makeEvent, post, rows, type TestApp } from './helper.js';
import { FOCUS_COLUMNS as FOCUS_COLUMNS_BY_VERSION } from '../src/chargeback/focus.js';

let t: TestApp;
const KEYS = 'admin:adm,export:exp,export:scopedexp:support,read:rd,read:scoped:support,ingest:ing';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const tmp = mkdtempSync(join(tmpdir(), 'agent-ledger-export-'));
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS });
});
afterAll(async () => {
  await t.close();
  rmSync(tmp, { recursive: true, force: true });
});
const get = (url: string, key = 'exp') => t.app.inject({ url, headers: as(key) });
const send = (method: 'POST' | 'PUT', url: string, payload: object = {}, key = 'adm') => t.app.inject({ method, url, payload, headers: as(key) });
const ingest = async (events: Record<string, unknown>[]) => {
  const res = await post(t.app, events, as('ing'));
  expect(res.json().rejected + res.json().quarantined).toBe(0);
  return res.json();
};

// The FOCUS 1.3 columns (the default version); test/focus-export.test.ts checks both versions rule by rule.
const FOCUS_COLUMNS = FOCUS_COLUMNS_BY_VERSION['1.3'];

describe('weekly chargeback', () => {
  const march = [
    makeEvent({ product_line_id: 'wk-a', timestamp: '2026-03-02T10:00:00Z', cost_usd: '1.000000000001', usage: { input_tokens: 100, output_tokens: 10 } }),
    makeEvent({ product_line_id: 'wk-a', timestamp: '2026-03-08T23:59:59.999Z', type: 'tool', tool: 'crm', cost_usd: '0.25', usage: undefined }),
    makeEvent({ product_line_id: 'wk-a', timestamp: '2026-03-09T00:00:00Z', type: 'compute', model: undefined, cost_usd: '2', usage: { quantity: '1', unit: 'gpu_hours' } }),
    makeEvent({ product_line_id: 'wk-a', timestamp: '2026-03-10T00:00:00Z', type: 'human_escalation', model: undefined, cost_usd: '5', usage: undefined }),
    makeEvent({ product_line_id: 'wk-b', timestamp: '2026-03-31T22:00:00Z', cost_usd: '0.5' }),
    makeEvent({ product_line_id: 'wk-b', timestamp: '2026-04-01T01:00:00Z', cost_usd: '0.75' }),
    makeEvent({ product_line_id: 'wk-a', environment: 'staging', timestamp: '2026-03-03T00:00:00Z', cost_usd: '9' }),
  ];
  beforeAll(async () => {
    await ingest(march);
    await ingest(march); // a retried batch adds nothing
  });

  it('splits cost into token / compute / tool / other per ISO week, production only by default', async () => {
    const res = await get('/api/v1/chargeback/weekly?from=2026-03-01&to=2026-04-06&product_line=wk-a,wk-b', 'rd');
    expect(res.statusCode).toBe(200);
    expect(res.json().rows).toEqual([
      { product_line_id: 'wk-a', environment: 'production', week: '2026-03-02', token_cost_usd: '1.000000000001', compute_cost_usd: '0', tool_cost_usd: '0.25', other_cost_usd: '0', total_cost_usd: '1.250000000001', total_tokens: 110, events: 2 },
      { product_line_id: 'wk-a', environment: 'production', week: '2026-03-09', token_cost_usd: '0', compute_cost_usd: '2', tool_cost_usd: '0', other_cost_usd: '5', total_cost_usd: '7', total_tokens: 0, events: 2 },
      { product_line_id: 'wk-b', environment: 'production', week: '2026-03-30', token_cost_usd: '1.25', compute_cost_usd: '0', tool_cost_usd: '0', other_cost_usd: '0', total_cost_usd: '1.25', total_tokens: 2400, events: 2 },
    ]);
    // an unknown parameter is named in the problem (not "querystring querystring")
    const unknown = (await get('/api/v1/chargeback/weekly?week_start=sunday', 'rd')).json();
    expect(unknown).toMatchObject({ status: 400, reason: 'invalid_request', detail: 'querystring week_start: unknown parameter', errors: [{ parameter: 'week_start', message: 'unknown parameter' }] });
    const staging = (await get('/api/v1/chargeback/weekly?from=2026-03-01&to=2026-04-06&product_line=wk-a&environment=staging', 'rd')).json();
    expect(staging.rows).toEqual([expect.objectContaining({ environment: 'staging', week: '2026-03-02', total_cost_usd: '9' })]);
  });

  it('equals a raw GROUP BY on the same data, also after re-pricing corrections', async () => {
    const compare = async () => {
      const raw = await rows<{ pl: string; env: string; week: string; total: string; events: number }>(t.app,
        "SELECT product_line_id AS pl, environment AS env, toString(toMonday(timestamp)) AS week, toString(sum(cost_usd)) AS total, toUInt64(countIf(record_type = 'event')) AS events FROM cost_events GROUP BY pl, env, week ORDER BY week, pl, env");
      for (const env of ['production', 'staging', 'development']) {
        const view = (await get(`/api/v1/chargeback/weekly?from=2000-01-03&to=2100-01-04&environment=${env}`, 'rd')).json().rows as { product_line_id: string; week: string; total_cost_usd: string; events: number }[];
        expect(view.map((r) => [r.product_line_id, r.week, r.total_cost_usd, r.events])).toEqual(raw.filter((r) => r.env === env).map((r) => [r.pl, r.week, r.total, r.events]));
      }
    };
    await compare();
    await send('PUT', '/api/v1/prices', { prices: [{ provider: 'wk', item: 'wk-model', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '1' }] });
    await ingest([makeEvent({ product_line_id: 'wk-a', provider: 'wk', model: 'wk-model', cost_usd: undefined, timestamp: '2026-03-04T00:00:00Z', usage: { input_tokens: 1_000_000, output_tokens: 0 } })]);
    await send('PUT', '/api/v1/prices', { prices: [{ provider: 'wk', item: 'wk-model', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '0.3', output_per_mtok: '1' }] });
    expect((await send('POST', '/api/v1/reprice', { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z', provider: 'wk' })).json()).toMatchObject({ repriced: 1, delta_usd: '-0.7' });
    await compare();
  });

  it('the periods listing: ledger cost and events per month equal the raw ledger, scoped or not, corrections included', async () => {
    // Events at a month boundary, in months no other test reads (a correction from the re-pricing above is in March).
    await ingest([
      makeEvent({ product_line_id: 'wk-a', timestamp: '2025-07-31T23:59:59.999Z', cost_usd: '0.000000000007' }),
      makeEvent({ product_line_id: 'support', timestamp: '2025-08-01T00:00:00Z', cost_usd: '2.5' }),
    ]);
    for (const [key, scope] of [['rd', undefined], ['scoped', ['support']]] as const) {
      const raw = await rows<{ month: string; cost: string; events: string }>(t.app,
        `SELECT substring(toString(toStartOfMonth(timestamp)), 1, 7) AS month, toString(sum(cost_usd)) AS cost, toString(countIf(record_type = 'event')) AS events FROM cost_events ${scope ? "WHERE product_line_id = 'support'" : ''} GROUP BY month ORDER BY month`);
      const listed = (await get('/api/v1/periods', key)).json().periods as { month: string; ledger_cost_usd: string; events?: number | string; status: string }[];
      const open = listed.filter((p) => p.status === 'open' && p.ledger_cost_usd !== '0');
      expect(raw.length).toBeGreaterThan(scope ? 0 : 2);
      expect(open.map((p) => [p.month, p.ledger_cost_usd, String(p.events)])).toEqual(raw.filter((r) => open.some((p) => p.month === r.month)).map((r) => [r.month, r.cost, r.events]));
      for (const r of raw) expect(listed.find((p) => p.month === r.month)?.ledger_cost_usd, `${key} ${r.month}`).toBe(r.cost);
      // closed months give the ledger's events too, like open ones
      for (const r of raw) expect(String(listed.find((p) => p.month === r.month)?.events), `${key} ${r.month} events`).toBe(r.events);
    }
  });
});

describe('monthly export', () => {
  const april = Array.from({ length: 30 }, (_, i) => makeEvent({
    product_line_id: ['ex-a', 'ex-b', 'ex-c'][i % 3], timestamp: `2026-04-${String((i % 28) + 1).padStart(2, '0')}T12:00:00Z`,
    agent_id: `agent-${i % 4}`, model: ['gpt-4o', 'o3'][i % 2], cost_usd: `0.${String(1000 + i * 37)}`,
  }));
  // April also holds wk-b's 0.75 from the weekly fixture (a week that straddles March and April).
  const aprilTotal = addDecimals([...april.map((e) => e.cost_usd as string), '0.75']);
  beforeAll(async () => {
    await send('PUT', '/api/v1/taxonomy/product-lines/ex-a', { name: 'Export A', cost_center: 'CC-A', owner: 'team-a' });
    await ingest(april);
  });

  it('returns FOCUS columns as JSON, with totals and unassigned cost centers', async () => {
    const res = await get('/api/v1/exports/chargeback?month=2026-04&format=json&limit=1000');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.totals).toMatchObject({ effective_cost_usd: aprilTotal, billed_cost_usd: aprilTotal, allocated_shared_usd: '0', corrections_usd: '0' });
    expect(Object.keys(body.rows[0])).toEqual(FOCUS_COLUMNS);
    expect(body.rows[0]).toMatchObject({ BillingPeriodStart: '2026-04-01T00:00:00Z', BillingPeriodEnd: '2026-05-01T00:00:00Z', ChargeCategory: 'Usage', ChargeClass: null, BillingCurrency: 'USD', ServiceCategory: 'AI and Machine Learning', ServiceSubcategory: 'Generative AI', ServiceName: 'LLM inference', ConsumedUnit: 'Tokens', PricingUnit: 'USD', x_CostSource: 'reported' });
    const centers = new Map(body.rows.map((r: { SubAccountId: string; x_CostCenter: string }) => [r.SubAccountId, r.x_CostCenter]));
    expect(centers.get('ex-a')).toBe('CC-A');
    expect(centers.get('ex-b')).toBe('unassigned');
    expect(addDecimals(body.rows.map((r: { EffectiveCost: string }) => r.EffectiveCost))).toBe(aprilTotal);
  });

  it('produces the same rows as CSV, NDJSON and Parquet (read back through ClickHouse)', async () => {
    const json = (await get('/api/v1/exports/chargeback?month=2026-04&format=json&limit=1000')).json();
    const csv = await get('/api/v1/exports/chargeback?month=2026-04&format=csv&limit=1000');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...lines] = csv.body.trim().split('\n');
    expect(header!.split(',').map((h) => JSON.parse(h))).toEqual(FOCUS_COLUMNS);
    expect(lines).toHaveLength(json.rows.length);
    const effective = FOCUS_COLUMNS.indexOf('EffectiveCost');
    expect(addDecimals(lines.map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)![effective]!.replace(/,$/, '')))).toBe(json.totals.effective_cost_usd);
    expect(csv.headers['x-total-effective-cost']).toBe(json.totals.effective_cost_usd);
    const nd = await get('/api/v1/exports/chargeback?month=2026-04&format=ndjson&limit=1000');
    expect(nd.body.trim().split('\n').map((l) => JSON.parse(l))).toEqual(json.rows);
    const parquet = await get('/api/v1/exports/chargeback?month=2026-04&format=parquet&limit=1000');
    expect(parquet.headers['content-type']).toBe('application/vnd.apache.parquet');
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    const file = join(tmp, 'april.parquet');
    writeFileSync(file, parquet.rawPayload);
    const types = await rows<{ name: string; type: string }>(t.app, `DESCRIBE file('${file}', Parquet)`);
    expect(types.map((c) => c.name)).toEqual(FOCUS_COLUMNS);
    expect(types.find((c) => c.name === 'EffectiveCost')!.type).toMatch(/Decimal\(38, 18\)/);
    expect(types.find((c) => c.name === 'ChargePeriodStart')!.type).toMatch(/DateTime/);
    const [sum] = await rows<{ n: number; total: string }>(t.app, `SELECT count() AS n, toString(sum(EffectiveCost)) AS total FROM file('${file}', Parquet)`);
    expect(sum).toEqual({ n: json.rows.length, total: json.totals.effective_cost_usd });
  });

  it('walks pages over a stable snapshot while events keep arriving', async () => {
    const first = (await get('/api/v1/exports/chargeback?month=2026-04&format=json&limit=4')).json();
    const seen = new Set<string>();
    const costs: string[] = [];
    let page = first;
    let n = 0;
    for (;;) {
      for (const r of page.rows) {
        const key = JSON.stringify(r);
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        costs.push(r.EffectiveCost);
      }
      expect(page.totals).toEqual(first.totals);
      await ingest([makeEvent({ product_line_id: 'ex-late', timestamp: `2026-04-0${(n % 9) + 1}T08:00:00Z`, cost_usd: '100' })]);
      n++;
      if (!page.next_cursor) break;
      page = (await get(`/api/v1/exports/chargeback?month=2026-04&format=json&limit=4&cursor=${page.next_cursor}`)).json();
    }
    expect(seen.size).toBe(first.totals.rows);
    expect(addDecimals(costs)).toBe(first.totals.effective_cost_usd);
    const now = (await get('/api/v1/exports/chargeback?month=2026-04&format=json&limit=1')).json();
    expect(now.totals.rows).toBeGreaterThan(first.totals.rows);
    const csvPage = await get('/api/v1/exports/chargeback?month=2026-04&format=csv&limit=2');
    expect(csvPage.headers['x-next-cursor']).toBeTruthy();
    expect(csvPage.headers.link).toMatch(/format=csv.*cursor=/);
    const mismatch = await get(`/api/v1/exports/chargeback?month=2026-05&format=json&limit=4&cursor=${first.next_cursor}`);
    expect([mismatch.statusCode, mismatch.json().reason]).toEqual([400, 'cursor_mismatch']);
  });
});

describe('shared-cost allocation', () => {
  beforeAll(async () => {
    await ingest([
      ...['al-a', 'al-b', 'al-c', 'al-d', 'al-e', 'al-f', 'al-g'].map((pl, i) => makeEvent({ product_line_id: pl, timestamp: '2026-05-10T00:00:00Z', cost_usd: String(i + 1), tool: i < 2 ? 'vector_search' : undefined })),
    ]);
  });
  const sumOf = (allocs: { amount_usd: string }[]) => addDecimals(allocs.map((a) => a.amount_usd));

  it('splits $100.00 evenly over 3 lines into 33.34 + 33.33 + 33.33', async () => {
    const res = await send('POST', '/api/v1/shared-costs', { month: '2026-05', name: 'platform', amount_usd: '100.00', method: 'even', product_lines: ['al-a', 'al-b', 'al-c'] });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.allocations.map((a: { product_line_id: string; amount_usd: string }) => [a.product_line_id, a.amount_usd])).toEqual([['al-a', '33.34'], ['al-b', '33.33'], ['al-c', '33.33']]);
    expect(sumOf(body.allocations)).toBe('100');
    const audit = (await get(`/api/v1/shared-costs/${body.id}/allocation`, 'rd')).json();
    expect(audit).toMatchObject({ id: body.id, month: '2026-05', method: 'even', amount_usd: '100', allocated_usd: '100' });
    expect(audit.allocations).toEqual(body.allocations);
  });

  it('gives $0.01 over 7 lines to exactly one of them', async () => {
    const body = (await send('POST', '/api/v1/shared-costs', { month: '2026-05', name: 'penny', amount_usd: '0.01', method: 'even', product_lines: ['al-a', 'al-b', 'al-c', 'al-d', 'al-e', 'al-f', 'al-g'] })).json();
    expect(body.allocations.filter((a: { amount_usd: string }) => a.amount_usd === '0.01')).toHaveLength(1);
    expect(body.allocations.filter((a: { amount_usd: string }) => a.amount_usd === '0')).toHaveLength(6);
    expect(sumOf(body.allocations)).toBe('0.01');
  });

  it('allocates proportionally to cost, to requests to a named tool, and by fixed weights', async () => {
    // Costs 1..7 over the seven lines (sum 28): $10.00 × k / 28 with largest remainders.
    const byCost = (await send('POST', '/api/v1/shared-costs', { month: '2026-05', name: 'by cost', amount_usd: '10.00', method: 'proportional', basis: 'cost', product_lines: ['al-a', 'al-b', 'al-c', 'al-d', 'al-e', 'al-f', 'al-g'] })).json();
    expect(byCost.allocations.map((a: { amount_usd: string }) => a.amount_usd)).toEqual(['0.36', '0.71', '1.07', '1.43', '1.79', '2.14', '2.5']);
    expect(sumOf(byCost.allocations)).toBe('10');
    const byRequests = (await send('POST', '/api/v1/shared-costs', { month: '2026-05', name: 'vector cluster', amount_usd: '50.00', method: 'proportional', basis: 'requests', basis_value: 'vector_search' })).json();
    expect(byRequests.allocations.map((a: { product_line_id: string; amount_usd: string }) => [a.product_line_id, a.amount_usd])).toEqual([['al-a', '25'], ['al-b', '25']]);
    const fixed = (await send('POST', '/api/v1/shared-costs', { month: '2026-05', name: 'fixed', amount_usd: '1.00', method: 'fixed', weights: { 'al-a': '1', 'al-b': '1', 'al-c': '1' } })).json();
    expect(fixed.allocations.map((a: { amount_usd: string }) => a.amount_usd)).toEqual(['0.34', '0.33', '0.33']);
  });

  it('shows allocated rows in the export and reconciles to zero', async () => {
    const body = (await get('/api/v1/exports/chargeback?month=2026-05&format=json&limit=10000')).json();
    const allocated = body.rows.filter((r: { x_SharedCostId: string }) => r.x_SharedCostId);
    expect(allocated.length).toBe(3 + 7 + 7 + 2 + 3);
    expect(allocated[0]).toMatchObject({ ChargeCategory: 'Usage', ConsumedUnit: 'Share', PricingUnit: 'USD', ListUnitPrice: '1' });
    expect(new Set(allocated.map((r: { AllocatedMethodId: string }) => r.AllocatedMethodId.split(':')[0]))).toEqual(new Set(['even', 'proportional', 'fixed']));
    expect(body.totals.allocated_shared_usd).toBe('161.01');
    const rec = (await get('/api/v1/reconciliation?month=2026-05', 'rd')).json();
    expect(rec).toMatchObject({ shared_costs_usd: '161.01', allocated_shared_usd: '161.01', reconciled: true });
  });

  it('refuses bad requests with reasons', async () => {
    const cases: [object, number, string][] = [
      [{ month: '2026-05', name: 'x', amount_usd: '1.001', method: 'even' }, 400, 'amount_usd'],
      [{ month: '2026-5', name: 'x', amount_usd: '1', method: 'even' }, 400, 'month'],
      [{ month: '2026-05', name: 'x', amount_usd: '1', method: 'fixed' }, 400, 'weights'],
      [{ month: '2026-05', name: 'x', amount_usd: '1', method: 'proportional', basis: 'requests' }, 400, 'basis_value'],
      [{ month: '2026-05', name: 'x', amount_usd: '1', method: 'even', product_lines: ['nobody'] }, 422, ''],
    ];
    for (const [payload, status, parameter] of cases) {
      const res = await send('POST', '/api/v1/shared-costs', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      if (parameter) expect(res.json().errors.map((e: { parameter: string }) => e.parameter)).toContain(parameter);
      else expect(res.json().reason).toBe('no_allocation_basis');
    }
    expect((await send('POST', '/api/v1/shared-costs', { month: '2026-05', name: 'x', amount_usd: '1', method: 'even' }, 'exp')).statusCode).toBe(403);
  });
});

describe('month close and late events', () => {
  beforeAll(async () => {
    await ingest([
      makeEvent({ product_line_id: 'close-a', timestamp: '2026-01-10T00:00:00Z', cost_usd: '10' }),
      makeEvent({ product_line_id: 'close-a', timestamp: '2026-01-31T23:59:59.999Z', cost_usd: '0.333333333333' }),
      makeEvent({ product_line_id: 'close-a', timestamp: '2026-02-03T00:00:00Z', cost_usd: '1' }),
    ]);
  });

  it('freezes the statement; late events become corrections in the next open month; totals reconcile', async () => {
    const close = await send('POST', '/api/v1/periods/2026-01/close');
    expect(close.statusCode).toBe(201);
    const period = close.json();
    expect(period).toMatchObject({ month: '2026-01', status: 'closed', content_hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const before = await get('/api/v1/exports/chargeback?month=2026-01&format=csv&limit=100000');
    expect(before.headers['x-period-status']).toBe('closed');
    expect(before.headers['x-total-effective-cost']).toBe(period.effective_cost_usd);

    const late = makeEvent({ product_line_id: 'close-a', timestamp: '2026-01-15T00:00:00Z', cost_usd: '7.5' });
    await ingest([late]);
    await ingest([late]); // and its retry
    const after = await get('/api/v1/exports/chargeback?month=2026-01&format=csv&limit=100000');
    expect(after.body).toBe(before.body);
    expect((await get('/api/v1/periods', 'rd')).json().periods.find((p: { month: string }) => p.month === '2026-01')).toMatchObject({ status: 'closed', content_hash: period.content_hash, effective_cost_usd: period.effective_cost_usd });

    const feb = (await get('/api/v1/exports/chargeback?month=2026-02&format=json&limit=10000')).json();
    const corrections = feb.rows.filter((r: { ChargeClass: string | null }) => r.ChargeClass === 'Correction');
    expect(corrections).toEqual([expect.objectContaining({ SubAccountId: 'close-a', EffectiveCost: '7.5', ChargePeriodStart: '2026-01-15T00:00:00Z', BillingPeriodStart: '2026-02-01T00:00:00Z' })]);
    expect(feb.totals.corrections_usd).toBe('7.5');

    const jan = (await get('/api/v1/reconciliation?month=2026-01', 'rd')).json();
    expect(jan).toMatchObject({ status: 'closed', late_after_close_usd: '7.5', reconciled: true, differences: { raw_minus_weekly: '0', raw_minus_export_and_late: '0', shared_minus_allocated: '0' } });
    expect((await get('/api/v1/reconciliation?month=2026-02', 'rd')).json()).toMatchObject({ status: 'open', corrections_from_earlier_months_usd: '7.5', reconciled: true });

    expect((await send('POST', '/api/v1/periods/2026-01/close')).json()).toMatchObject({ status: 409, reason: 'period_closed' });
    expect((await send('POST', '/api/v1/periods/2099-01/close')).json()).toMatchObject({ status: 409, reason: 'period_not_ended' });
    expect((await send('POST', '/api/v1/periods/2026-02/close', {}, 'exp')).statusCode).toBe(403);
    expect((await send('POST', '/api/v1/shared-costs', { month: '2026-01', name: 'x', amount_usd: '1', method: 'even' })).json().reason).toBe('period_closed');
  });

  it('bills the first month the ledger takes (2000-01): export, reconciliation and close, not a 400 about the month before', async () => {
    await ingest([makeEvent({ product_line_id: 'y2k', timestamp: '2000-01-01T00:00:00Z', cost_usd: '2.5' })]);
    const jan2000 = await get('/api/v1/exports/chargeback?month=2000-01&format=json');
    expect(jan2000.statusCode).toBe(200);
    expect(jan2000.json().rows).toEqual([expect.objectContaining({ SubAccountId: 'y2k', EffectiveCost: '2.5' })]);
    expect((await get('/api/v1/reconciliation?month=2000-01', 'rd')).json()).toMatchObject({ status: 'open', raw_usd: '2.5', reconciled: true });
    const close = await send('POST', '/api/v1/periods/2000-01/close');
    expect([close.statusCode, close.json().effective_cost_usd]).toEqual([201, '2.5']);
    // a closed month in the listing carries the ledger's cost and events like an open one
    expect((await get('/api/v1/periods', 'rd')).json().periods.find((p: { month: string }) => p.month === '2000-01')).toMatchObject({ status: 'closed', ledger_cost_usd: '2.5', events: 1 });
    expect((await get('/api/v1/exports/chargeback?month=1999-12')).json()).toMatchObject({ status: 400, reason: 'invalid_request' });
  });
});

describe('showback', () => {
  beforeAll(async () => {
    await send('PUT', '/api/v1/taxonomy/product-lines/sb-research', { name: 'Research', cost_center: 'CC-R', billing_mode: 'showback' });
    await ingest([
      makeEvent({ product_line_id: 'sb-research', timestamp: '2026-06-05T00:00:00Z', cost_usd: '4.2' }),
      makeEvent({ product_line_id: 'sb-billed', timestamp: '2026-06-05T00:00:00Z', cost_usd: '1.3' }),
    ]);
  });

  it('reports showback lines with their cost but bills nothing, and filters the showback report', async () => {
    const all = (await get('/api/v1/exports/chargeback?month=2026-06&format=json')).json();
    expect(all.totals).toMatchObject({ effective_cost_usd: '5.5', billed_cost_usd: '1.3' });
    const showback = (await get('/api/v1/exports/chargeback?month=2026-06&format=json&billing_mode=showback')).json();
    expect(showback.rows).toEqual([expect.objectContaining({ SubAccountId: 'sb-research', x_BillingMode: 'showback', EffectiveCost: '4.2', BilledCost: '0', x_CostCenter: 'CC-R' })]);
  });
});

describe('reconciliation and access', () => {
  it('is zero for every month with data, after duplicates, re-pricing and late events', async () => {
    for (const month of ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06']) {
      const rec = (await get(`/api/v1/reconciliation?month=${month}`, 'rd')).json();
      expect(rec.reconciled, `${month}: ${JSON.stringify(rec)}`).toBe(true);
    }
  });

  it('refuses bad months, scoped keys and unknown formats', async () => {
    for (const url of ['/api/v1/exports/chargeback?month=2026-13', '/api/v1/exports/chargeback?month=26-01', "/api/v1/exports/chargeback?month=2026-01'--", '/api/v1/exports/chargeback?month=2026-01&format=xlsx', '/api/v1/exports/chargeback?month=2026-01&limit=0']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    expect((await get('/api/v1/exports/chargeback?month=2026-01', 'scopedexp')).json()).toMatchObject({ status: 403, reason: 'forbidden_scope' });
    expect((await get('/api/v1/exports/chargeback?month=2026-01', 'rd')).statusCode).toBe(403);
    const weeklyScoped = (await get('/api/v1/chargeback/weekly?from=2026-01-01&to=2026-12-28', 'scoped')).json();
    expect(weeklyScoped.rows.every((r: { product_line_id: string }) => r.product_line_id === 'support')).toBe(true);
  });
});
