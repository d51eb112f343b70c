// Invoice drafts from the daily invoice lines (migrations/022): every draft equals the one computed
// from the month's raw events (the path the route takes for filters the daily lines do not carry),
// for months in UTC and in zones whose month starts inside a UTC day (whole and half-hour offsets),
// one customer or all, a product-line filter and a scoped key, after re-pricing corrections and
// late events; and against figures worked out by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceDrafts } from '../src/insights/customers.js';
import { buildTestApp, makeEvent, post, rows, type TestApp } from './helper.js';

const KEYS = 'admin:inv-adm,read:inv-rd,read:inv-rd-a:inv-a,ingest:inv-ing';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;

// March 2026 and its edges: events near both month boundaries in UTC, New York (UTC-5 / -4 from
// 8 March) and Kolkata (UTC+5:30), three customers, two product lines, LLM calls (tokens), tool
// calls (a unit), compute (a unit) and an escalation (events), and outcomes (left out).
const stamps = ['2026-02-28T18:00:00Z', '2026-02-28T20:00:00Z', '2026-03-01T00:00:00Z', '2026-03-01T03:30:00Z', '2026-03-01T04:59:59Z', '2026-03-01T05:00:00Z',
  '2026-03-08T12:00:00Z', '2026-03-15T23:59:59.999Z', '2026-03-31T18:29:00Z', '2026-03-31T18:31:00Z', '2026-03-31T23:59:59Z', '2026-04-01T00:00:00Z',
  '2026-04-01T03:59:00Z', '2026-04-01T04:00:00Z'];
const events = stamps.flatMap((timestamp, i) => {
  const customer = ['c-1', 'c-2', 'c-3'][i % 3];
  const pl = i % 4 === 0 ? 'inv-b' : 'inv-a';
  const common = { timestamp, customer_id: customer, product_line_id: pl, step_name: ['plan', 'act'][i % 2], agent_id: ['a-x', 'a-y'][i % 2], run_id: `inv-run-${i}` };
  return [
    makeEvent({ ...common, cost_usd: `0.${String(100 + i * 7).padStart(3, '0')}000000001`, usage: { input_tokens: 1000 + i, output_tokens: 10 * i } }),
    makeEvent({ ...common, type: 'tool', provider: undefined, model: undefined, tool: 'web_search', cost_usd: '0.005', usage: { quantity: String(1 + (i % 3)), unit: 'calls' } }),
    makeEvent({ ...common, type: 'compute', provider: undefined, model: undefined, cost_usd: '1.25', usage: { quantity: '0.5', unit: 'gpu_hours' } }),
    ...(i % 5 === 0 ? [makeEvent({ ...common, type: 'human_escalation', provider: undefined, model: undefined, cost_usd: '20', usage: undefined })] : []),
    makeEvent({ ...common, type: 'outcome', provider: undefined, model: undefined, status: 'success', cost_usd: '0', revenue_usd: '3', usage: undefined }),
  ];
});

const months = [['UTC', Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1)], ['America/New_York', Date.UTC(2026, 2, 1, 5), Date.UTC(2026, 3, 1, 4)], ['Asia/Kolkata', Date.UTC(2026, 1, 28, 18, 30), Date.UTC(2026, 2, 31, 18, 30)]] as const;

async function drafts(rollup: boolean, tz: string, from: number, to: number, filters: Record<string, string[]> = {}, scope?: string[]) {
  return invoiceDrafts(t.app.engine.client, { from, to, tz, given: { from: true, to: true } }, '2026-03', filters, scope, 1000, rollup ? {} : { rollup: false });
}

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, BUDGET_EVAL_INTERVAL_MS: 0, LOAD_PRICE_CATALOG: false });
  expect((await post(t.app, events, as('inv-ing'))).json()).toMatchObject({ accepted: events.length, rejected: 0 });
}, 120_000);
afterAll(async () => t?.close());

