// Budgets, the pre-flight check, notifications, signed webhooks with retries, anomalies.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { buildTestApp, makeEvent, post, rows, until, type TestApp } from './helper.js';

const KEYS = 'admin:adm,read:rd,ingest:ing,read:scopedrd:runs';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_MAX_ATTEMPTS: 3, WEBHOOK_RETRY_BASE_MS: 50, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
});
afterAll(async () => t.close());

const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, key = 'adm') => t.app.inject({ method, url, payload, headers: as(key) });
const check = async (attrs: Record<string, unknown>, key = 'ing') => (await send('POST', '/api/v1/budgets/check', attrs, key)).json();
const iso = (ms: number) => new Date(ms).toISOString();
const now = Date.now();
// Acknowledged, then applied (tests below call the guard directly, not through a request that would wait).
const ingest = async (events: Record<string, unknown>[]) => {
  expect((await post(t.app, events, as('ing'))).json().accepted).toBe(events.length);
  await t.app.ingestor.settle();
};

describe('budgets and the pre-flight check', () => {
  it('matches multi-dimension scopes and denies only when a block budget is exhausted', async () => {
    const created = await send('POST', '/api/v1/budgets', { name: 'ent-v3-gpt5', scope: { segment: 'enterprise', agent_version: 'v3', model: 'gpt-5' }, window: 'month', amount_usd: '5.00', thresholds: [0.5, 1], action: 'block' });
    expect(created.statusCode).toBe(201);
    // stored as the amount it is, so every process (and every webhook) shows the same text
    expect(created.json().amount_usd).toBe('5');
    const id = created.json().id;
    expect((await t.app.inject({ url: `/api/v1/budgets/${id}`, headers: as('rd') })).json().amount_usd).toBe('5');
    const attrs = { product_line: 'support', segment: 'enterprise', agent_version: 'v3', model: 'gpt-5' };
    expect(await check(attrs)).toMatchObject({ allow: true, budgets: [{ id, spent: '0', limit: '5', remaining: '5' }], reason: 'within budget' });
    await ingest([
      makeEvent({ ...attrs, product_line_id: 'support', model: 'gpt-5', timestamp: iso(now - 1000), cost_usd: '3' }),
      makeEvent({ product_line_id: 'support', segment: 'enterprise', agent_version: 'v2', model: 'gpt-5', timestamp: iso(now - 1000), cost_usd: '100' }),
      makeEvent({ product_line_id: 'support', segment: 'smb', agent_version: 'v3', model: 'gpt-5', timestamp: iso(now - 1000), cost_usd: '100' }),
    ]);
    expect(await check(attrs)).toMatchObject({ allow: true, budgets: [{ spent: '3', remaining: '2' }] });
    // not exhausted (3 of 5 spent), but the estimate would take it over: denied, and said so
    expect(await check({ ...attrs, estimated_cost_usd: '2.5' })).toMatchObject({
      allow: false, budgets: [{ spent: '3', exhausted: false, would_exceed: true }],
      reason: 'budget "ent-v3-gpt5" would be exceeded by the estimate (3 spent + 2.5 estimated > 5)',
    });
    expect(await check({ ...attrs, estimated_cost_usd: '2' })).toMatchObject({ allow: true, budgets: [{ exhausted: false, would_exceed: false }] });
    // A request that does not name every scoped dimension is not under the budget.
    expect(await check({ segment: 'enterprise', agent_version: 'v3' })).toMatchObject({ allow: true, budgets: [], reason: 'no budget applies' });
    await ingest([makeEvent({ product_line_id: 'support', segment: 'enterprise', agent_version: 'v3', model: 'gpt-5', timestamp: iso(now - 500), cost_usd: '2' })]);
    expect(await check(attrs)).toMatchObject({ allow: false, budgets: [{ spent: '5', remaining: '0', exhausted: true }], reason: 'budget "ent-v3-gpt5" is exhausted' });
    expect(await check({ ...attrs, segment: 'smb' })).toMatchObject({ allow: true });
  });

  it('lets alert budgets report exhaustion without ever denying', async () => {
    await send('POST', '/api/v1/budgets', { name: 'alert-only', scope: { product_line: 'alerting' }, window: 'day', amount_usd: '1', action: 'alert' });
    await ingest([makeEvent({ product_line_id: 'alerting', timestamp: iso(now - 1000), cost_usd: '7' })]);
    expect(await check({ product_line: 'alerting' })).toMatchObject({ allow: true, budgets: [{ name: 'alert-only', exhausted: true, spent: '7' }] });
  });

  it('counts only the current window: hour and month edges', async () => {
    const hourStart = Math.floor(now / 3_600_000) * 3_600_000;
    const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
    await send('POST', '/api/v1/budgets', { name: 'hourly', scope: { product_line: 'edges-h' }, window: 'hour', amount_usd: '10', action: 'block' });
    await send('POST', '/api/v1/budgets', { name: 'monthly', scope: { product_line: 'edges-m' }, window: 'month', amount_usd: '10', action: 'block' });
    await ingest([
      makeEvent({ product_line_id: 'edges-h', timestamp: iso(hourStart - 1), cost_usd: '4' }),
      makeEvent({ product_line_id: 'edges-h', timestamp: iso(hourStart), cost_usd: '1' }),
      makeEvent({ product_line_id: 'edges-m', timestamp: iso(monthStart - 1), cost_usd: '8' }),
      makeEvent({ product_line_id: 'edges-m', timestamp: iso(monthStart), cost_usd: '2' }),
    ]);
    expect((await check({ product_line: 'edges-h' })).budgets[0].spent).toBe('1');
    expect((await check({ product_line: 'edges-m' })).budgets[0].spent).toBe('2');
    // The same figures after a resync from ClickHouse.
    await t.app.budgets.sync();
    expect((await check({ product_line: 'edges-h' })).budgets[0].spent).toBe('1');
    expect((await check({ product_line: 'edges-m' })).budgets[0].spent).toBe('2');
  });

  it('caps each run separately with a run budget', async () => {
    await send('POST', '/api/v1/budgets', { name: 'per-run', scope: { product_line: 'runs' }, window: 'run', amount_usd: '2', action: 'block' });
    await ingest([
      makeEvent({ product_line_id: 'runs', run_id: 'run-A', timestamp: iso(now - 2000), cost_usd: '1.5' }),
      makeEvent({ product_line_id: 'runs', run_id: 'run-A', timestamp: iso(now - 1000), cost_usd: '0.5' }),
      makeEvent({ product_line_id: 'runs', run_id: 'run-B', timestamp: iso(now - 1000), cost_usd: '0.5' }),
    ]);
    expect(await check({ product_line: 'runs', run_id: 'run-A' })).toMatchObject({ allow: false, budgets: [{ window: 'run', spent: '2' }] });
    expect(await check({ product_line: 'runs', run_id: 'run-B' })).toMatchObject({ allow: true, budgets: [{ spent: '0.5', remaining: '1.5' }] });
    expect(await check({ product_line: 'runs' })).toMatchObject({ allow: true, budgets: [] });
  });

  it('shows a scoped key only the budgets of its product lines', async () => {
    const listed = (await t.app.inject({ url: '/api/v1/budgets', headers: as('scopedrd') })).json().budgets;
    expect(listed.map((b: { name: string }) => b.name)).toEqual(['per-run']);
    const other = (await t.app.inject({ url: '/api/v1/budgets', headers: as('rd') })).json().budgets.find((b: { name: string }) => b.name === 'ent-v3-gpt5');
    expect((await t.app.inject({ url: `/api/v1/budgets/${other.id}`, headers: as('scopedrd') })).statusCode).toBe(404);
    expect(await check({ product_line: 'support', segment: 'enterprise', agent_version: 'v3', model: 'gpt-5' }, 'scopedrd')).toEqual({ allow: true, budgets: [], reason: 'no budget applies' });
    expect(await check({ product_line: 'runs', run_id: 'run-A' }, 'scopedrd')).toMatchObject({ allow: false, budgets: [{ name: 'per-run' }] });
    const status = (await t.app.inject({ url: '/api/v1/budgets/status', headers: as('scopedrd') })).json().budgets;
    expect(status.map((b: { name: string }) => b.name)).toEqual(['per-run']);
    expect((await t.app.inject({ url: '/api/v1/notifications', headers: as('scopedrd') })).json()).toMatchObject({ status: 403, reason: 'forbidden_scope' });
  });

  it('projects month-end spend from the burn rate and flags budgets on pace to exceed', async () => {
    await send('POST', '/api/v1/budgets', { name: 'slow-burn', scope: { product_line: 'burn-slow' }, window: 'month', amount_usd: '100', action: 'alert' });
    await send('POST', '/api/v1/budgets', { name: 'fast-burn', scope: { product_line: 'burn-fast' }, window: 'month', amount_usd: '100', action: 'alert' });
    // $2 and $5 a day on March 1..10, 2026; status as of March 11 00:00 (10 of 31 days).
    await ingest(Array.from({ length: 10 }, (_, d) => [
      makeEvent({ product_line_id: 'burn-slow', timestamp: iso(Date.UTC(2026, 2, d + 1, 12)), cost_usd: '2' }),
      makeEvent({ product_line_id: 'burn-fast', timestamp: iso(Date.UTC(2026, 2, d + 1, 12)), cost_usd: '5' }),
    ]).flat());
    const status = (await t.app.inject({ url: '/api/v1/budgets/status?at=2026-03-11T00:00:00Z', headers: as('rd') })).json();
    const slow = status.budgets.find((b: { name: string }) => b.name === 'slow-burn');
    const fast = status.budgets.find((b: { name: string }) => b.name === 'fast-burn');
    expect(slow).toMatchObject({ spent_usd: '20', pct: 20, projected_usd: '62', on_pace_to_exceed: false, projected_exhaustion: null, window_start: '2026-03-01T00:00:00.000Z' });
    expect(fast).toMatchObject({ spent_usd: '50', pct: 50, projected_usd: '155', on_pace_to_exceed: true, projected_exhaustion: '2026-03-21' });
  });

  it('validates budgets and roles', async () => {
    const cases: [object, string][] = [
      [{ name: 'x', scope: { planet: 'mars' }, window: 'day', amount_usd: '1' }, 'scope'],
      [{ name: 'x', scope: {}, window: 'day', amount_usd: '1' }, 'scope'],
      [{ name: 'x', scope: { product_line: 'a' }, window: 'fortnight', amount_usd: '1' }, 'window'],
      [{ name: 'x', scope: { product_line: 'a' }, window: 'day', amount_usd: '0' }, 'amount_usd'],
      [{ name: 'x', scope: { product_line: 'a' }, window: 'day', amount_usd: 5 }, 'amount_usd'],
      // amounts the pattern refuses were then parsed by the positivity check: a 500, not a 400
      ...['1e400', '1e2', 'NaN', '0.0000000000001', '99999999999999999999999999.9999999999999', '-1', ' 1', '1.'].map((amount_usd): [object, string] => [{ name: 'x', scope: { product_line: 'a' }, window: 'day', amount_usd }, 'amount_usd']),
      [{ name: 'x', scope: { product_line: 'a' }, window: 'day', amount_usd: '1', thresholds: [0.5, 0.5] }, 'thresholds'],
      [{ name: 'x', scope: { product_line: "a'; DROP TABLE budgets; --\u0000" }, window: 'day', amount_usd: '1' }, 'scope.product_line'],
    ];
    for (const [payload, parameter] of cases) {
      const res = await send('POST', '/api/v1/budgets', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().errors.map((e: { parameter: string }) => e.parameter).join(' ')).toContain(parameter);
    }
    expect((await send('POST', '/api/v1/budgets', { name: 'x', scope: { product_line: 'a' }, window: 'day', amount_usd: '1' }, 'ing')).statusCode).toBe(403);
    expect((await send('POST', '/api/v1/budgets/check', { estimated_cost_usd: 'lots' })).json()).toMatchObject({ status: 400, errors: [{ parameter: 'estimated_cost_usd' }] });
    const hostile = await check({ product_line: "' OR 1=1 --", segment: '😀' });
    expect(hostile).toMatchObject({ allow: true, budgets: [] });
    const b = (await send('POST', '/api/v1/budgets', { name: 'temp', scope: { product_line: 'temp' }, window: 'day', amount_usd: '1' })).json();
    expect((await send('PUT', `/api/v1/budgets/${b.id}`, { name: 'temp2', scope: { product_line: 'temp' }, window: 'week', amount_usd: '2' })).json()).toMatchObject({ name: 'temp2', window: 'week' });
    const badPut = await send('PUT', `/api/v1/budgets/${b.id}`, { name: 'temp2', scope: { product_line: 'temp' }, window: 'week', amount_usd: '1e400' });
    expect(badPut.statusCode).toBe(400);
    expect(badPut.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter: 'amount_usd' }] });
    expect((await send('DELETE', `/api/v1/budgets/${b.id}`)).statusCode).toBe(204);
    expect((await t.app.inject({ url: `/api/v1/budgets/${b.id}`, headers: as('rd') })).json().reason).toBe('unknown_budget');
  });
});

