import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKey, loadApiKeys, parseApiKeys } from '../src/auth.js';
import { configWith, loadConfig } from '../src/config.js';
import { clusterLayout, loadMigrations, migrate, renderMigration, splitStatements } from '../src/migrate.js';
import { buildTestApp, rows, type TestApp } from './helper.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8080, HOST: '127.0.0.1', DATA_DIR: './data', CLICKHOUSE_DATABASE: 'agent_ledger', MAX_BATCH_EVENTS: 10_000, MIGRATE_ON_START: true });
    expect(c.CLICKHOUSE_URL).toBeUndefined();
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT:/);
    expect(() => loadConfig({ PORT: '70000', LOG_LEVEL: 'loud' })).toThrow(/PORT:[\s\S]*LOG_LEVEL:/);
    expect(() => loadConfig({ CLICKHOUSE_URL: 'not a url' })).toThrow(/CLICKHOUSE_URL:/);
    expect(() => loadConfig({ CLICKHOUSE_DATABASE: 'x; DROP DATABASE y' })).toThrow(/CLICKHOUSE_DATABASE: must be a plain identifier/);
    expect(() => loadConfig({ MIGRATE_ON_START: 'maybe' })).toThrow(/MIGRATE_ON_START:/);
  });

  it('parses API keys with roles and scopes, and never echoes a secret in its errors', () => {
    const keys = parseApiKeys('admin:k1, ingest:k2\nread:k3:support|search,# comment', 'API_KEYS');
    expect(keys.map((k) => [k.role, k.productLines])).toEqual([['admin', undefined], ['ingest', undefined], ['read', ['support', 'search']]]);
    expect(findKey(keys, 'k3')?.role).toBe('read');
    expect(findKey(keys, 'k4')).toBeUndefined();
    expect(() => parseApiKeys('owner:supersecret', 'API_KEYS')).toThrow(/API_KEYS: entries must be role:key/);
    expect(() => parseApiKeys('owner:supersecret', 'API_KEYS')).not.toThrow(/supersecret/);
    expect(() => parseApiKeys('ingest:', 'API_KEYS')).toThrow(/API_KEYS/);
    expect(() => loadApiKeys(configWith({ API_KEYS_FILE: '/nonexistent/keys' }))).toThrow(/API_KEYS_FILE: cannot read/);
  });
});

describe('migrations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => t.close());

  it('run on the engine the vitest project asks for (embedded, server, or a cluster of Distributed tables)', async () => {
    const project = process.env.LEDGER_TEST_ENGINE ?? 'embedded';
    expect(t.app.engine.mode).toBe(project === 'embedded' ? 'embedded' : 'server');
    const [ledger] = await rows<{ engine: string }>(t.app, "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'cost_events'");
    expect(ledger?.engine).toBe(project === 'cluster' ? 'Distributed' : 'MergeTree');
  });

  it('are numbered, unique and applied in order', async () => {
    const files = loadMigrations();
    expect(files.map((m) => m.version)).toEqual(files.map((_, i) => i + 1));
    const applied = await rows<{ version: number }>(t.app, 'SELECT version FROM schema_migrations FINAL ORDER BY version');
    expect(applied.map((r) => r.version)).toEqual(files.map((m) => m.version));
  });

  it('are re-runnable: a second run applies nothing and changes nothing', async () => {
    const before = await rows(t.app, "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name");
    const report = await migrate(t.app.engine);
    expect(report).toEqual({ applied: [], skipped: loadMigrations().length, changedSinceApplied: [] });
    // Every statement is IF NOT EXISTS, so replaying the files themselves is harmless too.
    for (const m of loadMigrations()) for (const s of splitStatements(renderMigration(m.sql, clusterLayout(t.app.engine)))) await t.app.engine.client.command({ query: s });
    expect(await rows(t.app, "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name")).toEqual(before);
  });

  it('render for a cluster with ON CLUSTER and Replicated engines', () => {
    const sql = loadMigrations()[0]!.sql;
    const prod = { cluster: 'prod', database: 'agent_ledger', onCluster: true, replicated: true };
    expect(renderMigration(sql, prod)).toMatch(/CREATE TABLE IF NOT EXISTS cost_events_local ON CLUSTER 'prod'/);
    expect(renderMigration(sql, prod)).toMatch(/ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/cost_events_local', '\{replica\}'\)/);
    expect(renderMigration(sql, prod)).toMatch(/CREATE TABLE IF NOT EXISTS cost_events ON CLUSTER 'prod' AS cost_events_local\nENGINE = Distributed\('prod', 'agent_ledger', 'cost_events_local', /);
    expect(renderMigration(sql)).toMatch(/ENGINE = MergeTree/);
    expect(renderMigration(sql)).not.toMatch(/\{\{/);
  });
});
