// Shared state across real API processes: three servers (child processes, each its own PORT) on
// one ClickHouse HTTP endpoint (the embedded engine behind ClickHouse's HTTP interface, test
// infrastructure). A change through one process is used by the others within the stated bound
// (CLUSTER_SYNC_MS + one round), spend posted through one is in another's
// pre-flight check within it, a budget crossing is delivered once although every process
// evaluates it, and month close / shared-cost entry through different processes are serialized.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { startApiProcesses, type ServerProcess } from './server-process.js';
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http-endpoint.js';
import { makeEvent, startWebhookReceiver, type WebhookReceiver } from './helper.js';

const SYNC_MS = 1000; // the default
// The documented bound is CLUSTER_SYNC_MS plus one round (docs/operations.md: ≤ 2 s at the default,
// a round being tens of ms on a ClickHouse server). Here a round waits its turn on the test
// endpoint, which runs parameterized queries one at a time for all three processes on a shared
// 2-core machine: allow it 1.5 s.
const BOUND_MS = SYNC_MS + 1500;
const DATABASE = 'shared_state_test';
let endpoint: ClickHouseHttp;
let sql: ClickHouseClient;
let procs: ServerProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
const recent = () => new Date(Math.max(hour, Date.now() - 60_000)).toISOString();