describe('notifications and webhooks', () => {
  let receiver: Server;
  let url = '';
  const received: { body: string; signature: string; verified: boolean }[] = [];
  let failFirst = 0;
  const secret = 'whsec_0123456789abcdef';
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const signature = String(req.headers['x-ledger-signature'] ?? '');
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
        const verified = !!m && createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex') === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
        received.push({ body, signature, verified });
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(500).end('down for a moment');
        } else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));
  const deliveries = async () => (await send('POST', '/api/v1/guardrails/evaluate', { anomalies: false }), (await t.app.inject({ url: '/api/v1/webhooks/deliveries?limit=1000', headers: as('adm') })).json().deliveries as { notification_id: string; webhook_id: string; attempt: number; outcome: string; http_status: number; type: string }[]);

  it('fires each threshold once, signed, retrying a receiver that fails first', async () => {
    const hook = await send('POST', '/api/v1/webhooks', { url, secret });
    expect(hook.statusCode).toBe(201);
    expect((await t.app.inject({ url: '/api/v1/webhooks', headers: as('adm') })).json().webhooks).toEqual([{ id: hook.json().id, url }]);
    await send('POST', '/api/v1/budgets', { name: 'notify-me', scope: { product_line: 'notify' }, window: 'day', amount_usd: '10', thresholds: [0.5, 1], action: 'alert' });
    failFirst = 1;
    await ingest([makeEvent({ product_line_id: 'notify', timestamp: iso(now - 1000), cost_usd: '6' })]);
    await t.app.guard.evaluate();
    await t.app.guard.evaluate();
    await until(async () => received.some((r) => r.body.includes('notify-me')) && received.filter((r) => r.body.includes('notify-me')).length >= 2);
    const mine = (await deliveries()).filter((d) => d.webhook_id === hook.json().id);
    const crossing = mine.filter((d) => d.type === 'budget.threshold_crossed');
    expect(crossing.map((d) => [d.attempt, d.outcome, d.http_status]).sort()).toEqual([[1, 'retrying', 500], [2, 'delivered', 200]]);
    const bodies = received.filter((r) => r.body.includes('notify-me'));
    expect(bodies.every((r) => r.verified)).toBe(true);
    expect(JSON.parse(bodies.at(-1)!.body)).toMatchObject({ type: 'budget.threshold_crossed', data: { name: 'notify-me', threshold: 0.5, spent_usd: '6', limit_usd: '10' } });

    await ingest([makeEvent({ product_line_id: 'notify', timestamp: iso(now - 500), cost_usd: '4' })]);
    await t.app.guard.evaluate();
    await t.app.guard.evaluate();
    await until(async () => received.some((r) => r.body.includes('budget.exhausted')));
    const notes = await rows<{ type: string; n: number }>(t.app, "SELECT type, count() AS n FROM notifications FINAL WHERE payload LIKE '%notify-me%' GROUP BY type ORDER BY type");
    expect(notes).toEqual([{ type: 'budget.exhausted', n: 1 }, { type: 'budget.threshold_crossed', n: 1 }]);
    const signatures = received.filter((r) => r.body.includes('notify-me')).map((r) => JSON.parse(r.body).id);
    expect(new Set(signatures).size).toBe(2);
  });

  it('records a dead receiver as failed and never slows ingestion', async () => {
    const dead = await send('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/nothing-here', secret });
    await send('POST', '/api/v1/budgets', { name: 'dead-end', scope: { product_line: 'dead' }, window: 'day', amount_usd: '1', thresholds: [1], action: 'block' });
    const started = performance.now();
    const res = await post(t.app, [makeEvent({ product_line_id: 'dead', timestamp: iso(now - 1000), cost_usd: '2' })], as('ing'));
    expect(res.statusCode).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    await until(async () => (await deliveries()).some((d) => d.webhook_id === dead.json().id && d.outcome === 'failed'));
    const attempts = (await deliveries()).filter((d) => d.webhook_id === dead.json().id && d.type === 'budget.exhausted');
    expect(attempts.map((d) => [d.attempt, d.outcome])).toEqual([[3, 'failed'], [2, 'retrying'], [1, 'retrying']]);
    expect(await check({ product_line: 'dead' })).toMatchObject({ allow: false });
    expect((await send('DELETE', `/api/v1/webhooks/${dead.json().id}`)).statusCode).toBe(204);
  });

  it('refuses loopback, private and non-http webhook URLs (SSRF) by default', async () => {
    const strict = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', API_KEYS: KEYS, MIGRATE_ON_START: false, BUDGET_EVAL_INTERVAL_MS: 0 }), { engine: t.app.engine });
    try {
      for (const bad of ['http://127.0.0.1:8080/x', 'http://localhost/x', 'http://10.1.2.3/x', 'http://192.168.0.10/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://[::ffff:127.0.0.1]/x', 'http://0.0.0.0/x', 'ftp://example.com/x', 'http://user:pw@example.com/x', 'not a url']) {
        const res = await strict.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url: bad, secret }, headers: as('adm') });
        expect(res.statusCode, bad).toBe(400);
        expect(res.json().reason, bad).toBe('webhook_url_forbidden');
      }
      expect((await strict.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url: 'http://93.184.215.14/x', secret: 'short' }, headers: as('adm') })).statusCode).toBe(400);
    } finally {
      await strict.close();
    }
  });
});

