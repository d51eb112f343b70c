// Migrations: numbered DDL files in migrations/, applied in order, each recorded in
// schema_migrations so a re-run applies only what is new. Files may target a cluster through
// two placeholders: {{ON_CLUSTER}} and {{REPLICATED}} (prefix of a MergeTree engine name); on a
// cluster, src/cluster-ddl.ts rewrites each statement (Replicated engines, Distributed tables).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onClusterClause, type Engine } from './clickhouse.js';
import { renderForCluster, storageTable, type ClusterLayout } from './cluster-ddl.js';
import { projectPath } from './sql.js';
import { rebuildRunStarts } from './costs/run-starts.js';

export type Migration = { version: number; name: string; sql: string; checksum: string };

const fileName = /^(\d{3})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir = projectPath('migrations')): Migration[] {
  return readdirSync(dir)
    .filter((f) => fileName.test(f))
    .sort()
    .map((f) => {
      const [, version, name] = fileName.exec(f)!;
      const sql = readFileSync(join(dir, f), 'utf8');
      return { version: Number(version), name: name!, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Fill the cluster placeholders: empty for a single node; for a cluster, see src/cluster-ddl.ts. */
export function renderMigration(sql: string, layout?: ClusterLayout): string {
  if (!layout) return sql.replaceAll('{{ON_CLUSTER}}', '').replaceAll('{{REPLICATED}}', '');
  return `${splitStatements(sql).flatMap((s) => renderForCluster(s, layout)).join(';\n\n')};\n`;
}

/** The engine's cluster layout, when its tables live on a cluster. */
export function clusterLayout(engine: Pick<Engine, 'cluster' | 'clusterDdl' | 'database'>): ClusterLayout | undefined {
  if (!engine.cluster) return undefined;
  return { cluster: engine.cluster, database: engine.database, onCluster: engine.clusterDdl?.onCluster ?? true, replicated: engine.clusterDdl?.replicated ?? true };
}

/** Split a file into statements on semicolons that end a line; comments-only chunks are skipped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.replace(/--.*$/gm, '').trim() !== '');
}

export type MigrationReport = { applied: string[]; skipped: number; changedSinceApplied: string[] };

/** `until`: apply migrations up to this version only (to reproduce an older release's schema in tests). */
export async function migrate(engine: Engine, log: (msg: string) => void = () => {}, opts: { until?: number } = {}): Promise<MigrationReport> {
  const { client } = engine;
  const layout = clusterLayout(engine);
  const [createLedger] = splitStatements(renderMigration(
    `CREATE TABLE IF NOT EXISTS schema_migrations {{ON_CLUSTER}} (
       version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
     ) ENGINE = {{REPLICATED}}ReplacingMergeTree ORDER BY version`,
    layout,
  ));
  await client.command({ query: createLedger! });
  const done = await client.query({ query: 'SELECT version, checksum FROM schema_migrations FINAL', format: 'JSONEachRow' });
  const recorded = new Map((await done.json<{ version: number; checksum: string }>()).map((r) => [r.version, r.checksum]));
  const report: MigrationReport = { applied: [], skipped: 0, changedSinceApplied: [] };
  for (const m of loadMigrations().filter((x) => opts.until === undefined || x.version <= opts.until)) {
    const label = `${String(m.version).padStart(3, '0')}_${m.name}`;
    const checksum = recorded.get(m.version);
    if (checksum !== undefined) {
      report.skipped++;
      // A landed migration must never be edited; say so loudly instead of silently diverging.
      if (checksum !== m.checksum) report.changedSinceApplied.push(label);
      continue;
    }
    for (const statement of splitStatements(renderMigration(m.sql, layout))) await client.command({ query: statement });
    // A backfill reads and writes the tables by their logical names (Distributed ones on a cluster).
    const logical = splitStatements(renderMigration(m.sql));
    for (const [, view] of m.sql.matchAll(backfillDirective)) await backfillFromView(engine, logical, view!, log);
    if (/^-- @rebuild-run-starts\s*$/m.test(m.sql)) await rebuildRunStarts(engine, log);
    await client.insert({ table: 'schema_migrations', values: [{ version: m.version, name: m.name, checksum: m.checksum }], format: 'JSONEachRow' });
    report.applied.push(label);
    log(`migration applied: ${label}`);
  }
  for (const label of report.changedSinceApplied) log(`WARNING: migration ${label} changed after it was applied; add a new migration instead`);
  return report;
}

/** `-- @backfill <view>` in a migration: fill the view's target from the ledger's history. */
const backfillDirective = /^-- @backfill (\w+)\s*$/gm;

/**
 * Re-runs a materialized view's SELECT over what cost_events held before the view existed, one
 * month at a time with progress output. The target is emptied first, so a backfill interrupted
 * by a crash (the migration is then not recorded) starts over instead of counting twice. It runs
 * before the process serves requests; an insert by another process during it would be counted
 * twice, so upgrade with one process, then start the others.
 */
export async function backfillFromView(engine: Engine, statements: string[], view: string, log: (msg: string) => void): Promise<void> {
  const { client } = engine;
  const create = statements.find((s) => new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${view}\\b`, 'm').test(s));
  const parsed = create && /\sTO (\w+) AS\s+([\s\S]+)$/.exec(create);
  if (!parsed) throw new Error(`@backfill ${view}: no CREATE MATERIALIZED VIEW ${view} … TO <table> AS SELECT in the same migration`);
  const [, target, select] = parsed;
  // The view reads the ledger (by event time) or an hourly rollup (by hour); either is split by month.
  const from = /\bFROM (cost_events|cost_\w+_hourly)\b/.exec(select!);
  if (!from) throw new Error(`@backfill ${view}: the view must read cost_events or an hourly rollup`);
  const time = from[1] === 'cost_events' ? 'timestamp' : 'hour';
  const source = select!.replace(from[0], `FROM (SELECT * FROM ${from[1]} WHERE toYYYYMM(${time}) = {month:UInt32})`);
  await client.command({ query: `TRUNCATE TABLE IF EXISTS ${storageTable(target!, engine.cluster)} ${onClusterClause(engine)}` });
  const months = await (await client.query({ query: 'SELECT toYYYYMM(timestamp) AS month, count() AS n FROM cost_events GROUP BY month ORDER BY month', format: 'JSONEachRow' })).json<{ month: number; n: string }>();
  const started = performance.now();
  let done = 0;
  // By name, as the view itself writes: the target may have gained columns since (defaults fill them).
  const columns = (await (await client.query({ query: `DESCRIBE (${select})`, format: 'JSONEachRow' })).json<{ name: string }>()).map((c) => c.name);
  for (const [i, { month, n }] of months.entries()) {
    await client.command({ query: `INSERT INTO ${target} (${columns.join(', ')}) ${source}`, query_params: { month } });
    done += Number(n);
    log(`backfill ${target}: ${String(month).replace(/(\d{4})(\d{2})/, '$1-$2')} done (${i + 1}/${months.length} months, ${done} ledger rows, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  // A backfill leaves several parts; reads that use FINAL (run_facts) pay for merging them on every
  // query until the background merges catch up (1.25M runs in 3 parts: 9 → 92 ms), so merge now.
  const merging = performance.now();
  await client.command({ query: `OPTIMIZE TABLE ${storageTable(target!, engine.cluster)} ${onClusterClause(engine)} FINAL` });
  log(`merged ${target} after its backfill in ${((performance.now() - merging) / 1000).toFixed(1)} s`);
}