describe('invoice drafts from the daily invoice lines', () => {
  it('the daily table holds every non-outcome event once', async () => {
    const [have] = await rows<Record<string, string>>(t.app, 'SELECT toString(sum(cost_usd)) AS cost, sum(events) AS events, sum(tokens) AS tokens FROM invoice_lines_daily');
    const [want] = await rows<Record<string, string>>(t.app, "SELECT toString(sum(cost_usd)) AS cost, countIf(record_type = 'event') AS events, sum(input_tokens + output_tokens) AS tokens FROM cost_events WHERE type != 'outcome'");
    expect(have).toEqual(want);
    expect(Number(have!.events)).toBe(events.filter((e) => e.type !== 'outcome').length);
  });

  it('equal the raw events\' drafts: months in UTC, New York and Kolkata, one customer or all, filters and scope', async () => {
    for (const [tz, from, to] of months) {
      for (const [filters, scope] of [[{}, undefined], [{ customer: ['c-2'] }, undefined], [{ product_line: ['inv-b'] }, undefined], [{}, ['inv-a']], [{ customer: ['c-1', 'c-3'] }, ['inv-b']]] as const) {
        const fast = await drafts(true, tz, from, to, filters as Record<string, string[]>, scope as string[] | undefined);
        const raw = await drafts(false, tz, from, to, filters as Record<string, string[]>, scope as string[] | undefined);
        expect(fast.invoices.length, `${tz} ${JSON.stringify(filters)} ${scope}`).toBeGreaterThan(0);
        expect(fast, `${tz} ${JSON.stringify(filters)} ${scope}`).toEqual(raw);
      }
    }
  });

  it('a month in a zone ahead of UTC ends inside a UTC day: the edge events count in that month only', async () => {
    // Kolkata's March is [Feb 28 18:30, Mar 31 18:30) UTC: the events at Feb 28 20:00 and Mar 31 18:29 are in it,
    // Feb 28 18:00 and Mar 31 18:31 are not.
    const [, from, to] = months[2];
    const inMonth = events.filter((e) => e.type !== 'outcome' && Date.parse(e.timestamp as string) >= from && Date.parse(e.timestamp as string) < to);
    const all = await drafts(true, 'Asia/Kolkata', from, to);
    const total = all.invoices.reduce((a, i) => a + Number(i.total_usd), 0);
    expect(total).toBeCloseTo(inMonth.reduce((a, e) => a + Number(e.cost_usd), 0), 9);
    expect(all.invoices.flatMap((i) => i.lines).reduce((a, l) => a + l.events, 0)).toBe(inMonth.length);
  });

  it('through the API: the compute line of one customer, by hand, and a filter the daily lines lack', async () => {
    const res = await t.app.inject({ url: '/api/v1/insights/invoices?month=2026-03&customer=c-2', headers: as('inv-rd') });
    expect(res.statusCode).toBe(200);
    const [invoice] = res.json().invoices;
    // c-2 is events i = 1, 4, 7, 10, 13; in UTC March: i = 4, 7, 10 (i = 1 is in February, 13 in April).
    const compute = invoice.lines.filter((l: { source: string }) => l.source === 'compute');
    expect(compute.map((l: { step: string; metric: string; quantity: string; amount_usd: string; events: number }) => [l.step, l.metric, l.quantity, l.amount_usd, l.events]))
      .toEqual([['plan', 'gpu_hours', '1', '2.5', 2], ['act', 'gpu_hours', '0.5', '1.25', 1]]);
    // agent is a filter the daily lines do not carry: the raw path, the same answer
    // (c-2's March events with agent a-x: i = 4 and 10, both steps "plan")
    const byAgent = await t.app.inject({ url: '/api/v1/insights/invoices?month=2026-03&customer=c-2&agent=a-x', headers: as('inv-rd') });
    expect(byAgent.statusCode).toBe(200);
    const agentLines = byAgent.json().invoices[0].lines.filter((l: { source: string }) => l.source === 'compute');
    expect(agentLines.map((l: { step: string; quantity: string; amount_usd: string }) => [l.step, l.quantity, l.amount_usd])).toEqual([['plan', '1', '2.5']]);
    const scoped = (await t.app.inject({ url: '/api/v1/insights/invoices?month=2026-03', headers: as('inv-rd-a') })).json();
    expect(scoped.invoices.flatMap((i: { lines: unknown[] }) => i.lines).length).toBeGreaterThan(0);
    expect(scoped).toEqual(JSON.parse(JSON.stringify(await drafts(false, 'UTC', months[0][1], months[0][2], {}, ['inv-a']))));
  });

  it('re-pricing corrections and late events reach the daily lines', async () => {
    const send = (method: 'PUT' | 'POST', url: string, payload: object) => t.app.inject({ method, url, payload, headers: as('inv-adm') });
    expect((await send('PUT', '/api/v1/prices', { prices: [{ provider: 'inv', item: 'inv-model', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '1' }] })).statusCode).toBeLessThan(300);
    const late = makeEvent({ timestamp: '2026-03-20T10:00:00Z', customer_id: 'c-1', product_line_id: 'inv-a', provider: 'inv', model: 'inv-model', cost_usd: undefined, usage: { input_tokens: 1_000_000, output_tokens: 0 } });
    expect((await post(t.app, [late], as('inv-ing'))).json()).toMatchObject({ accepted: 1 });
    await send('PUT', '/api/v1/prices', { prices: [{ provider: 'inv', item: 'inv-model', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '0.3', output_per_mtok: '1' }] });
    expect((await send('POST', '/api/v1/reprice', { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z', provider: 'inv' })).json()).toMatchObject({ repriced: 1, delta_usd: '-0.7' });
    for (const [tz, from, to] of months) {
      const fast = await drafts(true, tz, from, to, { customer: ['c-1'] });
      expect(fast).toEqual(await drafts(false, tz, from, to, { customer: ['c-1'] }));
      const line = fast.invoices[0]!.lines.find((l) => l.source === 'inv');
      // one event of 1,000,000 tokens: 1.00 then a correction of -0.70, tokens counted once
      expect(line && [line.metric, line.quantity, line.amount_usd, line.events]).toEqual(['tokens', '1000000', '0.3', 1]);
    }
  });
});
