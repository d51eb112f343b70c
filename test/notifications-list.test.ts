// GET /notifications, /webhooks/deliveries and /anomalies: a strict querystring, and times in ISO-8601 UTC like
// the rest of the API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, until, type TestApp } from './helper.js';

const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
let receiver: Server;
const started = Date.now();
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'admin:adm,read:rd,ingest:ing', WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_RETRY_BASE_MS: 60_000, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
  // /fail answers 500: its deliveries are retried a minute later (next_attempt_at).
  receiver = createServer((req, res) => req.resume().on('end', () => (req.url === '/fail' ? res.writeHead(500).end('no') : res.writeHead(200).end('ok'))));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const send = (url: string, payload: object) => t.app.inject({ method: 'POST', url, payload, headers: as('adm') });
  expect((await send('/api/v1/webhooks', { url, secret: 'whsec_0123456789abcdef' })).statusCode).toBe(201);
  expect((await send('/api/v1/webhooks', { url: url.replace('/hooks', '/fail'), secret: 'whsec_0123456789abcdef' })).statusCode).toBe(201);
  expect((await send('/api/v1/budgets', { name: 'listed', scope: { product_line: 'listed' }, window: 'day', amount_usd: '10', thresholds: [0.5, 1], action: 'alert' })).statusCode).toBe(201);
  expect((await post(t.app, [makeEvent({ product_line_id: 'listed', timestamp: new Date(Date.now() - 1000).toISOString(), cost_usd: '12' })], as('ing'))).json().accepted).toBe(1);
  expect((await send('/api/v1/guardrails/evaluate', { anomalies: false })).statusCode).toBe(200);
});
afterAll(async () => {
  await t.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

const get = (url: string, key = 'adm') => t.app.inject({ url, headers: as(key) });

describe('GET /notifications', () => {
  it('lists the newest first, at most `limit` (default 1000)', async () => {
    const all = (await get('/api/v1/notifications', 'rd')).json().notifications as { type: string }[];
    expect(all.map((n) => n.type).sort()).toEqual(['budget.exhausted', 'budget.threshold_crossed']);
    const one = await get('/api/v1/notifications?limit=1', 'rd');
    expect(one.statusCode).toBe(200);
    expect(one.json().notifications).toHaveLength(1);
  });

  it('refuses an unknown parameter and a limit out of range, naming them', async () => {
    const cases: [string, string, string][] = [
      ['foo=1', 'foo', 'querystring foo: unknown parameter'],
      ['limit=-1', 'limit', 'querystring limit: Too small: expected number to be >=1'],
      ['limit=0', 'limit', 'querystring limit: Too small: expected number to be >=1'],
      ['limit=10001', 'limit', 'querystring limit: Too big: expected number to be <=10000'],
      ['limit=1.5', 'limit', 'querystring limit: Invalid input: expected int, received number'],
    ];
    for (const [qs, parameter, detail] of cases) {
      const res = await get(`/api/v1/notifications?${qs}`, 'rd');
      expect(res.statusCode, qs).toBe(400);
      expect(res.json(), qs).toMatchObject({ status: 400, reason: 'invalid_request', detail, errors: [{ parameter }] });
    }
  });
});

const isoUtc = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('times in ISO-8601 UTC, like the rest of the API', () => {
  it('gives created_at of notifications and attempted_at / next_attempt_at of deliveries as ISO UTC', async () => {
    const notes = (await get('/api/v1/notifications', 'rd')).json().notifications as { created_at: string }[];
    expect(notes).toHaveLength(2);
    for (const n of notes) {
      expect(n.created_at).toMatch(isoUtc);
      expect(Date.parse(n.created_at)).toBeGreaterThanOrEqual(started);
      expect(Date.parse(n.created_at)).toBeLessThanOrEqual(Date.now());
    }
    type Delivery = { outcome: string; attempted_at: string; next_attempt_at: string | null };
    const deliveries = async () => (await get('/api/v1/webhooks/deliveries')).json().deliveries as Delivery[];
    await until(async () => (await deliveries()).length === 4);
    const all = await deliveries();
    expect(all.map((d) => d.outcome).sort()).toEqual(['delivered', 'delivered', 'retrying', 'retrying']);
    for (const d of all) {
      expect(d.attempted_at).toMatch(isoUtc);
      expect(Date.parse(d.attempted_at)).toBeGreaterThanOrEqual(started);
      if (d.outcome === 'delivered') expect(d.next_attempt_at).toBeNull();
      else {
        expect(d.next_attempt_at).toMatch(isoUtc);
        // WEBHOOK_RETRY_BASE_MS after the attempt (the two instants are taken a moment apart)
        expect(Date.parse(d.next_attempt_at!) - Date.parse(d.attempted_at)).toBeGreaterThanOrEqual(59_900);
        expect(Date.parse(d.next_attempt_at!) - Date.parse(d.attempted_at)).toBeLessThanOrEqual(60_000);
      }
    }
  });
});

describe('updated_at of budgets and product lines', () => {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  it('is ISO-8601 UTC when created, and after the registry is read again from the engine', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/budgets', payload: { name: 'stamped', scope: { product_line: 'stamped' }, window: 'day', amount_usd: '1' }, headers: as('adm') });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const listed = () => get('/api/v1/budgets').then((r) => (r.json().budgets as { id: string; updated_at: string }[]).find((b) => b.id === id)!);
    const fresh = await listed();
    expect(fresh.updated_at).toMatch(iso);
    expect(Math.abs(Date.parse(fresh.updated_at) - Date.now())).toBeLessThan(60_000);
    await t.app.budgets.reload();
    expect(await listed()).toEqual(fresh);
    const put = await t.app.inject({ method: 'PUT', url: '/api/v1/taxonomy/product-lines/stamped', payload: { name: 'Stamped', cost_center: 'cc-1', owner: 'o', budget_owner: 'b' }, headers: as('adm') });
    expect(put.statusCode, put.body).toBeLessThan(300);
    const line = (await get('/api/v1/taxonomy/product-lines/stamped')).json();
    expect(line.updated_at).toMatch(iso);
  });
});
