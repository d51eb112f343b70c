// Upgrading a ledger written by the previous release (schema up to migration 011, the wide rollup
// with run-id sets): the new migrations backfill run_facts and the narrow rollups from cost_events
// month by month with progress output, drop the wide rollup, and every answer equals raw events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createEngine, type Engine } from '../src/clickhouse.js';
import { configWith } from '../src/config.js';
import { migrate } from '../src/migrate.js';
import { buildCostQuery, type CostQuery } from '../src/costs/query.js';
import { loadRunBits } from '../src/costs/run-bits.js';
import { sql } from '../src/sql.js';
import { rows } from './helper.js';

let dir: string;
let engine: Engine;
let app: FastifyInstance;
const progress: string[] = [];
let report: Awaited<ReturnType<typeof migrate>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-ledger-upgrade-'));
  const config = configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent', LOAD_PRICE_CATALOG: false });
  engine = await createEngine(config);
  // The previous release: migrations 001–011, then a ledger written into it (20,000 events in
  // runs of 8, January 2026, plus a run that crosses into February and a few in December).
  await migrate(engine, () => {}, { until: 11 });
  await engine.client.command({ query: sql('bench/generate-events').replace('FROM numbers({count:UInt64})', 'FROM numbers(20000)') });
  await engine.client.command({
    query: `INSERT INTO cost_events (event_id, timestamp, type, product_line_id, run_id, segment, model, cost_usd, status)
            VALUES ('x-1', '2025-12-31 23:59:00', 'llm', 'support', 'cross', 'smb', 'o3', 1.5, 'success'),
                   ('x-2', '2026-02-01 00:01:00', 'llm', 'support', 'cross', 'smb', 'o3', 2.25, 'error'),
                   ('x-3', '2025-12-15 10:00:00', 'tool', 'search', 'dec', '', '', 0.005, 'success')`,
  });
  const old = await rows<{ n: string }>({ engine } as FastifyInstance, "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'cost_rollup_hourly'");
  expect(Number(old[0]!.n)).toBe(1);
  report = await migrate(engine, (msg) => progress.push(msg));
  app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent', LOAD_PRICE_CATALOG: false, MIGRATE_ON_START: false }), { engine });
}, 180_000);

