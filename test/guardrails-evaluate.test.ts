// POST /guardrails/evaluate: budgets judged as of `at` on the spend of that window up to `at`, and a
// bodyless request run with the defaults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, type TestApp } from './helper.js';

const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'admin:adm,read:rd,ingest:ing', BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
});
afterAll(async () => t.close());

const iso = (ms: number) => new Date(ms).toISOString();
const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, key = 'adm') => t.app.inject({ method, url, payload, headers: as(key) });
const evaluateAt = async (at: number) => {
  const res = await send('POST', '/api/v1/guardrails/evaluate', { anomalies: false, at: iso(at) });
  expect(res.statusCode).toBe(200);
};
type Note = { type: string; payload: { data: Record<string, unknown> } };
const notesOf = async (name: string) => ((await t.app.inject({ url: '/api/v1/notifications', headers: as('rd') })).json().notifications as Note[])
  .filter((n) => n.payload.data.name === name)
  .map((n) => ({ type: n.type, ...n.payload.data }));
const ingest = async (events: Record<string, unknown>[]) => {
  expect((await post(t.app, events, as('ing'))).json().accepted).toBe(events.length);
  await t.app.ingestor.settle();
};

describe('evaluating budgets as of an instant', () => {
  it('judges a past instant of the current window on the spend up to it, not on the spend of now', async () => {
    const now = Date.now();
    const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
    const spentAt = now - 1000;
    await send('POST', '/api/v1/budgets', { name: 'this-month', scope: { product_line: 'at-now' }, window: 'month', amount_usd: '10', thresholds: [0.5, 1], action: 'alert' });
    await ingest([makeEvent({ product_line_id: 'at-now', timestamp: iso(spentAt), cost_usd: '6.000000000001' })]);
    // Before the spend: nothing was spent yet in that window, so nothing is crossed.
    await evaluateAt(monthStart + Math.floor((spentAt - monthStart) / 2));
    expect(await notesOf('this-month')).toEqual([]);
    await evaluateAt(spentAt + 1);
    expect(await notesOf('this-month')).toEqual([expect.objectContaining({
      type: 'budget.threshold_crossed', threshold: 0.5, spent_usd: '6.000000000001', limit_usd: '10',
      window_start: iso(monthStart), window_end: iso(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() + 1, 1)),
    })]);
  });

  it('judges an instant of a past day on that day\'s spend up to it (spend at 20:04: nothing at 11:00, crossed at 21:00)', async () => {
    await send('POST', '/api/v1/budgets', { name: 'past-day', scope: { product_line: 'at-past' }, window: 'day', amount_usd: '5', thresholds: [0.5, 1], action: 'alert' });
    await ingest([makeEvent({ product_line_id: 'at-past', timestamp: '2026-01-05T20:04:00.000Z', cost_usd: '3.25' })]);
    await evaluateAt(Date.parse('2026-01-05T11:00:00Z'));
    expect(await notesOf('past-day')).toEqual([]);
    await evaluateAt(Date.parse('2026-01-05T21:00:00Z'));
    expect(await notesOf('past-day')).toEqual([expect.objectContaining({
      type: 'budget.threshold_crossed', threshold: 0.5, spent_usd: '3.25', limit_usd: '5',
      window_start: '2026-01-05T00:00:00.000Z', window_end: '2026-01-06T00:00:00.000Z',
    })]);
  });

  it('judges run budgets on the runs of the day before the instant', async () => {
    await send('POST', '/api/v1/budgets', { name: 'past-run', scope: { product_line: 'at-run' }, window: 'run', amount_usd: '2', thresholds: [1], action: 'alert' });
    await ingest([makeEvent({ product_line_id: 'at-run', run_id: 'run-past', timestamp: '2026-01-05T20:04:00.000Z', cost_usd: '2.5' })]);
    await evaluateAt(Date.parse('2026-01-05T11:00:00Z'));
    expect(await notesOf('past-run')).toEqual([]);
    await evaluateAt(Date.parse('2026-01-05T21:00:00Z'));
    expect(await notesOf('past-run')).toEqual([expect.objectContaining({ type: 'budget.exhausted', threshold: 1, run_id: 'run-past', spent_usd: '2.5', limit_usd: '2' })]);
  });
});

describe('a bodyless evaluation', () => {
  it('runs with the defaults, like {}', async () => {
    const bare = await t.app.inject({ method: 'POST', url: '/api/v1/guardrails/evaluate', headers: as('adm') });
    expect([bare.statusCode, bare.json()]).toEqual([200, { evaluated: true }]);
    const empty = await send('POST', '/api/v1/guardrails/evaluate', {});
    expect([empty.statusCode, empty.json()]).toEqual([200, { evaluated: true }]);
    const unknown = await send('POST', '/api/v1/guardrails/evaluate', { anomaly: false });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter: 'anomaly' }] });
  });
});
