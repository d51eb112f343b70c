// Cluster DDL (src/cluster-ddl.ts) checked against the engine as far as one machine allows:
// - every statement rendered for a real cluster (ON CLUSTER, Replicated engines with Keeper paths,
//   Distributed tables) parses (formatQuery);
// - every table of that rendering is created by the engine with Keeper paths and macros expanded
//   (an engine configured with macros and an in-memory test Keeper: the tables are created, their
//   engine arguments, version columns and settings checked, though they stay read-only);
// - on a one-shard cluster the migrations lay the big tables out as Distributed over shard-local
//   tables, views write shard-locally, a backfill goes through the Distributed tables, and ingest and
//   reads give the same exact answers (the `cluster` vitest project re-runs whole test files so).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { backfillFromView, clusterLayout, loadMigrations, migrate, renderMigration, splitStatements } from '../src/migrate.js';
import { shardedTables } from '../src/cluster-ddl.js';
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http-endpoint.js';
import { addDecimals, buildTestApp, makeEvent, post, rows, type TestApp } from './helper.js';

const production = { cluster: 'ledger', database: 'agent_ledger', onCluster: true, replicated: true };
const rendered = loadMigrations().flatMap((m) => splitStatements(renderMigration(m.sql, production)).map((statement) => ({ migration: m.version, statement })));
const sharded = [...shardedTables.keys()].filter((t) => t !== 'cost_rollup_hourly'); // dropped by 014
// Sharded tables that store nothing: the applier writes the run changes into them, their views store (021).
const nullTables = new Set(['run_changes']);
const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-cluster-'));

