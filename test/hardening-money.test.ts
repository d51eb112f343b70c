// Money cannot wrap: per-event ceilings at ingest, re-price and shared-cost entry, and exact totals
// when the largest allowed amounts are posted many times (docs/hardening.md has the arithmetic).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimals, buildTestApp, makeEvent, one, post, type TestApp } from './helper.js';

const CEILING = '999999999999.999999999999'; // the largest MAX_EVENT_COST_USD the config accepts
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false, MAX_EVENT_COST_USD: CEILING, MAX_SHARED_COST_USD: '5000' });
});
afterAll(async () => t.close());

const ledger = (pl: string) =>
  one<{ events: number; cost: string }>(t.app, "SELECT count() AS events, toString(sum(cost_usd)) AS cost FROM cost_events WHERE product_line_id = {pl:String}", { pl });

describe('money ceiling at ingest', () => {
  it('refuses the wrap-around example and leaves every report of the line untouched', async () => {
    await post(t.app, [makeEvent({ product_line_id: 'wrap', cost_usd: '10' })]);
    const huge = '99999999999999999999999999.5';
    const res = await post(t.app, [makeEvent({ product_line_id: 'wrap', cost_usd: huge }), makeEvent({ product_line_id: 'wrap', cost_usd: huge })]);
    expect(res.statusCode).toBe(207);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 0, rejected: 2 });
    expect(body.results.map((r: { reason: string }) => r.reason)).toEqual(['cost_out_of_range', 'cost_out_of_range']);
    expect(body.results[0].errors[0]).toBe(`cost_usd: ${huge} is over the per-event ceiling of ${CEILING} USD (MAX_EVENT_COST_USD)`);
    expect(await ledger('wrap')).toEqual({ events: 1, cost: '10' });
    const costs = (await t.app.inject({ url: '/api/v1/agent-costs?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&product_line=wrap' })).json();
    expect(costs.totals).toMatchObject({ cost_usd: '10', events: 1 });
  });

  it('checks revenue_usd and JSON numbers too, and normalizes what it accepts', async () => {
    const res = await post(t.app, [
      makeEvent({ product_line_id: 'edge', type: 'outcome', cost_usd: '0', revenue_usd: '1000000000000' }),
      makeEvent({ product_line_id: 'edge', cost_usd: 1e13 }),
      makeEvent({ product_line_id: 'edge', cost_usd: `000${CEILING}` }),
      makeEvent({ product_line_id: 'edge', cost_usd: '1'.repeat(41) }),
    ]);
    expect(res.json().results.map((r: { index: number; reason: string; errors: string[] }) => [r.index, r.reason, r.errors[0]!.split(':')[0]])).toEqual([
      [0, 'cost_out_of_range', 'revenue_usd'],
      [1, 'cost_out_of_range', 'cost_usd'],
      [3, 'invalid_event', 'cost_usd'],
    ]);
    expect(await ledger('edge')).toEqual({ events: 1, cost: CEILING });
  });

  it('takes a JSON number as the decimal written, never through a float (NDJSON and JSON)', async () => {
    // the literals as a client writes them: JSON.stringify would already have rounded some
    const literals = ['123456.123456789012', '999999.999999999999', '1.5e-7', '1E2', '0.30000000000000004', '0.1234567890125', '1e-13', '-0.5', '1e21', '0.000000000001'];
    const notDecimal = 'cost_usd: must be a non-negative decimal with at most 12 decimal places';
    const expected = [
      [4, 'invalid_event', notDecimal], [5, 'invalid_event', notDecimal], [6, 'invalid_event', notDecimal], [7, 'invalid_event', notDecimal],
      [8, 'cost_out_of_range', `cost_usd: 1000000000000000000000 is over the per-event ceiling of ${CEILING} USD (MAX_EVENT_COST_USD)`],
    ];
    // 123456.123456789012 + 999999.999999999999 + 0.00000015 + 100 + 0.000000000001, to the last digit
    const sum = '1123556.123456939012';
    const line = (pl: string, literal: string, i: number) => `{"event_id":"${pl}-${i}","timestamp":"2026-01-20T10:00:00Z","type":"tool","tool":"t","product_line_id":"${pl}","cost_usd":${literal}}`;
    const ndjson = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: literals.map((l, i) => line('num-nd', l, i)).join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    expect(ndjson.json().results.map((r: { index: number; reason: string; errors: string[] }) => [r.index, r.reason, r.errors[0]])).toEqual(expected);
    expect(await ledger('num-nd')).toEqual({ events: 5, cost: sum });
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: `{"events":[${literals.map((l, i) => line('num-js', l, i)).join(',')}]}`, headers: { 'content-type': 'application/json' } });
    expect(json.json().results.map((r: { index: number; reason: string; errors: string[] }) => [r.index, r.reason, r.errors[0]])).toEqual(expected);
    expect(await ledger('num-js')).toEqual({ events: 5, cost: sum });
    // a key spelled with an escape is not recognised in the text: its number arrives as a float,
    // taken only when its shortest form has at most 15 significant digits
    const escaped = (literal: string, i: number) => line('num-esc', literal, i).replace('"cost_usd"', '"cost\\u005fusd"');
    const floats = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: `[${['0.30000000000000004', '0.25'].map(escaped).join(',')}]`, headers: { 'content-type': 'application/json' } });
    expect(floats.json().results.map((r: { index: number; errors: string[] }) => [r.index, r.errors[0]])).toEqual([[0, 'cost_usd: a JSON number of more than 15 significant digits is not exact: send the amount as a decimal string']]);
    expect(await ledger('num-esc')).toEqual({ events: 1, cost: '0.25' });
  });

  it('adds 4,000 events at the ceiling exactly, in the ledger, /agent-costs, /chargeback/weekly and the export', async () => {
    const n = 4000;
    const amounts: string[] = [];
    for (let b = 0; b < 4; b++) {
      const events = Array.from({ length: n / 4 }, (_, i) => makeEvent({ product_line_id: 'max', timestamp: `2026-03-${String(2 + (i % 20)).padStart(2, '0')}T10:00:00Z`, cost_usd: CEILING }));
      amounts.push(...events.map((e) => e.cost_usd as string));
      expect((await post(t.app, events)).json()).toMatchObject({ accepted: n / 4, rejected: 0 });
    }
    const expected = addDecimals(amounts);
    expect(expected).toBe('3999999999999999.999999996');
    expect(await ledger('max')).toEqual({ events: n, cost: expected });
    const costs = (await t.app.inject({ url: '/api/v1/agent-costs?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&product_line=max&group_by=product_line' })).json();
    expect(costs.totals).toMatchObject({ cost_usd: expected, events: n });
    expect(costs.rows[0]).toMatchObject({ cost_usd: expected, events: n });
    const weekly = (await t.app.inject({ url: '/api/v1/chargeback/weekly?from=2026-02-23&to=2026-04-06&product_line=max' })).json();
    expect(addDecimals(weekly.rows.map((r: { total_cost_usd: string }) => r.total_cost_usd))).toBe(expected);
    expect(weekly.rows.reduce((a: number, r: { events: number }) => a + r.events, 0)).toBe(n);
    const exported = (await t.app.inject({ url: '/api/v1/exports/chargeback?month=2026-03&format=json&limit=1000' })).json();
    // March holds only this line's events.
    expect(exported.totals.effective_cost_usd).toBe(expected);
    expect(addDecimals(exported.rows.map((r: { EffectiveCost: string }) => String(r.EffectiveCost)))).toBe(expected);
  });
});

