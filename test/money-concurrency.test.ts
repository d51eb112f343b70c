// Money operations at the same moment: re-pricing over overlapping windows, quarantine replay and
// shared-cost entry, each fired concurrently; every correction, event and allocation lands once and
// the totals afterwards are exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimals, buildTestApp, makeEvent, one, post, rows, type TestApp } from './helper.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
});
afterAll(async () => t?.close());

const send = (method: 'POST' | 'PUT', url: string, payload: object) => t.app.inject({ method, url, payload });
const ledger = (pl: string) => one<{ cost: string; events: number; reversals: number; reprices: number }>(t.app,
  "SELECT toString(sum(cost_usd)) AS cost, countIf(record_type = 'event') AS events, countIf(record_type = 'reversal') AS reversals, countIf(record_type = 'reprice') AS reprices FROM cost_events WHERE product_line_id = {pl:String}", { pl });

describe('re-pricing', () => {
  const price = (input: string) => send('PUT', '/api/v1/prices', { prices: [{ provider: 'conc', item: 'conc-1', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: input, output_per_mtok: '2' }] });
  // 40 book-priced events over ten days: 1M input + 0.5M output tokens each.
  const events = Array.from({ length: 40 }, (_, i) => makeEvent({
    product_line_id: 'conc-reprice', provider: 'conc', model: 'conc-1', cost_usd: undefined,
    timestamp: `2026-06-${String(1 + (i % 10)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:30:00Z`, usage: { input_tokens: 1_000_000, output_tokens: 500_000 },
  }));

  it('appends each correction once when overlapping re-prices run at the same moment', async () => {
    expect((await price('1')).statusCode).toBe(200);
    expect((await post(t.app, events)).json()).toMatchObject({ accepted: 40 });
    expect(await ledger('conc-reprice')).toEqual({ cost: '80', events: 40, reversals: 0, reprices: 0 }); // 1 + 1 each
    expect((await price('1.5')).statusCode).toBe(200); // now 1.5 + 1 = 2.5 each

    const windows = [
      ['2026-06-01T00:00:00Z', '2026-06-08T00:00:00Z'],
      ['2026-06-03T12:00:00Z', '2026-06-11T00:00:00Z'],
      ['2026-06-01T00:00:00Z', '2026-06-11T00:00:00Z'],
      ['2026-06-05T06:00:00Z', '2026-06-06T18:00:00Z'],
      ['2026-05-30T00:00:00Z', '2026-06-12T00:00:00Z'],
    ];
    const answers = await Promise.all(windows.map(([from, to]) => send('POST', '/api/v1/reprice', { from, to, provider: 'conc' })));
    const bodies = answers.map((a) => {
      expect(a.statusCode).toBe(200);
      return a.json() as { repriced: number; delta_usd: string; old_cost_usd: string; new_cost_usd: string };
    });
    // Between them the calls corrected every event exactly once, and their reports add up to it.
    expect(bodies.reduce((n, b) => n + b.repriced, 0)).toBe(40);
    expect(addDecimals(bodies.map((b) => b.delta_usd))).toBe('20');
    expect(addDecimals(bodies.map((b) => b.new_cost_usd))).toBe('100');
    expect(await ledger('conc-reprice')).toEqual({ cost: '100', events: 40, reversals: 40, reprices: 40 });
    const perEvent = await rows<{ event_id: string; net: string; corrections: number }>(t.app,
      "SELECT event_id, toString(sum(cost_usd)) AS net, countIf(record_type = 'reversal') AS corrections FROM cost_events WHERE product_line_id = 'conc-reprice' GROUP BY event_id");
    expect(perEvent).toHaveLength(40);
    expect(perEvent.every((e) => e.net === '2.5' && e.corrections === 1)).toBe(true);
    // The weekly view (fed by the same inserts) agrees to the last digit.
    const weekly = await one<{ cost: string }>(t.app, "SELECT toString(sum(total_cost_usd)) AS cost FROM weekly_chargeback WHERE product_line_id = 'conc-reprice'");
    expect(weekly.cost).toBe('100');
    // Nothing left to do.
    expect((await send('POST', '/api/v1/reprice', { from: '2026-06-01T00:00:00Z', to: '2026-06-11T00:00:00Z', provider: 'conc' })).json()).toMatchObject({ examined: 40, repriced: 0, delta_usd: '0' });
  });

  it('corrects again after a further price change, then back: each state is corrected once', async () => {
    const window = { from: '2026-06-01T00:00:00Z', to: '2026-06-11T00:00:00Z', provider: 'conc' };
    expect((await price('1')).statusCode).toBe(200); // back to 2 each: same net cost as the first state, a new correction
    const [a, b] = await Promise.all([send('POST', '/api/v1/reprice', window), send('POST', '/api/v1/reprice', window)]);
    expect(a.json().repriced + b.json().repriced).toBe(40);
    expect(await ledger('conc-reprice')).toEqual({ cost: '80', events: 40, reversals: 80, reprices: 80 });
  });
});