afterAll(async () => {
  await app?.close();
  await engine?.client.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('upgrade in place', () => {
  it('applies the new migrations with progress output per month and drops the wide rollup', async () => {
    expect(report.applied).toEqual(expect.arrayContaining(['012_create_run_facts', '013_create_narrow_rollups', '014_drop_wide_rollup', '017_create_daily_rollups']));
    expect(report.applied).toContain('022_create_invoice_lines_daily');
    for (const table of ['run_facts', 'cost_purchase_hourly', 'cost_business_hourly', 'cost_customer_hourly', 'cost_purchase_daily', 'cost_business_daily', 'cost_customer_daily', 'invoice_lines_daily']) {
      const lines = progress.filter((l) => l.startsWith(`backfill ${table}:`));
      const months = [`backfill ${table}: 2025-12 done (1/3 months`, `backfill ${table}: 2026-01 done (2/3 months`, `backfill ${table}: 2026-02 done (3/3 months`];
      // run_facts is filled by migration 012 and rebuilt with its bit sets by 020
      expect(lines.map((l) => l.slice(0, `backfill ${table}: 2026-01 done (2/3 months`.length))).toEqual(table === 'run_facts' ? [...months, ...months] : months);
      expect(lines.at(-1)).toMatch(/20003 ledger rows/);
    }
    const tables = await rows<{ name: string }>(app, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'cost_rollup_hourly%'");
    expect(tables).toEqual([]);
    // 021 writes every run by its start, a product line at a time
    const lines = progress.filter((l) => l.startsWith('run starts:'));
    expect(lines.at(-1)).toMatch(/^run starts: \d+ runs written and merged in/);
    expect(lines.filter((l) => /product line \d+\/\d+ done/.test(l)).length).toBeGreaterThan(0);
  });

  it('the run starts of an upgraded ledger hold every run once, under its earliest event', async () => {
    const want = await rows(app, "SELECT product_line_id, run_id, toString(min(timestamp)) AS s FROM cost_events WHERE run_id != '' GROUP BY product_line_id, run_id ORDER BY product_line_id, run_id");
    const have = await rows(app, 'SELECT product_line_id, run_id, toString(started_at) AS s FROM run_starts GROUP BY product_line_id, run_id, started_at HAVING sum(runs) = 1 ORDER BY product_line_id, run_id');
    expect(have).toEqual(want);
    const [n] = await rows<{ n: string }>(app, 'SELECT sum(runs) AS n FROM run_counts_business_daily');
    expect(Number(n!.n)).toBe(want.length);
  });

  it('backfilled tables equal the ledger: sums, events and one run_facts row per run', async () => {
    const [raw] = await rows<Record<string, string>>(app, "SELECT toString(sum(cost_usd)) AS cost, count() AS events, uniqExact(product_line_id, run_id) AS runs FROM cost_events");
    for (const table of ['cost_purchase_hourly', 'cost_business_hourly', 'cost_customer_hourly', 'cost_purchase_daily', 'cost_business_daily', 'cost_customer_daily']) {
      const [r] = await rows<Record<string, string>>(app, `SELECT toString(sum(cost_usd)) AS cost, sum(events) AS events FROM ${table}`);
      expect(r, table).toEqual({ cost: raw!.cost, events: raw!.events });
    }
    const [lines] = await rows<Record<string, string>>(app, 'SELECT toString(sum(cost_usd)) AS cost, sum(events) AS events, sum(tokens) AS tokens FROM invoice_lines_daily');
    const [billable] = await rows<Record<string, string>>(app, "SELECT toString(sum(cost_usd)) AS cost, countIf(record_type = 'event') AS events, sum(input_tokens + output_tokens) AS tokens FROM cost_events WHERE type != 'outcome'");
    expect(lines).toEqual(billable);
    const [facts] = await rows<Record<string, string>>(app, 'SELECT toString(sum(cost_usd)) AS cost, sum(events) AS events, count() AS runs FROM run_facts FINAL');
    expect(facts).toEqual({ cost: raw!.cost, events: raw!.events, runs: raw!.runs });
    expect(Number(raw!.events)).toBe(20003);
    // the run that crosses a month boundary was backfilled from two months and is one run
    const cross = await rows(app, "SELECT toString(started_at) AS s, toString(ended_at) AS e, toString(cost_usd) AS c, events FROM run_facts FINAL WHERE run_id = 'cross'");
    expect(cross).toEqual([{ s: '2025-12-31 23:59:00.000', e: '2026-02-01 00:01:00.000', c: '3.75', events: 2 }]);
  });

  it('counts runs by model and tool from the rebuilt bit sets, as the events say', async () => {
    const registry = await rows<{ dimension: string; n: string }>(app, "SELECT dimension, count() AS n FROM run_value_bits GROUP BY dimension ORDER BY dimension");
    expect(registry.map((r) => r.dimension)).toEqual(['model', 'provider', 'status', 'tool', 'type']);
    for (const [dim, column] of [['model', 'model'], ['tool', 'tool']] as const) {
      const want = await rows<{ v: string; runs: string }>(app, `SELECT v, count() AS runs FROM (SELECT min(timestamp) AS s, groupUniqArray(toString(${column})) AS vs FROM cost_events WHERE run_id != '' GROUP BY product_line_id, run_id HAVING s >= '2026-01-01' AND s < '2026-02-01') ARRAY JOIN vs AS v GROUP BY v ORDER BY v`);
      // straight from the bit-set statement (no fallback), then through the API
      const q: CostQuery = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1), tz: 'UTC', groupBy: [dim], filters: {}, sort: dim, order: 'asc', limit: 1000, offset: 0 };
      const { query, params } = buildCostQuery(q, 'rollup', await loadRunBits(app.engine.client));
      const direct = await (await app.engine.client.query({ query, query_params: params, format: 'JSONEachRow' })).json<Record<string, string>>();
      const api = (await app.inject({ url: `/api/v1/agent-costs?date_range=2026-01-01,2026-01-31&group_by=${dim}&sort=${dim}&order=asc` })).json() as { rows: { group: Record<string, string>; runs: number }[] };
      const got = api.rows.map((r) => ({ v: r.group[dim], runs: String(r.runs) }));
      expect(got.length).toBeGreaterThan(1);
      expect(got).toEqual(want.filter((w) => got.some((g) => g.v === w.v)).map((w) => ({ v: w.v, runs: String(w.runs) })));
      expect(direct.filter((r) => Number(r.is_total) === 0).map((r) => ({ v: r[`g_${dim}`], runs: String(r.runs) }))).toEqual(got);
    }
  });

  it.each([
    'date_range=2026-01-01,2026-01-31&group_by=segment',
    'date_range=2026-01-01,2026-01-31&group_by=model&granularity=week',
    'date_range=2026-01-01,2026-01-31&group_by=customer&limit=20',
    'from=2025-12-31T23:00:00Z&to=2026-02-01T00:30:00Z&group_by=product_line,status',
    'segment=enterprise&date_range=2026-01-01,2026-01-31&agent_version=v3&group_by=intent_category',
  ])('answers %s from the new tables exactly as from raw events', async (qs) => {
    const auto = await app.inject({ url: `/api/v1/agent-costs?${qs}` });
    const raw = await app.inject({ url: `/api/v1/agent-costs?${qs}&source=raw` });
    expect([auto.statusCode, raw.statusCode]).toEqual([200, 200]);
    expect(auto.json().source).toBe('rollup');
    expect(auto.json().rows).toEqual(raw.json().rows);
    expect(auto.json().totals).toEqual(raw.json().totals);
    expect(auto.json().rows.length).toBeGreaterThan(0);
    // the totals equal a plain SQL sum over the same window
    const window = new URLSearchParams(qs);
    if (!window.get('date_range') || window.get('segment')) return;
    const [sum] = await rows<{ c: string }>(app, "SELECT toString(sum(cost_usd)) AS c FROM cost_events WHERE timestamp >= '2026-01-01' AND timestamp < '2026-02-01'");
    expect(auto.json().totals.cost_usd).toBe(sum!.c);
  });
});
