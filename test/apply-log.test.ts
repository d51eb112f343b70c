// Two-step ingestion (docs/ingestion.md): receipts after the log insert, the apply into
// cost_events, recovery of commits a crash left in the log, backpressure, pruning; and the claims
// and leases that let several processes share one applier.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createEngine, type Engine } from '../src/clickhouse.js';
import { Claims } from '../src/cluster/claims.js';
import { configWith } from '../src/config.js';
import { classify } from '../src/events/classify.js';
import { addDecimals, buildTestApp, makeEvent, one, post, rows, type TestApp } from './helper.js';

const KEYS = 'ingest:log-ing,read:log-read,admin:log-adm';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const ledger = async (t: TestApp, productLine: string) =>
  one<{ n: number; cost: string; rollup: string; ids: number }>(t.app, `
    SELECT count() AS n, toString(sum(cost_usd)) AS cost, uniqExact(event_id) AS ids,
           (SELECT toString(sum(cost_usd)) FROM cost_business_hourly WHERE product_line_id = {pl:String}) AS rollup
    FROM cost_events WHERE product_line_id = {pl:String}`, { pl: productLine });

describe('receive, then apply', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ API_KEYS: KEYS, LOAD_PRICE_CATALOG: false });
  });
  afterAll(async () => t.close());

  it('acknowledges after the log insert and answers reads of the same process with the write applied', async () => {
    const events = Array.from({ length: 50 }, (_, i) => makeEvent({ product_line_id: 'log-a', cost_usd: `0.0${i % 10}1`, timestamp: '2026-03-02T10:00:00Z' }));
    const res = await post(t.app, events, as('log-ing'));
    expect(res.json()).toMatchObject({ accepted: 50, duplicates: 0 });
    // The very next request of the process sees all 50 (through the rollup, i.e. the views were fed).
    const costs = await t.app.inject({ url: '/api/v1/agent-costs?from=2026-03-02&to=2026-03-03&product_line=log-a&source=rollup', headers: as('log-read') });
    expect(costs.json().totals).toMatchObject({ events: 50, cost_usd: addDecimals(events.map((e) => e.cost_usd as string)) });
    // One commit, applied, and its log part dropped (the log holds what is pending).
    const applied = await one<{ n: number }>(t.app, "SELECT count() AS n FROM applied_commits WHERE applied_at >= now64(3) - INTERVAL 1 MINUTE");
    expect(applied.n).toBe(1);
    const logged = await one<{ n: number }>(t.app, "SELECT count() AS n FROM event_log WHERE product_line_id = 'log-a'");
    expect(logged.n).toBe(0);
  });

  it('bounds the apply statement only: later reads of the process keep no time limit', async () => {
    expect((await post(t.app, [makeEvent({ product_line_id: 'bound' })], as('log-ing'))).statusCode).toBe(200);
    await rows(t.app, 'SELECT 1');
    // the embedded engine keeps a call's settings for its session: the bound must not be one
    const [setting] = await rows<{ m: number }>(t.app, "SELECT getSetting('max_execution_time') AS m");
    expect(Number(setting!.m)).toBe(0);
    const [logged] = await rows<{ n: number }>(t.app, "SELECT count() AS n FROM cost_events WHERE product_line_id = 'bound'");
    expect(Number(logged!.n)).toBe(1);
  });

  it('stamps the rows of a later apply later', async () => {
    await post(t.app, [makeEvent({ product_line_id: 'log-b', event_id: 'log-b-1' })], as('log-ing'));
    await t.app.ingestor.settle();
    await post(t.app, [makeEvent({ product_line_id: 'log-b', event_id: 'log-b-2' })], as('log-ing'));
    const stamps = await rows<{ event_id: string; r: string }>(t.app, "SELECT event_id, toString(received_at) AS r FROM cost_events WHERE product_line_id = 'log-b' ORDER BY event_id");
    expect(stamps.map((s) => s.event_id)).toEqual(['log-b-1', 'log-b-2']);
    expect(stamps[1]!.r > stamps[0]!.r).toBe(true);
  });

  it('counts once an id that reaches the log twice (two processes answering one retry)', async () => {
    // Two commits logging the same id, as two processes would when both see it as new.
    const row = (id: string, cost: string) => {
      const c = classify({ value: makeEvent({ event_id: id, product_line_id: 'log-c', cost_usd: cost }) }, 0, '2026-03-02 10:00:00.000');
      if (c.kind !== 'event') throw new Error('fixture did not validate');
      return c.row;
    };
    const first = randomUUID();
    const second = randomUUID();
    await t.app.engine.client.insert({ table: 'event_log', values: [{ ...row('log-c-1', '1'), commit_id: first, received_at: '2026-03-02 10:00:00.000' }], format: 'JSONEachRow' });
    await t.app.engine.client.insert({ table: 'event_log', values: [{ ...row('log-c-1', '7'), commit_id: second, received_at: '2026-03-02 10:00:00.001' }, { ...row('log-c-2', '2'), commit_id: second, received_at: '2026-03-02 10:00:00.001' }], format: 'JSONEachRow' });
    await t.app.ingestor.applier.recover();
    // The first logged version wins; the second commit's other event still counts.
    expect(await ledger(t, 'log-c')).toMatchObject({ n: 2, ids: 2, cost: '3', rollup: '3' });
    // Applying the same commits again (an applier that died before recording them) adds nothing.
    await t.app.engine.client.command({ query: 'ALTER TABLE applied_commits DELETE WHERE commit_id IN {ids:Array(String)}', query_params: { ids: [first, second] }, clickhouse_settings: { mutations_sync: '2' } });
    await t.app.ingestor.applier.recover();
    expect(await ledger(t, 'log-c')).toMatchObject({ n: 2, cost: '3', rollup: '3' });
    // And a client's retry of either id is a duplicate.
    const retry = await post(t.app, [makeEvent({ event_id: 'log-c-1', product_line_id: 'log-c' })], as('log-ing'));
    expect(retry.json()).toMatchObject({ accepted: 0, duplicates: 1, results: [{ reason: 'already_ingested' }] });
  });

  it('checks and logs concurrent batches together (group commit), with exact receipts for ids they share', async () => {
    // 8 batches of 200 at once; batch k shares its first 100 ids with batch k-1: 900 distinct ids.
    const id = (n: number) => `log-g-${n}`;
    const batches = Array.from({ length: 8 }, (_, k) => Array.from({ length: 200 }, (_, i) =>
      makeEvent({ event_id: id(k * 100 + i), product_line_id: 'log-g', cost_usd: '0.25', timestamp: '2026-03-02T11:00:00Z' })));
    const commitsBefore = (await one<{ n: number }>(t.app, 'SELECT count() AS n FROM applied_commits')).n;
    const receipts = (await Promise.all(batches.map((b) => post(t.app, b, as('log-ing'))))).map((r) => r.json() as { accepted: number; duplicates: number });
    expect(receipts.reduce((n, r) => n + r.accepted, 0)).toBe(900);
    expect(receipts.reduce((n, r) => n + r.duplicates, 0)).toBe(700);
    expect(await ledger(t, 'log-g')).toMatchObject({ n: 900, ids: 900, cost: '225', rollup: '225' });
    // Fewer commits (log inserts) than batches: batches arriving during a round share the next one.
    const commits = (await one<{ n: number }>(t.app, 'SELECT count() AS n FROM applied_commits')).n - commitsBefore;
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThan(8);
  });

  it('never logs one id twice from two apps on one engine, so their applies need no ledger lookup', async () => {
    // A second app on the same engine object shares the applier and its reserved and pending ids.
    const other = await buildTestApp({ API_KEYS: KEYS, LOAD_PRICE_CATALOG: false, MIGRATE_ON_START: false }, t.app.engine);
    try {
      const events = Array.from({ length: 300 }, (_, i) => makeEvent({ event_id: `log-h-${i}`, product_line_id: 'log-h', cost_usd: '1', timestamp: '2026-03-02T12:00:00Z' }));
      const [a, b] = (await Promise.all([post(t.app, events, as('log-ing')), post(other.app, events, as('log-ing'))])).map((r) => r.json() as { accepted: number; duplicates: number });
      expect(a!.accepted + b!.accepted).toBe(300);
      expect(a!.duplicates + b!.duplicates).toBe(300);
      // Logged once: the apply of own commits does not look ids up, so an id logged twice would count twice here.
      expect(await ledger(t, 'log-h')).toMatchObject({ n: 300, ids: 300, cost: '300', rollup: '300' });
    } finally {
      await other.app.close();
    }
  });

  it('logs only the columns some row of a commit sets, and every row reads back exactly as sent', async () => {
    const base = { product_line_id: 'log-s', timestamp: '2026-03-02T13:00:00Z' };
    const events = [
      makeEvent({ ...base, event_id: 'log-s-1', cost_usd: '0' }),
      makeEvent({ ...base, event_id: 'log-s-2', cost_usd: '0.0', environment: 'staging', attributes: { team: 'a\\b"c' }, attempt: 2 }),
      makeEvent({ ...base, event_id: 'log-s-3', cost_usd: '2.5', status: 'error', customer_id: "o'brien" }),
    ];
    expect((await post(t.app, events, as('log-ing'))).json()).toMatchObject({ accepted: 3 });
    const stored = await rows<Record<string, unknown>>(t.app, `
      SELECT event_id, environment, toString(cost_usd) AS cost, status, attempt, customer_id, attributes, record_type, correction_id, cost_source
      FROM cost_events WHERE product_line_id = 'log-s' ORDER BY event_id`);
    expect(stored).toEqual([
      { event_id: 'log-s-1', environment: 'production', cost: '0', status: 'success', attempt: 1, customer_id: '', attributes: {}, record_type: 'event', correction_id: '', cost_source: 'reported' },
      { event_id: 'log-s-2', environment: 'staging', cost: '0', status: 'success', attempt: 2, customer_id: '', attributes: { team: 'a\\b"c' }, record_type: 'event', correction_id: '', cost_source: 'reported' },
      { event_id: 'log-s-3', environment: 'production', cost: '2.5', status: 'error', attempt: 1, customer_id: "o'brien", attributes: {}, record_type: 'event', correction_id: '', cost_source: 'reported' },
    ]);
  });

  it('drops whole days of log once applied and keeps a day with a commit still to apply', async () => {
    const old = (day: string, commit: string) => {
      const c = classify({ value: makeEvent({ product_line_id: 'log-d', timestamp: `${day}T10:00:00Z` }) }, 0, `${day} 10:00:00.000`);
      if (c.kind !== 'event') throw new Error('fixture did not validate');
      return { ...c.row, commit_id: commit, received_at: `${day} 10:00:00.000` };
    };
    const applied = randomUUID();
    const pending = randomUUID();
    await t.app.engine.client.insert({ table: 'event_log', values: [old('2026-01-03', applied)], format: 'JSONEachRow' });
    await t.app.engine.client.insert({ table: 'applied_commits', values: [{ commit_id: applied, stamp: '2026-01-03 10:00:01.000' }], format: 'JSONEachRow' });
    await t.app.engine.client.insert({ table: 'event_log', values: [old('2026-01-04', pending)], format: 'JSONEachRow' });
    const dropped = await t.app.ingestor.applier.prune();
    expect(dropped).toContain('20260103');
    expect(dropped).not.toContain('20260104');
    const days = await rows<{ d: string }>(t.app, "SELECT DISTINCT toString(toYYYYMMDD(received_at)) AS d FROM event_log WHERE product_line_id = 'log-d' ORDER BY d");
    expect(days).toEqual([{ d: '20260104' }]);
  });
});