describe('quarantine replay', () => {
  it('accepts each quarantined event once when replays race', async () => {
    const lost = Array.from({ length: 30 }, (_, i) => makeEvent({ product_line_id: undefined, cost_usd: `0.${String(i + 1).padStart(3, '0')}000000001`, timestamp: '2026-07-02T10:00:00Z' }));
    expect((await post(t.app, lost)).json()).toMatchObject({ accepted: 0, quarantined: 30 });
    const replays = await Promise.all(Array.from({ length: 4 }, () => send('POST', '/api/v1/quarantine/replay', { reason: 'missing_product_line', product_line_id: 'conc-replay' })));
    const reports = replays.map((r) => r.json() as { examined: number; accepted: number; duplicates: number });
    expect(reports.reduce((n, r) => n + r.accepted, 0)).toBe(30);
    expect(reports.reduce((n, r) => n + r.duplicates, 0)).toBe(0); // later replays find nothing left to replay
    expect(reports.map((r) => r.examined).sort()).toEqual([0, 0, 0, 30]);
    const expected = addDecimals(lost.map((e) => e.cost_usd as string));
    expect(await ledger('conc-replay')).toEqual({ cost: expected, events: 30, reversals: 0, reprices: 0 });
    const outcomes = await rows<{ outcome: string; n: number }>(t.app, 'SELECT outcome, count() AS n FROM quarantine_replays FINAL GROUP BY outcome');
    expect(outcomes).toEqual([{ outcome: 'accepted', n: 30 }]);
  });
});

describe('shared-cost entry', () => {
  beforeAll(async () => {
    await post(t.app, [
      makeEvent({ product_line_id: 'conc-a', cost_usd: '3', timestamp: '2026-08-03T10:00:00Z' }),
      makeEvent({ product_line_id: 'conc-b', cost_usd: '1', timestamp: '2026-08-04T10:00:00Z' }),
    ]);
  });
  const body = { month: '2026-08', name: 'vector cluster', amount_usd: '100.01', method: 'proportional', basis: 'cost', product_lines: ['conc-a', 'conc-b'] };

  it('records one shared cost when the same entry is sent five times at once', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => send('POST', '/api/v1/shared-costs', body)));
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 201, 201]);
    const ids = new Set(answers.map((a) => a.json().id));
    expect(ids.size).toBe(1);
    expect(answers.every((a) => JSON.stringify(a.json().allocations) === JSON.stringify(answers[0]!.json().allocations))).toBe(true);
    // Not even a duplicate row waiting for a merge.
    expect(await one(t.app, "SELECT count() AS n, toString(sum(amount_usd)) AS total FROM shared_costs WHERE month = '2026-08-01'")).toEqual({ n: 1, total: '100.01' });
    const allocations = await rows<{ product_line_id: string; amount: string }>(t.app,
      "SELECT product_line_id, toString(amount_usd) AS amount FROM shared_cost_allocations WHERE month = '2026-08-01' ORDER BY product_line_id");
    expect(allocations).toEqual([{ product_line_id: 'conc-a', amount: '75.01' }, { product_line_id: 'conc-b', amount: '25' }]);
  });

  it('refuses the same name with other terms, and records distinct names racing each other', async () => {
    const conflict = await send('POST', '/api/v1/shared-costs', { ...body, amount_usd: '200.00' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ reason: 'shared_cost_exists' });
    const [x, y] = await Promise.all([
      send('POST', '/api/v1/shared-costs', { month: '2026-08', name: 'embeddings', amount_usd: '10.00', method: 'even', product_lines: ['conc-a', 'conc-b'] }),
      send('POST', '/api/v1/shared-costs', { month: '2026-08', name: 'gateway', amount_usd: '0.03', method: 'even', product_lines: ['conc-a', 'conc-b'] }),
    ]);
    expect([x.statusCode, y.statusCode]).toEqual([201, 201]);
    expect(x.json().id).not.toBe(y.json().id);
    expect(await one(t.app, "SELECT count() AS n, toString(sum(amount_usd)) AS total FROM shared_costs WHERE month = '2026-08-01'")).toEqual({ n: 3, total: '110.04' });
    expect(await one(t.app, "SELECT toString(sum(amount_usd)) AS total FROM shared_cost_allocations WHERE month = '2026-08-01'")).toEqual({ total: '110.04' });
  });
});
