// Engine faults in server mode: the ClickHouse HTTP endpoint for tests is killed and started again
// on the same port and data directory, and stalled past the request timeout. Ingest and reads
// answer 503 engine_unavailable with Retry-After, /readyz says not ready, nothing is acknowledged
// that is not durable, and service resumes by itself: totals equal exactly the acknowledged events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http-endpoint.js';
import { addDecimals, buildTestApp, makeEvent, post, type TestApp } from './helper.js';

const TIMEOUT_MS = 1500;
let endpoint: ClickHouseHttp;
let t: TestApp;
const acknowledged = new Map<string, string>(); // event_id → cost_usd

const batch = (n: number, tag: number) => Array.from({ length: n }, (_, i) => makeEvent({ product_line_id: 'faults', cost_usd: `${tag}.${i}00000001`, run_id: `run-${tag}` }));

/** Post and record what the receipt acknowledges (accepted now, or a duplicate of an earlier acknowledgment). */
async function ingest(events: Record<string, unknown>[]) {
  const res = await post(t.app, { events });
  if (res.statusCode === 200) for (const e of events) acknowledged.set(String(e.event_id), String(e.cost_usd));
  return res;
}

async function totals(): Promise<{ status: number; events?: number; cost?: string }> {
  const res = await t.app.inject({ method: 'GET', url: '/api/v1/agent-costs?from=2026-01-01&to=2026-02-01&product_line=faults' });
  if (res.statusCode !== 200) return { status: res.statusCode };
  const body = res.json();
  return { status: 200, events: Number(body.totals.events), cost: body.totals.cost_usd };
}

async function until(probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  while (!(await probe())) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return performance.now() - started;
}

const ready = async () => (await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200;

function expectUnavailable(res: { statusCode: number; headers: Record<string, unknown>; json: () => { reason: string } }) {
  expect(res.statusCode).toBe(503);
  expect(res.headers['retry-after']).toBe('5');
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.json().reason).toBe('engine_unavailable');
}

async function expectExactTotals() {
  const expected = { status: 200, events: acknowledged.size, cost: addDecimals([...acknowledged.values()]) };
  await until(async () => JSON.stringify(await totals()) === JSON.stringify(expected));
  expect(await totals()).toEqual(expected);
}

beforeAll(async () => {
  endpoint = await startClickHouseHttp();
  t = await buildTestApp({ CLICKHOUSE_URL: endpoint.url, CLICKHOUSE_DATABASE: 'faults', CLICKHOUSE_REQUEST_TIMEOUT_MS: TIMEOUT_MS, LOAD_PRICE_CATALOG: false, CACHE_TTL_MS: 0 });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await endpoint?.stop();
});

describe('ClickHouse unreachable or slow (server mode)', () => {
  it('answers 503 with Retry-After while the engine is down, and resumes by itself when it returns', async () => {
    expect((await ingest(batch(3, 1))).statusCode).toBe(200);
    await expectExactTotals();

    await endpoint.kill();
    const down = batch(3, 2);
    expectUnavailable(await ingest(down));
    expectUnavailable(await t.app.inject({ method: 'GET', url: '/readyz' }));
    expectUnavailable(await t.app.inject({ method: 'GET', url: '/api/v1/agent-costs?from=2026-01-01&to=2026-02-01&group_by=model' }));
    expectUnavailable(await t.app.inject({ method: 'GET', url: '/api/v1/chargeback/weekly?from=2026-01-01&to=2026-02-01' }));
    // Liveness is the process, not the engine.
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    await endpoint.restart();
    await until(ready);
    // The retry of the refused batch is accepted: nothing of it had been acknowledged or written.
    const retried = await ingest(down);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ accepted: 3, duplicates: 0 });
    await expectExactTotals();
  });

  it('keeps what it acknowledged when the engine dies right after, and applies it once it is back', async () => {
    const sent = batch(4, 3);
    expect((await ingest(sent)).statusCode).toBe(200);
    await endpoint.kill();
    // A read waits for this process's acknowledged events at most the request timeout, then 503.
    const started = performance.now();
    expectUnavailable(await t.app.inject({ method: 'GET', url: '/api/v1/agent-costs?from=2026-01-01&to=2026-02-01' }));
    expect(performance.now() - started).toBeLessThan(2 * TIMEOUT_MS + 2000);

    await endpoint.restart();
    await until(ready);
    await expectExactTotals();
    // Posting the same batch again adds nothing.
    expect((await ingest(sent)).json()).toMatchObject({ accepted: 0, duplicates: 4 });
    await expectExactTotals();
  });

  it('bounds a slow engine by the request timeout: 503 instead of waiting, no double count after', async () => {
    await endpoint.stall(3 * TIMEOUT_MS);
    const slow = batch(3, 4);
    const started = performance.now();
    expectUnavailable(await ingest(slow));
    expect(performance.now() - started).toBeLessThan(2 * TIMEOUT_MS + 2000);
    expectUnavailable(await t.app.inject({ method: 'GET', url: '/readyz' }));

    await endpoint.stall(0);
    await until(ready);
    // The engine may still have run what the request sent before it gave up: the retry tells the
    // truth either way, and the totals count every event once.
    const retried = await ingest(slow);
    expect(retried.statusCode).toBe(200);
    expect(retried.json().accepted + retried.json().duplicates).toBe(3);
    await expectExactTotals();
  });
});