describe('cluster DDL for a real cluster (ON CLUSTER, Replicated, Distributed)', () => {
  let testKeeper: ClickHouseHttp;
  let sql: ClickHouseClient;
  beforeAll(async () => {
    // Macros, an in-memory test Keeper (Replicated tables can be created, not written) and the cluster.
    const config = join(dir, 'replicated.xml');
    writeFileSync(config, `<clickhouse><tcp_port>9000</tcp_port>
      <remote_servers><ledger><shard><replica><host>localhost</host><port>9000</port></replica></shard></ledger></remote_servers>
      <macros><shard>01</shard><replica>r1</replica></macros>
      <zookeeper><implementation>testkeeper</implementation></zookeeper></clickhouse>`);
    testKeeper = await startClickHouseHttp({ configFile: config });
    sql = createClient({ url: testKeeper.url, request_timeout: 20_000, log: { level: ClickHouseLogLevel.OFF } });
  }, 120_000);
  // Killed, not stopped: read-only replicated tables would make a graceful shutdown wait for Keeper.
  afterAll(async () => {
    await sql?.close();
    await testKeeper?.kill();
  });

  it('renders every statement so the engine parses it', async () => {
    expect(rendered.length).toBeGreaterThan(60);
    for (const { migration, statement } of rendered) {
      const res = await sql.query({ query: 'SELECT formatQuery({q:String}) AS f', query_params: { q: statement }, format: 'JSONEachRow' }).catch((err: Error) => {
        throw new Error(`migration ${migration}: ${err.message}\n${statement}`);
      });
      expect((await res.json<{ f: string }>())[0]!.f).toMatch(/^(CREATE|ALTER|DROP|INSERT)/);
    }
    const text = rendered.map((r) => r.statement).join('\n');
    expect(text).not.toMatch(/\{\{/);
    // Every DDL statement runs ON CLUSTER; inserts go through the Distributed tables.
    for (const { statement } of rendered) if (!/^\s*(--[^\n]*\n\s*)*INSERT/.test(statement)) expect(statement).toMatch(/ON CLUSTER 'ledger'/);
  });

  it('creates every table with Replicated engines, Keeper paths per shard or per cluster, and Distributed tables over the shard-local ones', async () => {
    await sql.command({ query: 'CREATE DATABASE IF NOT EXISTS agent_ledger' });
    const db = createClient({ url: testKeeper.url, database: 'agent_ledger', request_timeout: 20_000, log: { level: ClickHouseLogLevel.OFF } });
    try {
      for (const { migration, statement } of rendered) {
        // No DDL queue here (it needs a real Keeper): each statement runs on this one node.
        const local = statement.replaceAll(" ON CLUSTER 'ledger'", '');
        const body = local.replace(/^(\s*--[^\n]*\n)*\s*/, '');
        // Views and backfills need writable tables; ALTERs of a read-only replica are refused (242).
        if (/^(CREATE MATERIALIZED VIEW|INSERT)/.test(body)) continue;
        try {
          await db.command({ query: local });
        } catch (err) {
          if (/^ALTER/.test(body) && (err as { code?: string }).code === '242') continue;
          throw new Error(`migration ${migration}: ${(err as Error).message}\n${local}`);
        }
      }
      const replicas = await (await db.query({ query: "SELECT table, zookeeper_path, replica_name FROM system.replicas WHERE database = 'agent_ledger' ORDER BY table", format: 'JSONEachRow' })).json<{ table: string; zookeeper_path: string; replica_name: string }>();
      const tables = await (await db.query({ query: "SELECT name, engine, engine_full FROM system.tables WHERE database = 'agent_ledger' ORDER BY name", format: 'JSONEachRow' })).json<{ name: string; engine: string; engine_full: string }>();
      const engines = new Map(tables.map((t) => [t.name, t]));
      for (const name of sharded) {
        expect(engines.get(name)?.engine, name).toBe('Distributed');
        expect(engines.get(name)?.engine_full).toContain(`Distributed('ledger', 'agent_ledger', '${name}_local'`);
        if (nullTables.has(name)) {
          expect(engines.get(`${name}_local`)?.engine, name).toBe('Null');
          continue;
        }
        expect(engines.get(`${name}_local`)?.engine, name).toMatch(/^Replicated\w*MergeTree$/);
        expect(replicas.find((r) => r.table === `${name}_local`)).toEqual({ table: `${name}_local`, zookeeper_path: `/clickhouse/tables/01/agent_ledger/${name}_local`, replica_name: 'r1' });
      }
      const others = tables.filter((t) => t.engine !== 'Distributed' && !t.name.endsWith('_local'));
      expect(others.map((t) => t.name)).toEqual(expect.arrayContaining(['prices', 'product_lines', 'budgets', 'quarantine', 'event_log', 'ledger_claims', 'periods']));
      for (const t of others) {
        expect(t.engine, t.name).toMatch(/^Replicated\w*MergeTree$/);
        expect(replicas.find((r) => r.table === t.name)?.zookeeper_path).toBe(`/clickhouse/tables/all/agent_ledger/${t.name}`);
      }
      // Claims rely on insert deduplication: the window carries over to the replicated engine.
      expect(engines.get('ledger_claims')?.engine_full).toMatch(/replicated_deduplication_window = 100000/);
      // The wide rollup of 004 was dropped by 014, its Distributed table and its shard-local table.
      expect(engines.has('cost_rollup_hourly') || engines.has('cost_rollup_hourly_local')).toBe(false);
    } finally {
      await db.close();
    }
  });
});

describe('migrations and the ledger on a one-shard cluster (Distributed over shard-local tables)', () => {
  let endpoint: ClickHouseHttp;
  let t: TestApp;
  beforeAll(async () => {
    endpoint = await startClickHouseHttp({ configFile: 'test/infra/one-shard-cluster.xml' });
    t = await buildTestApp({
      CLICKHOUSE_URL: endpoint.url, CLICKHOUSE_DATABASE: 'ledger_on_cluster', LOAD_PRICE_CATALOG: false,
      CLICKHOUSE_CLUSTER: 'ledger', CLICKHOUSE_ON_CLUSTER: false, CLICKHOUSE_REPLICATED: false,
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await endpoint?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the big tables shard-locally, reads and writes them through Distributed tables, and views write shard-locally', async () => {
    const tables = await rows<{ name: string; engine: string; create_table_query: string }>(t.app, 'SELECT name, engine, create_table_query FROM system.tables WHERE database = currentDatabase()');
    const byName = new Map(tables.map((x) => [x.name, x]));
    for (const name of sharded) {
      expect(byName.get(name)?.engine, name).toBe('Distributed');
      expect(byName.get(`${name}_local`)?.engine, name).toMatch(nullTables.has(name) ? /^Null$/ : /MergeTree$/);
    }
    for (const view of tables.filter((x) => x.engine === 'MaterializedView')) {
      const target = /\bTO (\w+)\.(\w+)/.exec(view.create_table_query)![2]!;
      const source = /\bFROM (\w+)\.(\w+)/.exec(view.create_table_query)![2]!;
      if (shardedTables.has(target.replace(/_local$/, ''))) expect(target, view.name).toMatch(/_local$/);
      if (shardedTables.has(source.replace(/_local$/, ''))) expect(source, view.name).toMatch(/_local$/);
    }

    const events = [
      makeEvent({ product_line_id: 'dist', run_id: 'run-d1', cost_usd: '1.000000000001' }),
      makeEvent({ product_line_id: 'dist', run_id: 'run-d1', cost_usd: '2.5', type: 'tool', tool: 'search' }),
      makeEvent({ product_line_id: 'dist', run_id: 'run-d2', cost_usd: '0.25' }),
      makeEvent({ product_line_id: 'dist', run_id: '', cost_usd: '4' }),
    ];
    expect((await post(t.app, { events })).json()).toMatchObject({ accepted: 4 });
    expect((await post(t.app, { events: [...events].reverse() })).json()).toMatchObject({ accepted: 0, duplicates: 4 });
    const total = addDecimals(events.map((e) => String(e.cost_usd)));
    const costs = (await t.app.inject({ url: '/api/v1/agent-costs?from=2026-01-01&to=2026-02-01&product_line=dist&group_by=tool' })).json();
    expect(costs.totals).toMatchObject({ cost_usd: total, events: 4, runs: 2 });
    const weekly = (await t.app.inject({ url: '/api/v1/chargeback/weekly?from=2026-01-12&to=2026-01-19&product_line=dist' })).json();
    expect(addDecimals(weekly.rows.map((r: { total_cost_usd: string }) => r.total_cost_usd))).toBe(total);
    const run = (await t.app.inject({ url: '/api/v1/runs/run-d1' })).json();
    expect(run).toMatchObject({ run_id: 'run-d1' });
    // The rows are in the shard-local tables the Distributed ones read.
    expect(await rows(t.app, "SELECT count() AS n, toString(sum(cost_usd)) AS cost FROM cost_events_local WHERE product_line_id = 'dist'")).toEqual([{ n: 4, cost: total }]);
  });

  it('re-runs migrations without change, and backfills a view through the Distributed tables', async () => {
    const before = await rows(t.app, 'SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name');
    expect(await migrate(t.app.engine)).toEqual({ applied: [], skipped: loadMigrations().length, changedSinceApplied: [] });
    for (const m of loadMigrations()) for (const s of splitStatements(renderMigration(m.sql, clusterLayout(t.app.engine)))) await t.app.engine.client.command({ query: s });
    expect(await rows(t.app, 'SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name')).toEqual(before);

    const runFacts = 'SELECT run_id, events, toString(cost_usd) AS cost FROM run_facts FINAL WHERE product_line_id = {pl:String} ORDER BY run_id';
    const facts = await rows(t.app, runFacts, { pl: 'dist' });
    expect(facts.length).toBe(2);
    const m012 = loadMigrations().find((m) => m.version === 12)!;
    await backfillFromView(t.app.engine, splitStatements(renderMigration(m012.sql)), 'run_facts_mv', () => {});
    expect(await rows(t.app, runFacts, { pl: 'dist' })).toEqual(facts);
  });
});