describe('backpressure and a failing apply', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ API_KEYS: KEYS, LOAD_PRICE_CATALOG: false, INGEST_MAX_BACKLOG_ROWS: 1000, INGEST_APPLY_WAIT_MS: 2000 });
  });
  afterAll(async () => t.close());

  it('answers 503 ingest_backlog with Retry-After when the apply is stuck, writes nothing of that batch, and catches up by itself', async () => {
    // The apply cannot write while cost_events is detached; the receipts still come (the log is fine).
    await t.app.engine.client.command({ query: 'DETACH TABLE cost_events' });
    let reattached = false;
    try {
      const first = Array.from({ length: 1001 }, () => makeEvent({ product_line_id: 'log-e', cost_usd: '0.01' }));
      expect((await post(t.app, first, as('log-ing'))).json()).toMatchObject({ accepted: 1001 });
      const refused = await post(t.app, [makeEvent({ product_line_id: 'log-e', event_id: 'log-e-refused', cost_usd: '5' })], as('log-ing'));
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.json()).toMatchObject({ reason: 'ingest_backlog' });
      // (Straight to the engine: the test helper would wait for the stuck apply.)
      const logged = await (await t.app.engine.client.query({ query: "SELECT count() AS n FROM event_log WHERE event_id = 'log-e-refused'", format: 'JSONEachRow' })).json<{ n: number }>();
      expect(logged).toEqual([{ n: 0 }]);
      await t.app.engine.client.command({ query: 'ATTACH TABLE cost_events' });
      reattached = true;
      // A failed pass is retried after a second (or at once when asked); reads wait for it.
      await t.app.ingestor.applier.flush();
      expect(await ledger(t, 'log-e')).toMatchObject({ n: 1001, cost: '10.01', rollup: '10.01' });
      const again = await post(t.app, [makeEvent({ product_line_id: 'log-e', event_id: 'log-e-refused', cost_usd: '5' })], as('log-ing'));
      expect(again.json()).toMatchObject({ accepted: 1 });
      expect(await ledger(t, 'log-e')).toMatchObject({ n: 1002, cost: '15.01' });
    } finally {
      if (!reattached) await t.app.engine.client.command({ query: 'ATTACH TABLE cost_events' }).catch(() => undefined);
    }
  }, 30_000);
});