describe('anomalies', () => {
  const day8 = Date.UTC(2026, 1, 8, 10, 15);
  beforeAll(async () => {
    const events: Record<string, unknown>[] = [];
    for (let d = 1; d <= 7; d++) {
      const at = iso(Date.UTC(2026, 1, d, 10, 15));
      events.push(makeEvent({ product_line_id: 'anom', user_id: 'spiky', timestamp: at, cost_usd: '1' }));
      events.push(makeEvent({ product_line_id: 'anom', user_id: 'steady', timestamp: at, cost_usd: '1' }));
      events.push(makeEvent({ product_line_id: 'anom', user_id: 'tiny', timestamp: at, cost_usd: '0.01' }));
      for (let i = 0; i < 10; i++) events.push(makeEvent({ product_line_id: 'anom', feature: 'summarize', timestamp: at, cost_usd: '0.2' }));
    }
    events.push(makeEvent({ product_line_id: 'anom', user_id: 'spiky', timestamp: iso(day8), cost_usd: '3' }));
    events.push(makeEvent({ product_line_id: 'anom', user_id: 'steady', timestamp: iso(day8), cost_usd: '1.2' }));
    events.push(makeEvent({ product_line_id: 'anom', user_id: 'tiny', timestamp: iso(day8), cost_usd: '0.05' }));
    for (let i = 0; i < 4; i++) events.push(makeEvent({ product_line_id: 'anom', feature: 'summarize', timestamp: iso(day8), cost_usd: '0.4' }));
    // 'burst': the same traffic at 5× the cost per event, so the hour is anomalous in both ways
    for (let d = 1; d <= 7; d++) for (let i = 0; i < 10; i++) events.push(makeEvent({ product_line_id: 'anom', feature: 'burst', timestamp: iso(Date.UTC(2026, 1, d, 10, 20)), cost_usd: '0.2' }));
    for (let i = 0; i < 10; i++) events.push(makeEvent({ product_line_id: 'anom', feature: 'burst', timestamp: iso(Date.UTC(2026, 1, 8, 10, 20)), cost_usd: '1' }));
    await ingest(events);
  });
  const at = iso(Date.UTC(2026, 1, 8, 11, 0));

  it('flags a 3× spike against the same hour of the previous 7 days, not a steady or tiny value', async () => {
    const res = (await t.app.inject({ url: `/api/v1/anomalies?dimension=user&window=1h&at=${at}`, headers: as('rd') })).json();
    expect(res.anomalies).toEqual([expect.objectContaining({ value: 'spiky', kind: 'spend', cost_usd: '3', baseline_cost_usd: '1', ratio: 3, hour: '2026-02-08T10:00:00.000Z' })]);
    const lenient = (await t.app.inject({ url: `/api/v1/anomalies?dimension=user&window=1h&at=${at}&min_spend_usd=0.01`, headers: as('rd') })).json();
    expect(lenient.anomalies.map((a: { value: string }) => a.value).sort()).toEqual(['spiky', 'tiny']);
  });

  it('catches a feature that got dearer per event while its traffic fell', async () => {
    const res = (await t.app.inject({ url: `/api/v1/anomalies?dimension=feature&window=1h&at=${at}`, headers: as('rd') })).json();
    const byValue = (v: string) => res.anomalies.filter((a: { value: string }) => a.value === v);
    expect(byValue('summarize')).toEqual([expect.objectContaining({ value: 'summarize', kind: 'cost_per_event', cost_usd: '1.6', baseline_cost_usd: '2', cost_per_event: '0.4', baseline_cost_per_event: '0.2', ratio: 2 })]);
    // both kinds for one hour: spend 10 vs 2, and 1 per event vs 0.2
    expect(byValue('burst').map((a: { kind: string; ratio: number }) => [a.kind, a.ratio])).toEqual([['spend', 5], ['cost_per_event', 5]]);
  });

  it('reports top spenders and raises anomaly notifications once', async () => {
    const top = (await t.app.inject({ url: `/api/v1/reports/top-spenders?dimension=user&window=24h&limit=2&at=${at}`, headers: as('rd') })).json();
    expect(top.spenders).toEqual([{ value: 'spiky', cost_usd: '3', events: 1 }, { value: 'steady', cost_usd: '1.2', events: 1 }]);
    // the window read is given, so the digest can be reproduced
    expect([top.from, top.to]).toEqual(['2026-02-07T11:00:00.000Z', '2026-02-08T11:00:00.000Z']);
    await t.app.guard.evaluate({ anomalies: true, at: Date.parse(at) });
    await t.app.guard.evaluate({ anomalies: true, at: Date.parse(at) });
    const notes = await rows<{ n: number }>(t.app, "SELECT count() AS n FROM notifications FINAL WHERE type = 'anomaly.detected' AND payload LIKE '%spiky%'");
    expect(notes[0]!.n).toBe(1);
    for (const bad of ['dimension=planet', 'dimension=user&window=forever', 'dimension=user&window=999d', "dimension=user'--"]) {
      expect((await t.app.inject({ url: `/api/v1/anomalies?${bad}`, headers: as('rd') })).statusCode, bad).toBe(400);
    }
  });
});