describe('money ceiling on priced cost, re-price and shared costs', () => {
  let small: TestApp;
  beforeAll(async () => {
    // A second app on the same engine (one data directory per process), with a low ceiling.
    small = await buildTestApp({ LOAD_PRICE_CATALOG: false, MAX_EVENT_COST_USD: '100' }, t.app.engine);
    await small.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'p', item: 'm', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '10', output_per_mtok: '10' }] } });
  });
  afterAll(async () => small.close());
  const priced = (tokens: number, extra: Record<string, unknown> = {}) =>
    makeEvent({ product_line_id: 'pr', provider: 'p', model: 'm', cost_usd: undefined, usage: { input_tokens: tokens, output_tokens: 0 }, ...extra });
  const sum = async () => (await one<{ cost: string; rows: number }>(small.app, "SELECT toString(sum(cost_usd)) AS cost, count() AS rows FROM cost_events WHERE product_line_id = 'pr'"));

  it('quarantines an event the book prices over the ceiling, naming the field and the price', async () => {
    // 10M tokens × $10/M = $100 (at the ceiling); 10,000,001 tokens = $100.00001 (over)
    const res = await post(small.app, [priced(10_000_000), priced(10_000_001)]);
    expect(res.statusCode).toBe(207);
    const [held] = res.json().results;
    expect(held).toMatchObject({ index: 1, status: 'quarantined', reason: 'cost_out_of_range' });
    expect(held.errors[0]).toMatch(/^cost_usd: priced at 100\.00001 \(p\/m@2026-01-01T00:00:00Z\), over the per-event ceiling of 100 USD/);
    expect(await sum()).toEqual({ cost: '100', rows: 1 });
  });

  it('refuses a re-price that would cross the ceiling and appends nothing; a sane one goes through', async () => {
    await post(small.app, [priced(1_000_000, { timestamp: '2026-02-10T00:00:00Z' })]);
    expect(await sum()).toEqual({ cost: '110', rows: 2 });
    await small.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'p', item: 'm', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '20', output_per_mtok: '20' }] } });
    const window = { from: '2026-01-15T00:00:00Z', to: '2026-02-11T00:00:00Z' };
    const res = await small.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: window });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ reason: 'cost_out_of_range' });
    expect(res.json().detail).toMatch(/cost_usd 200 .*over the per-event ceiling of 100 USD .*nothing was changed/);
    expect(await sum()).toEqual({ cost: '110', rows: 2 });
    await small.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'p', item: 'm', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '5', output_per_mtok: '5' }] } });
    const ok = await small.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: window });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ repriced: 2, old_cost_usd: '110', new_cost_usd: '55' });
    expect((await sum()).cost).toBe('55');
    // The event held back by the old book is replayed once the book is fixed: 10,000,001 × $5/M.
    const replay = await small.app.inject({ method: 'POST', url: '/api/v1/quarantine/replay', payload: { reason: 'cost_out_of_range', limit: 100 } });
    expect(replay.json()).toMatchObject({ examined: 1, accepted: 1 });
    expect(await sum()).toEqual({ cost: '105.000005', rows: 7 });
  });

  it('refuses a shared cost over MAX_SHARED_COST_USD with 400 cost_out_of_range and takes one at the ceiling', async () => {
    const entry = (amount: string) => t.app.inject({ method: 'POST', url: '/api/v1/shared-costs', payload: { month: '2026-03', name: `platform-${amount}`, amount_usd: amount, method: 'even', product_lines: ['max', 'edge', 'wrap'] } });
    const over = await entry('5000.01');
    expect(over.statusCode).toBe(400);
    expect(over.json()).toMatchObject({ reason: 'cost_out_of_range' });
    expect(over.json().detail).toMatch(/^amount_usd: 5000\.01 is over the ceiling of 5000 USD/);
    const ok = await entry('5000.00');
    expect(ok.statusCode).toBe(201);
    expect(addDecimals(ok.json().allocations.map((a: { amount_usd: string }) => a.amount_usd))).toBe('5000');
  });
});