describe('a crash between log and apply', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the commits left in the log when the next process starts', async () => {
    const config = configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent', LOAD_PRICE_CATALOG: false, API_KEYS: KEYS });
    let engine: Engine = await createEngine(config);
    let app = await buildApp(config, { engine });
    await post(app, [makeEvent({ product_line_id: 'log-f', cost_usd: '1.5' })], as('log-ing'));
    // A commit logged (and acknowledged) by a process that died before applying it.
    const c = classify({ value: makeEvent({ product_line_id: 'log-f', event_id: 'log-f-orphan', cost_usd: '2.25' }) }, 0, '2026-03-02 10:00:00.000');
    if (c.kind !== 'event') throw new Error('fixture did not validate');
    await engine.client.insert({ table: 'event_log', values: [{ ...c.row, commit_id: randomUUID(), received_at: new Date().toISOString().replace('T', ' ').replace('Z', '') }], format: 'JSONEachRow' });
    await app.close();
    await engine.client.close();

    engine = await createEngine(config);
    app = await buildApp(config, { engine });
    try {
      const costs = await app.inject({ url: '/api/v1/agent-costs?from=2026-01-01&to=2026-12-31&product_line=log-f', headers: as('log-read') });
      expect(costs.json().totals).toMatchObject({ events: 2, cost_usd: '3.75' });
    } finally {
      await app.close();
      await engine.client.close();
    }
  }, 60_000);
});

