// /metrics through prom-client: exact counts after known traffic — ingest outcomes, batch sizes,
// ingest lag, request latency per route template, ClickHouse call durations per tag — plus the
// process metrics; and nothing in it names a key, a product line or a customer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { Metrics } from '../src/metrics.js';
import { buildTestApp, makeEvent, post, type TestApp } from './helper.js';

const KEYS = 'admin:metrics-admin-key,ingest:metrics-ingest-key,read:metrics-read-key';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
});
afterAll(async () => t?.close());

/** The value of one sample line, labels given in the order prom-client writes them. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const line = text.split('\n').find((l) => l.startsWith(wanted ? `${name}{` : `${name} `) && (!wanted || l.includes(`{${wanted}}`) || l.startsWith(`${name}{${wanted}`)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

describe('/metrics', () => {
  const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
  let text = '';
  beforeAll(async () => {
    const batch = [
      makeEvent({ product_line_id: 'metrics-secret-line', customer_id: 'cust-metrics-secret', timestamp: tenMinutesAgo }),
      makeEvent({ product_line_id: 'metrics-secret-line', timestamp: tenMinutesAgo }),
      makeEvent({ product_line_id: undefined, timestamp: tenMinutesAgo }), // quarantined
    ];
    expect((await post(t.app, batch, as('metrics-ingest-key'))).statusCode).toBe(207);
    await t.app.ingestor.settle(); // applied, so the retry is looked up in the ledger (not found pending in memory)
    expect((await post(t.app, [batch[0]], as('metrics-ingest-key'))).json()).toMatchObject({ duplicates: 1 });
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ url: `/api/v1/prices?limit=${10 + i}`, headers: as('metrics-read-key') })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/no-such-route/metrics-secret-line', headers: as('metrics-read-key') })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/v1/prices', headers: as('wrong-key-123') })).statusCode).toBe(401);
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    text = res.body;
  });

  it('counts ingest outcomes and batch sizes exactly', () => {
    expect(sample(text, 'agent_ledger_events_total', { status: 'accepted' })).toBe(2);
    expect(sample(text, 'agent_ledger_events_total', { status: 'duplicates' })).toBe(1);
    expect(sample(text, 'agent_ledger_events_total', { status: 'quarantined' })).toBe(1);
    expect(sample(text, 'agent_ledger_events_total', { status: 'rejected' })).toBe(0);
    expect(sample(text, 'agent_ledger_ingest_batch_events_count')).toBe(2);
    expect(sample(text, 'agent_ledger_ingest_batch_events_sum')).toBe(4);
    expect(sample(text, 'agent_ledger_ingest_batch_events_bucket', { le: '2' })).toBe(1); // the single-event retry
    expect(sample(text, 'agent_ledger_ingest_batch_events_bucket', { le: '5' })).toBe(2);
  });

  it('measures ingest lag from the event timestamp, accepted events only', () => {
    expect(sample(text, 'agent_ledger_ingest_lag_seconds_count')).toBe(2);
    const sum = sample(text, 'agent_ledger_ingest_lag_seconds_sum')!;
    expect(sum).toBeGreaterThanOrEqual(1200);
    expect(sum).toBeLessThan(1200 + 120);
    expect(sample(text, 'agent_ledger_ingest_lag_seconds_bucket', { le: '300' })).toBe(0);
    expect(sample(text, 'agent_ledger_ingest_lag_seconds_bucket', { le: '900' })).toBe(2);
  });

  it('keeps a latency histogram per route template, method and status', () => {
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/prices', status_code: '200' })).toBe(3);
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/prices', status_code: '401' })).toBe(1);
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/events', status_code: '207' })).toBe(1);
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/events', status_code: '200' })).toBe(1);
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_sum', { method: 'GET', route: '/api/v1/prices', status_code: '200' })).toBeGreaterThan(0);
    expect(sample(text, 'agent_ledger_http_requests_total', { route: '/api/v1/prices', code: '200' })).toBe(3);
    const prices = { method: 'GET', route: '/api/v1/prices', status_code: '200' };
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_bucket', { ...prices, le: '+Inf' })).toBe(3);
    expect(sample(text, 'agent_ledger_http_request_duration_seconds_bucket', { ...prices, le: '30' })).toBe(3);
    expect(text).toMatch(/^# TYPE agent_ledger_http_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE agent_ledger_http_requests_total counter$/m);
  });

  it('renders request latencies as cumulative Prometheus buckets, exactly', async () => {
    const metrics = new Metrics();
    for (const seconds of [0.0005, 0.003, 0.004, 0.2, 0.25, 40]) metrics.http.observe('GET', '/x', 200, seconds);
    metrics.http.observe('POST', '/x', 200, 0.01);
    metrics.http.observe('GET', '/x', 500, 0.01);
    const out = await metrics.render();
    const get = { method: 'GET', route: '/x', status_code: '200' };
    const bucket = (le: string) => sample(out, 'agent_ledger_http_request_duration_seconds_bucket', { ...get, le });
    expect([bucket('0.001'), bucket('0.0025'), bucket('0.005'), bucket('0.1'), bucket('0.25'), bucket('0.5'), bucket('30'), bucket('+Inf')]).toEqual([1, 1, 3, 3, 5, 5, 5, 6]);
    expect(sample(out, 'agent_ledger_http_request_duration_seconds_count', get)).toBe(6);
    expect(sample(out, 'agent_ledger_http_request_duration_seconds_sum', get)).toBeCloseTo(40.4575, 10);
    // The counter is by route and code: GET and POST with 200 add up, the 500 stays apart.
    expect(sample(out, 'agent_ledger_http_requests_total', { route: '/x', code: '200' })).toBe(7);
    expect(sample(out, 'agent_ledger_http_requests_total', { route: '/x', code: '500' })).toBe(1);
  });

  it('times ClickHouse calls by query tag and kind', () => {
    // Two batches: one log insert and one apply into cost_events (the retry was a duplicate), two duplicate checks.
    expect(sample(text, 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'insert', tag: 'event_log', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'command', tag: 'events.apply-commits', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'query', tag: 'events.find-ingested-ids', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'insert', tag: 'quarantine', outcome: 'ok' })).toBe(1);
    const tags = [...text.matchAll(/^agent_ledger_clickhouse_query_duration_seconds_count\{kind="query",tag="([^"]+)"/gm)].map((m) => m[1]);
    expect(tags.length).toBeGreaterThan(0);
    expect(tags).not.toContain(undefined);
  });

  it('exports the process metrics', () => {
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('names no key, product line or customer', () => {
    expect(text).not.toMatch(/metrics-secret|cust-metrics|metrics-(admin|ingest|read)-key|wrong-key/);
  });

  it('times each call of a shared engine once in every app built on it', async () => {
    const second = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', API_KEYS: KEYS, MIGRATE_ON_START: false, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 }), { engine: t.app.engine });
    try {
      const before = sample(await t.app.metrics.render(), 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'insert', tag: 'event_log', outcome: 'ok' });
      expect((await post(second, [makeEvent({ product_line_id: 'metrics-two' })], as('metrics-ingest-key'))).statusCode).toBe(200);
      expect(sample(await second.metrics.render(), 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'insert', tag: 'event_log', outcome: 'ok' })).toBe(1);
      expect(sample(await t.app.metrics.render(), 'agent_ledger_clickhouse_query_duration_seconds_count', { kind: 'insert', tag: 'event_log', outcome: 'ok' })).toBe(before! + 1);
      expect(sample(await second.metrics.render(), 'agent_ledger_events_total', { status: 'accepted' })).toBe(1);
    } finally {
      await second.close();
    }
  });
});