async function call(p: ServerProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${p.url}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
const check = async (p: ServerProcess, attrs: Record<string, string>) => (await call(p, 'POST', '/api/v1/budgets/check', attrs)).json;
const ingest = async (p: ServerProcess, events: Record<string, unknown>[]) => {
  const r = await call(p, 'POST', '/api/v1/events', { events });
  expect(r.status).toBe(200);
  expect(r.json.accepted).toBe(events.length);
};

/** Assert a measured propagation time is within the bound, and report it. */
function withinBound(what: string, ms: number) {
  console.log(`${what}: ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
  expect(ms).toBeLessThan(BOUND_MS);
}

/** Poll until `probe` holds; the time it took, from `since` (a performance.now() instant). */
async function until(probe: () => Promise<boolean>, since = performance.now(), timeoutMs = 15_000): Promise<number> {
  for (;;) {
    if (await probe()) return performance.now() - since;
    if (performance.now() - since > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

beforeAll(async () => {
  endpoint = await startClickHouseHttp();
  sql = createClient({ url: endpoint.url, database: DATABASE });
  const env = {
    CLICKHOUSE_DATABASE: DATABASE, LOAD_PRICE_CATALOG: 'false', WEBHOOK_ALLOW_PRIVATE: 'true',
    CLUSTER_SYNC_MS: String(SYNC_MS), BUDGET_EVAL_INTERVAL_MS: '500', LOG_LEVEL: 'info',
    // The test endpoint runs parameterized queries one at a time for all three processes: idle
    // appliers polling every 50 ms would keep it busy and queue every other query behind them.
    APPLIER_POLL_MS: '200',
  };
  const started = performance.now();
  // The first applies the migrations; the others start on the migrated database.
  procs = await startApiProcesses(3, endpoint.url, env);
  console.log(`endpoint and three API processes started in ${(performance.now() - started).toFixed(0)} ms`);
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await sql?.close();
  await endpoint?.stop();
});

describe('several API processes on one ClickHouse', () => {
  it('use a product line, price and budget changed through another within the bound', async () => {
    const [a, b, c] = procs as [ServerProcess, ServerProcess, ServerProcess];
    // Product line: B answers from memory.
    expect((await call(b, 'GET', '/api/v1/taxonomy/product-lines/proc-line')).status).toBe(404);
    expect((await call(a, 'PUT', '/api/v1/taxonomy/product-lines/proc-line', { name: 'Procs', cost_center: 'CC-9' })).status).toBe(201);
    let t0 = performance.now();
    withinBound('product line through A, in B', await until(async () => (await call(b, 'GET', '/api/v1/taxonomy/product-lines/proc-line')).status === 200, t0));

    // Price: C prices events from its in-memory book. Probes posted through C before and after the
    // price is added through A; every probe sent later than the bound after it must be priced.
    const probes: { run: string; sentAt: number }[] = [];
    let stop = false;
    const probing = (async () => {
      for (let i = 0; !stop; i++) {
        const run = `probe-${i}`;
        probes.push({ run, sentAt: performance.now() });
        await ingest(c, [makeEvent({ run_id: run, provider: 'acme', model: 'proc-model', cost_usd: undefined, usage: { input_tokens: 1_000_000, output_tokens: 0 }, timestamp: recent() })]);
        await sleep(100);
      }
    })();
    await sleep(400);
    expect((await call(a, 'PUT', '/api/v1/prices', { prices: [{ provider: 'acme', item: 'proc-model', effective_from: '2020-01-01T00:00:00Z', input_per_mtok: '3', output_per_mtok: '15' }] })).status).toBe(200);
    t0 = performance.now();
    await sleep(BOUND_MS + 800);
    stop = true;
    await probing;
    await until(async () => Number((await (await sql.query({ query: "SELECT count() AS n FROM cost_events WHERE startsWith(run_id, 'probe-')", format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n) === probes.length);
    const costs = new Map((await (await sql.query({ query: "SELECT run_id, toString(cost_usd) AS cost FROM cost_events WHERE startsWith(run_id, 'probe-')", format: 'JSONEachRow' })).json<{ run_id: string; cost: string }>()).map((r) => [r.run_id, r.cost]));
    const unpricedAfter = probes.filter((p) => p.sentAt > t0 && costs.get(p.run) === '0').map((p) => p.sentAt - t0);
    withinBound('price through A, last probe C priced without it', Math.max(0, ...unpricedAfter));
    expect(probes.filter((p) => p.sentAt > t0 + BOUND_MS).every((p) => costs.get(p.run) === '3')).toBe(true);
    expect(probes.some((p) => p.sentAt < t0 - 100 && costs.get(p.run) === '0')).toBe(true);

    // Budget created, changed and deleted through A; B's and C's pre-flight checks follow.
    const created = (await call(a, 'POST', '/api/v1/budgets', { name: 'procs', scope: { product_line: 'proc-line' }, window: 'day', amount_usd: '5', action: 'block' })).json;
    t0 = performance.now();
    for (const p of [b, c]) withinBound('budget created through A, in B and C', await until(async () => (await check(p, { product_line: 'proc-line' })).budgets.length === 1, t0));
    await call(a, 'PUT', `/api/v1/budgets/${created.id}`, { name: 'procs', scope: { product_line: 'proc-line' }, window: 'day', amount_usd: '7', action: 'block' });
    t0 = performance.now();
    withinBound('budget changed through A, in B', await until(async () => (await check(b, { product_line: 'proc-line' })).budgets[0]?.limit === '7', t0));
    await call(a, 'DELETE', `/api/v1/budgets/${created.id}`);
    t0 = performance.now();
    withinBound('budget deleted through A, in C', await until(async () => (await check(c, { product_line: 'proc-line' })).budgets.length === 0, t0));
  }, 60_000);

  it("count every process's spend in the pre-flight check, exactly, within the bound", async () => {
    const [a, b, c] = procs as [ServerProcess, ServerProcess, ServerProcess];
    await call(a, 'POST', '/api/v1/budgets', { name: 'spend', scope: { product_line: 'proc-spend' }, window: 'day', amount_usd: '10', action: 'block' });
    await until(async () => (await Promise.all(procs.map((p) => check(p, { product_line: 'proc-spend' })))).every((r) => r.budgets.length === 1));
    // The bound runs from the apply (receipts come before it: docs/ingestion.md), seen here as the
    // row's arrival in cost_events; the apply's own latency is logged beside it.
    const applied = async (n: number) => {
      const since = performance.now();
      await until(async () => Number((await (await sql.query({ query: "SELECT count() AS n FROM cost_events WHERE product_line_id = 'proc-spend'", format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n) === n);
      return performance.now() - since;
    };
    await ingest(a, [makeEvent({ product_line_id: 'proc-spend', timestamp: recent(), cost_usd: '4.000000000001' })]);
    const applyMs = await applied(1);
    const t0 = performance.now();
    const seenMs = await until(async () => (await check(b, { product_line: 'proc-spend' })).budgets[0].spent === '4.000000000001', t0);
    console.log(`spend through A: applied ${applyMs.toFixed(0)} ms after the receipt`);
    withinBound("spend through A, in B's check after its apply", seenMs);
    await Promise.all([
      ingest(a, [makeEvent({ product_line_id: 'proc-spend', timestamp: recent(), cost_usd: '3' })]),
      ingest(b, [makeEvent({ product_line_id: 'proc-spend', timestamp: recent(), cost_usd: '2.5' })]),
      ingest(c, [makeEvent({ product_line_id: 'proc-spend', timestamp: recent(), cost_usd: '1' })]),
    ]);
    await applied(4);
    const t1 = performance.now();
    const each = await Promise.all(procs.map((p) => until(async () => (await check(p, { product_line: 'proc-spend' })).budgets[0].spent === '10.500000000001', t1)));
    for (const ms of each) withinBound('spend through all three, in each', ms);
    // And it stays exact (no process counts a row twice once the reads have caught up).
    await sleep(SYNC_MS + 500);
    for (const p of procs) expect(await check(p, { product_line: 'proc-spend' })).toMatchObject({ allow: false, budgets: [{ spent: '10.500000000001' }] });
  }, 60_000);

  describe('a budget crossing', () => {
    let receiver: WebhookReceiver;
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
    });
    afterAll(() => receiver.close());

    it('is delivered once although all three processes evaluate it', async () => {
      const [a, b, c] = procs as [ServerProcess, ServerProcess, ServerProcess];
      expect((await call(b, 'POST', '/api/v1/webhooks', { url: receiver.url, secret: 'whsec_0123456789abcdef' })).status).toBe(201);
      await call(a, 'POST', '/api/v1/budgets', { name: 'announce-once', scope: { product_line: 'proc-once' }, window: 'day', amount_usd: '2', thresholds: [0.5, 1], action: 'block' });
      await until(async () => (await Promise.all(procs.map((p) => check(p, { product_line: 'proc-once' })))).every((r) => r.budgets.length === 1));
      await sleep(SYNC_MS + 200); // every process has the webhook too
      await Promise.all([
        ingest(a, [makeEvent({ product_line_id: 'proc-once', timestamp: recent(), cost_usd: '1.5' })]),
        ingest(c, [makeEvent({ product_line_id: 'proc-once', timestamp: recent(), cost_usd: '1' })]),
      ]);
      await until(async () => receiver.received.filter((r) => r.body.includes('announce-once')).length >= 2);
      // Every process evaluates every 500 ms and after each spend read: give them time to (not) repeat it.
      await sleep(3 * SYNC_MS);
      const mine = receiver.received.filter((r) => r.body.includes('announce-once'));
      expect(mine.map((r) => JSON.parse(r.body).type).sort()).toEqual(['budget.exhausted', 'budget.threshold_crossed']);
      expect(new Set(mine.map((r) => r.delivery)).size).toBe(2);
      const notes = (await call(c, 'GET', '/api/v1/notifications')).json.notifications.filter((n: { payload: { data: { name: string } } }) => n.payload.data.name === 'announce-once');
      expect(notes).toHaveLength(2);
      const stored = await (await sql.query({ query: "SELECT count() AS n FROM notifications WHERE payload LIKE '%announce-once%'", format: 'JSONEachRow' })).json<{ n: string }>();
      expect(Number(stored[0]!.n)).toBe(2);
    }, 60_000);
  });

  it('serialize month close and shared-cost entry across processes', async () => {
    const [a, b, c] = procs as [ServerProcess, ServerProcess, ServerProcess];
    await ingest(a, [
      makeEvent({ product_line_id: 'proc-x', timestamp: '2025-02-10T10:00:00Z', cost_usd: '10' }),
      makeEvent({ product_line_id: 'proc-y', timestamp: '2025-02-11T10:00:00Z', cost_usd: '30' }),
    ]);
    await until(async () => Number((await (await sql.query({ query: "SELECT count() AS n FROM cost_events WHERE toYYYYMM(timestamp) = 202502", format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n) === 2);
    // The same shared cost through all three at once: recorded once, the same answer everywhere.
    const entry = { month: '2025-02', name: 'gpu pool', amount_usd: '8.00', method: 'proportional', basis: 'cost' };
    const entries = await Promise.all(procs.map((p) => call(p, 'POST', '/api/v1/shared-costs', entry)));
    expect(entries.map((r) => r.status)).toEqual([201, 201, 201]);
    for (const r of entries) expect(r.json.allocations.map((x: { amount_usd: string }) => x.amount_usd)).toEqual(['2', '6']);
    // Two closes and a late shared cost at once: one close wins, the other is refused; the shared
    // cost is either in the statement or refused, never recorded beside a frozen statement.
    const [close1, close2, late] = await Promise.all([
      call(a, 'POST', '/api/v1/periods/2025-02/close'),
      call(b, 'POST', '/api/v1/periods/2025-02/close'),
      call(c, 'POST', '/api/v1/shared-costs', { ...entry, name: 'late', amount_usd: '4.00' }),
    ]);
    expect([close1.status, close2.status].sort()).toEqual([201, 409]);
    const closed = (close1.status === 201 ? close1 : close2).json;
    expect((close1.status === 409 ? close1 : close2).json.reason).toBe('period_closed');
    if (late.status === 201) expect(closed.effective_cost_usd).toBe('52');
    else {
      expect(late.json.reason).toBe('period_closed');
      expect(closed.effective_cost_usd).toBe('48');
    }
    const periods = await (await sql.query({ query: "SELECT count() AS n FROM periods WHERE month = '2025-02-01'", format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(periods[0]!.n)).toBe(1);
    const allocated = await (await sql.query({ query: "SELECT toString(sum(amount_usd)) AS total FROM shared_cost_allocations FINAL WHERE month = '2025-02-01'", format: 'JSONEachRow' })).json<{ total: string }>();
    expect(allocated[0]!.total).toBe(late.status === 201 ? '12' : '8');
  }, 60_000);
});