describe('claims and leases', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ LOAD_PRICE_CATALOG: false });
  });
  afterAll(async () => t.close());

  it('gives a key to exactly one of many concurrent claimers', async () => {
    const claimers = Array.from({ length: 6 }, () => new Claims(t.app.engine.client));
    const won = await Promise.all(claimers.map((c) => c.claim('test:once')));
    expect(won.filter(Boolean)).toHaveLength(1);
    // The winner keeps it; everyone reads the same owner.
    const winner = claimers[won.indexOf(true)]!;
    expect(await winner.claim('test:once')).toBe(true);
    expect(new Set(await Promise.all(claimers.map((c) => c.ownerOf('test:once'))))).toEqual(new Set([winner.owner]));
  });

  it('lets one process hold a lease, another take it over after expiry or release, never two at once', async () => {
    const a = new Claims(t.app.engine.client).lease('test-lease', 1500);
    const b = new Claims(t.app.engine.client).lease('test-lease', 1500);
    const [ha, hb] = await Promise.all([a.tick(), b.tick()]);
    expect([ha, hb].filter(Boolean)).toHaveLength(1);
    const [holder, other] = ha ? [a, b] : [b, a];
    // The holder keeps it while it ticks; the other cannot take it.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect(await holder.tick()).toBe(true);
      expect(await other.tick()).toBe(false);
    }
    // Silent for longer than the ttl: the other takes the next term, and the old holder knows it lost.
    await new Promise((r) => setTimeout(r, 1700));
    expect(holder.held(0)).toBe(false);
    expect(await other.tick()).toBe(true);
    expect(await holder.tick()).toBe(false);
    const termNo = (key: string) => Number(key.split(':').at(-1));
    const taken = termNo(other.term!);
    expect(taken).toBeGreaterThanOrEqual(2);
    // Released: the first one takes it at once, without waiting for expiry, with a later term.
    await other.release();
    expect(await holder.tick()).toBe(true);
    expect(termNo(holder.term!)).toBeGreaterThan(taken);
    expect(other.held(0)).toBe(false);
  }, 20_000);
});
