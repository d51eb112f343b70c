// Shared state across processes, in one test process: two apps on one embedded engine, each with
// its own claims, applier and leases (as two API processes on one ClickHouse server would have),
// so the server-mode code paths run. test/shared-state-processes.test.ts does the same with real
// processes over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createEngine, type Engine } from '../src/clickhouse.js';
import { configWith } from '../src/config.js';
import { migrate } from '../src/migrate.js';
import { Claims } from '../src/cluster/claims.js';
import { withClusterLock } from '../src/cluster/lock.js';
import { budgetSpend, readSpend, spendWindow } from '../src/budgets/spend.js';
import { scopeDimensions } from '../src/budgets/service.js';
import { classify } from '../src/events/classify.js';
import { makeEvent, post, rows, startWebhookReceiver, type WebhookReceiver } from './helper.js';

let dir = '';
let engine: Engine;
let A: FastifyInstance;
let B: FastifyInstance;
const SYNC_MS = 300;
const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An app that behaves as one API process of several on a ClickHouse server. */
const processOn = (env: Record<string, string | number | boolean> = {}) => buildApp(configWith({
  DATA_DIR: dir, LOG_LEVEL: 'silent', MIGRATE_ON_START: false, LOAD_PRICE_CATALOG: false, WEBHOOK_ALLOW_PRIVATE: true,
  CLUSTER_SYNC_MS: SYNC_MS, BUDGET_SYNC_MS: 0, BUDGET_EVAL_INTERVAL_MS: 0, ...env,
}), { engine: { ...engine, mode: 'server' } });

