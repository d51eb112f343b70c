// Migrations: numbered DDL files in migrations/, applied in order, each recorded in
// schema_migrations so a re-run applies only what is new. Files may target a cluster through
// two placeholders: {{ON_CLUSTER}} and {{REPLICATED}} (prefix of a MergeTree engine name).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from './clickhouse.js';
import { projectPath } from './sql.js';

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

/** Fill the cluster placeholders: empty for a single node, ON CLUSTER + Replicated engines for a cluster. */
export function renderMigration(sql: string, cluster?: string): string {
  return sql
    .replaceAll('{{ON_CLUSTER}}', cluster ? `ON CLUSTER '${cluster}'` : '')
    .replaceAll('{{REPLICATED}}', cluster ? 'Replicated' : '');
}

/** Split a file into statements on semicolons that end a line; comments-only chunks are skipped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.replace(/--.*$/gm, '').trim() !== '');
}

export type MigrationReport = { applied: string[]; skipped: number; changedSinceApplied: string[] };

export async function migrate(engine: Engine, log: (msg: string) => void = () => {}): Promise<MigrationReport> {
  const { client, cluster } = engine;
  await client.command({
    query: renderMigration(
      `CREATE TABLE IF NOT EXISTS schema_migrations {{ON_CLUSTER}} (
         version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
       ) ENGINE = {{REPLICATED}}ReplacingMergeTree ORDER BY version`,
      cluster,
    ),
  });
  const done = await client.query({ query: 'SELECT version, checksum FROM schema_migrations FINAL', format: 'JSONEachRow' });
  const recorded = new Map((await done.json<{ version: number; checksum: string }>()).map((r) => [r.version, r.checksum]));
  const report: MigrationReport = { applied: [], skipped: 0, changedSinceApplied: [] };
  for (const m of loadMigrations()) {
    const label = `${String(m.version).padStart(3, '0')}_${m.name}`;
    const checksum = recorded.get(m.version);
    if (checksum !== undefined) {
      report.skipped++;
      // A landed migration must never be edited; say so loudly instead of silently diverging.
      if (checksum !== m.checksum) report.changedSinceApplied.push(label);
      continue;
    }
    for (const statement of splitStatements(renderMigration(m.sql, cluster))) await client.command({ query: statement });
    await client.insert({ table: 'schema_migrations', values: [{ version: m.version, name: m.name, checksum: m.checksum }], format: 'JSONEachRow' });
    report.applied.push(label);
    log(`migration applied: ${label}`);
  }
  for (const label of report.changedSinceApplied) log(`WARNING: migration ${label} changed after it was applied; add a new migration instead`);
  return report;
}