async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000, show?: () => Promise<unknown>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms${show ? `: ${JSON.stringify(await show())}` : ''}`);
    await sleep(25);
  }
}

const send = (app: FastifyInstance, method: 'POST' | 'PUT' | 'DELETE' | 'GET', url: string, payload?: unknown) =>
  app.inject({ method, url, payload: payload as object, headers: payload === undefined ? {} : { 'content-type': 'application/json' } });
const check = async (app: FastifyInstance, attrs: Record<string, string>) => (await send(app, 'POST', '/api/v1/budgets/check', attrs)).json();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-ledger-shared-'));
  engine = await createEngine(configWith({ DATA_DIR: dir }));
  await migrate(engine, () => undefined);
  A = await processOn();
  B = await processOn();
});

afterAll(async () => {
  for (const app of [A, B]) {
    await app?.close();
    await app?.ingestor.applier.close();
  }
  await engine?.client.close();
  // The engine may still be finishing a background merge after close.
  rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
});

describe('configuration changed through one process', () => {
  it('reaches the other within CLUSTER_SYNC_MS plus one round: product line, price, budget', async () => {
    // Product line (B answers from memory).
    expect((await send(B, 'GET', '/api/v1/taxonomy/product-lines/shared-line')).statusCode).toBe(404);
    expect((await send(A, 'PUT', '/api/v1/taxonomy/product-lines/shared-line', { name: 'Shared line', cost_center: 'CC-1' })).statusCode).toBe(201);
    const line = await until(async () => (await send(B, 'GET', '/api/v1/taxonomy/product-lines/shared-line')).statusCode === 200);
    expect(line.ms).toBeLessThan(2 * SYNC_MS + 1000);

    // Price (B prices from its in-memory book).
    const probe = { provider: 'acme', model: 'shared-model', tool: '', type: 'llm', timestamp: '2026-01-15 12:00:00.000', input_tokens: 1_000_000, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, quantity: '0', unit: '' };
    expect(B.pricing.book.price(probe)).toMatchObject({ cost_source: 'unpriced' });
    expect((await send(A, 'PUT', '/api/v1/prices', { prices: [{ provider: 'acme', item: 'shared-model', effective_from: '2020-01-01T00:00:00Z', input_per_mtok: '3', output_per_mtok: '15' }] })).statusCode).toBe(200);
    const priced = await until(async () => B.pricing.book.price(probe).cost_source === 'priced' && B.pricing.book.price(probe));
    expect(String(priced.value.cost_usd)).toBe('3');
    expect(priced.ms).toBeLessThan(2 * SYNC_MS + 1000);

    // Budget: created, changed, deleted through A; B's pre-flight check follows.
    const created = (await send(A, 'POST', '/api/v1/budgets', { name: 'shared', scope: { product_line: 'shared-line' }, window: 'day', amount_usd: '5', action: 'block' })).json();
    const seen = await until(async () => (await check(B, { product_line: 'shared-line' })).budgets.length === 1);
    expect(seen.ms).toBeLessThan(2 * SYNC_MS + 1000);
    await send(A, 'PUT', `/api/v1/budgets/${created.id}`, { name: 'shared', scope: { product_line: 'shared-line' }, window: 'day', amount_usd: '7', action: 'block' });
    await until(async () => (await check(B, { product_line: 'shared-line' })).budgets[0]?.limit === '7');
    await send(A, 'DELETE', `/api/v1/budgets/${created.id}`);
    await until(async () => (await check(B, { product_line: 'shared-line' })).budgets.length === 0);
  });

  it('also when the change bypasses the API (a direct insert): the fingerprint covers every row', async () => {
    await engine.client.insert({ table: 'product_lines', values: [{ id: 'direct-line', name: 'Direct', updated_at: '2020-01-01 00:00:00.000' }], format: 'JSONEachRow' });
    const both = await until(async () => A.taxonomy.get('direct-line') !== undefined && B.taxonomy.get('direct-line') !== undefined);
    expect(both.ms).toBeLessThan(2 * SYNC_MS + 1000);
  });
});

describe('budget spend with several writers', () => {
  it("sees the other process's spend within the bound, and never loses its own", async () => {
    await send(A, 'POST', '/api/v1/budgets', { name: 'spend', scope: { product_line: 'spend-line' }, window: 'day', amount_usd: '10', action: 'block' });
    await until(async () => (await check(B, { product_line: 'spend-line' })).budgets.length === 1);
    const ts = iso(Math.max(hour, Date.now() - 60_000));
    expect((await post(A, [makeEvent({ product_line_id: 'spend-line', timestamp: ts, cost_usd: '4.000000000001' })])).statusCode).toBe(200);
    // Its own rows count once applied (the receipt comes before the apply), exactly once.
    await until(async () => (await check(A, { product_line: 'spend-line' })).budgets[0].spent === '4.000000000001', 10_000, async () => (await check(A, { product_line: 'spend-line' })).budgets);
    const other = await until(async () => (await check(B, { product_line: 'spend-line' })).budgets[0].spent === '4.000000000001', 10_000, async () => (await check(B, { product_line: 'spend-line' })).budgets);
    expect(other.ms).toBeLessThan(2 * SYNC_MS + 1000);
    // Both write at once: each process counts its own rows when applied, the other's within the bound; exact.
    await Promise.all([
      post(A, [makeEvent({ product_line_id: 'spend-line', timestamp: ts, cost_usd: '3' })]),
      post(B, [makeEvent({ product_line_id: 'spend-line', timestamp: ts, cost_usd: '3.5' })]),
    ]);
    for (const app of [A, B]) await until(async () => (await check(app, { product_line: 'spend-line' })).budgets[0].spent === '10.500000000001', 10_000, async () => [(await check(A, { product_line: 'spend-line' })).budgets, (await check(B, { product_line: 'spend-line' })).budgets]);
    expect((await check(B, { product_line: 'spend-line' })).allow).toBe(false);
  });

  it('reads many budgets in a few grouped queries, equal to one query per budget', async () => {
    const from = Date.now() - 30_000;
    await post(A, [
      makeEvent({ product_line_id: 'g1', segment: 'ent', model: 'm1', timestamp: iso(from), cost_usd: '1.25' }),
      makeEvent({ product_line_id: 'g1', segment: 'smb', model: 'm2', timestamp: iso(from), cost_usd: '2' }),
      makeEvent({ product_line_id: 'g2', segment: 'ent', model: 'm1', timestamp: iso(from), cost_usd: '4' }),
    ]);
    await A.ingestor.settle();
    const budgets = [
      { id: 'b1', window: 'day' as const, scope: { product_line: 'g1' } },
      { id: 'b2', window: 'day' as const, scope: { product_line: 'g2' } },
      { id: 'b3', window: 'day' as const, scope: { product_line: 'g3' } },
      { id: 'b4', window: 'day' as const, scope: { product_line: 'g1', segment: 'ent' } },
      { id: 'b5', window: 'day' as const, scope: { product_line: 'g2', segment: 'smb' } },
      { id: 'b6', window: 'month' as const, scope: { segment: 'ent', model: 'm1' } },
      { id: 'b7', window: 'run' as const, scope: { product_line: 'g1' } },
      { id: 'b8', window: 'run' as const, scope: { product_line: 'g2' } },
      { id: 'b9', window: 'run' as const, scope: { product_line: 'g1', segment: 'smb' } },
    ];
    const at = Date.now();
    const grouped = await readSpend(engine.client, budgets, at, scopeDimensions);
    for (const b of budgets) {
      const { start, end } = spendWindow(b.window, at);
      const one = await budgetSpend(engine.client, b, start, end, scopeDimensions);
      expect({ units: grouped.get(b.id)!.units, runs: grouped.get(b.id)!.runs }).toEqual({ units: one.total, runs: one.runs });
    }
    expect(grouped.get('b9')!.runs.size).toBe(1);
    expect(Object.fromEntries([...grouped].map(([id, s]) => [id, s.units]))).toMatchObject({ b1: 3_250_000_000_000n, b2: 4_000_000_000_000n, b3: 0n, b4: 1_250_000_000_000n, b5: 0n });
  });
});

describe('a budget crossing', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver.close());

  it('is announced once although every process evaluates it', async () => {
    const url = receiver.url;
    expect((await send(B, 'POST', '/api/v1/webhooks', { url, secret: 'whsec_0123456789abcdef' })).statusCode).toBe(201);
    await send(A, 'POST', '/api/v1/budgets', { name: 'once', scope: { product_line: 'once-line' }, window: 'day', amount_usd: '2', thresholds: [0.5, 1], action: 'alert' });
    await until(async () => (await check(B, { product_line: 'once-line' })).budgets.length === 1);
    await post(A, [makeEvent({ product_line_id: 'once-line', timestamp: iso(Math.max(hour, Date.now() - 60_000)), cost_usd: '2.5' })]);
    await until(async () => (await check(B, { product_line: 'once-line' })).budgets[0].spent === '2.5');
    // Both evaluate, at once and again; the claim picks one announcer per threshold.
    await Promise.all([A.guard.evaluate(), B.guard.evaluate(), A.guard.evaluate(), B.guard.evaluate()]);
    await until(async () => receiver.received.filter((r) => r.body.includes('"once"')).length >= 2);
    await sleep(3 * SYNC_MS + 500);
    await Promise.all([A.guard.evaluate(), B.guard.evaluate()]);
    await sleep(2 * SYNC_MS);
    const mine = receiver.received.filter((r) => r.body.includes('"once"'));
    expect(mine.map((r) => JSON.parse(r.body).type).sort()).toEqual(['budget.exhausted', 'budget.threshold_crossed']);
    expect(new Set(mine.map((r) => r.delivery)).size).toBe(2);
    const stored = await rows<{ n: number }>(A, "SELECT count() AS n FROM notifications FINAL WHERE payload LIKE '%\"once\"%'");
    expect(Number(stored[0]!.n)).toBe(2);
  });
});

describe('cluster lock', () => {
  it('is an in-process queue in embedded mode, with the same wait bound', async () => {
    const app = { engine: { mode: 'embedded' }, config: { CLUSTER_LOCK_WAIT_MS: 60_000, CLUSTER_LOCK_TTL_MS: 10_000 }, log: console } as unknown as FastifyInstance;
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => withClusterLock(app, 'embedded', async () => {
      order.push(i);
      await sleep(50);
      order.push(-i);
    })));
    expect(order).toEqual([1, -1, 2, -2, 3, -3]);
    const long = withClusterLock(app, 'embedded', () => sleep(500));
    await expect(withClusterLock(app, 'embedded', async () => 'never', { waitMs: 100 })).rejects.toMatchObject({ statusCode: 503, reason: 'lock_busy' });
    await long;
    expect(await withClusterLock(app, 'embedded', async () => 'next')).toBe('next');
  });

  it('serializes critical sections of different processes and times out waiters with 503 lock_busy', async () => {
    const trace: string[] = [];
    const section = (app: FastifyInstance, who: string) => withClusterLock(app, 'test-lock', async () => {
      trace.push(`${who}+`);
      await sleep(150);
      trace.push(`${who}-`);
    });
    await Promise.all([section(A, 'a1'), section(B, 'b1'), section(A, 'a2'), section(B, 'b2')]);
    expect(trace).toHaveLength(8);
    for (let i = 0; i < 8; i += 2) expect(trace[i]!.slice(0, -1)).toBe(trace[i + 1]!.slice(0, -1));
    const long = withClusterLock(A, 'test-lock', () => sleep(1500));
    await sleep(100);
    await expect(withClusterLock(B, 'test-lock', async () => 'never', { waitMs: 400 })).rejects.toMatchObject({ statusCode: 503, reason: 'lock_busy' });
    await long;
    expect(await withClusterLock(B, 'test-lock', async () => 'after', { waitMs: 2000 })).toBe('after');
  });

  it('is taken over after its ttl when the holder dies without releasing it', async () => {
    const dead = new Claims(engine.client).lease('lock:orphan', 1000);
    expect(await dead.tick()).toBe(true);
    const started = performance.now();
    expect(await withClusterLock(B, 'orphan', async () => 'mine', { ttlMs: 1000, waitMs: 5000 })).toBe('mine');
    expect(performance.now() - started).toBeGreaterThan(500);
  });

  it('a lease whose validity lapsed here is taken again with a new term (it used to hang)', async () => {
    const lease = new Claims(engine.client).lease('lapse', 1000);
    expect(await lease.tick()).toBe(true);
    const first = lease.term;
    await sleep(1100);
    expect(await Promise.race([lease.tick(), sleep(15_000).then(() => 'hung')])).toBe(true);
    expect(lease.term).not.toBe(first);
  });
});

describe('month close and shared-cost entry', () => {
  it('run one at a time across processes: a shared cost lands in the statement or is refused, never beside it', async () => {
    const month = '2025-03';
    await post(A, [makeEvent({ product_line_id: 'close-a', timestamp: '2025-03-10T10:00:00Z', cost_usd: '10' }), makeEvent({ product_line_id: 'close-b', timestamp: '2025-03-11T10:00:00Z', cost_usd: '30' })]);
    const [close1, close2, shared] = await Promise.all([
      send(A, 'POST', `/api/v1/periods/${month}/close`),
      send(B, 'POST', `/api/v1/periods/${month}/close`),
      send(B, 'POST', '/api/v1/shared-costs', { month, name: 'platform', amount_usd: '8.00', method: 'proportional', basis: 'cost' }),
    ]);
    expect([close1.statusCode, close2.statusCode].sort()).toEqual([201, 409]);
    expect([close1, close2].find((r) => r.statusCode === 409)!.json().reason).toBe('period_closed');
    const closed = [close1, close2].find((r) => r.statusCode === 201)!.json();
    if (shared.statusCode === 201) {
      expect(shared.json().allocations.map((a: { amount_usd: string }) => a.amount_usd)).toEqual(['2', '6']);
      expect(closed.effective_cost_usd).toBe('48');
    } else {
      expect(shared.json().reason).toBe('period_closed');
      expect(closed.effective_cost_usd).toBe('40');
    }
    const periods = await rows<{ n: number }>(A, "SELECT count() AS n FROM periods WHERE month = '2025-03-01'");
    expect(Number(periods[0]!.n)).toBe(1);
  });

  it('a close includes what another process acknowledged just before, still waiting for its apply', async () => {
    // A logs the events and answers; the apply batches for up to INGEST_APPLY_DELAY_MS (2 s) first.
    const res = await post(A, [makeEvent({ product_line_id: 'close-wait', timestamp: '2025-05-10T10:00:00Z', cost_usd: '7.000000000001' })]);
    expect(res.statusCode).toBe(200);
    const close = await send(B, 'POST', '/api/v1/periods/2025-05/close');
    expect(close.statusCode, close.body).toBe(201);
    expect(close.json().effective_cost_usd).toBe('7.000000000001');
  });

  it('records one shared cost when the same entry races through both processes', async () => {
    const body = { month: '2025-04', name: 'vector db', amount_usd: '9.99', method: 'fixed', weights: { x: '1', y: '2' } };
    const answers = await Promise.all([send(A, 'POST', '/api/v1/shared-costs', body), send(B, 'POST', '/api/v1/shared-costs', body), send(A, 'POST', '/api/v1/shared-costs', { ...body, amount_usd: '5' })]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 201, 409]);
    expect(answers[0]!.json().allocations).toEqual(answers[1]!.json().allocations);
    const stored = await rows<{ n: number; total: string }>(A, "SELECT count() AS n, toString(sum(amount_usd)) AS total FROM shared_cost_allocations FINAL WHERE month = '2025-04-01'");
    expect(stored[0]).toEqual({ n: 2, total: '9.99' });
  });
});

describe('the event log with several writers', () => {
  it('takes the retry of an event whose process died between its log rows and its commit row, and counts it once', async () => {
    // What a process leaves when it dies after the event_log insert and before the log_commits row:
    // rows never acknowledged, and no commit row, so no applier applies them.
    const event = makeEvent({ event_id: 'orphan-1', product_line_id: 'orphan-line', cost_usd: '2.5', timestamp: iso(hour) });
    const c = classify({ value: event }, 0, '2026-01-15 12:00:00.000');
    if (c.kind !== 'event') throw new Error('fixture did not validate');
    const logged = new Date().toISOString().replace('T', ' ').replace('Z', '');
    await engine.client.insert({ table: 'event_log', values: [{ ...c.row, received_at: logged, commit_id: 'orphan-commit' }], format: 'JSONEachRow' });
    // The client retries through the other process: not a duplicate, since that delivery was never acknowledged.
    expect((await post(B, [event])).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    await B.ingestor.settle();
    // And once the retry's commit is complete, a further retry is a duplicate on either process.
    expect((await post(A, [event])).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const ledger = await rows<{ n: number; cost: string }>(A, "SELECT count() AS n, toString(sum(cost_usd)) AS cost FROM cost_events WHERE product_line_id = 'orphan-line'");
    expect(ledger).toEqual([{ n: 1, cost: '2.5' }]);
    const pending = await rows<{ n: number }>(A, "SELECT count() AS n FROM log_commits WHERE commit_id = 'orphan-commit'");
    expect(pending).toEqual([{ n: 0 }]);
  });
});
