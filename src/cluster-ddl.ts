// Cluster DDL: migrations are written for one node with two placeholders ({{ON_CLUSTER}},
// {{REPLICATED}}); with CLICKHOUSE_CLUSTER each statement is rewritten here. Every table becomes
// Replicated (Keeper paths with {shard}/{replica} macros); the big tables are sharded: the data
// lives in <name>_local on each shard and <name> is a Distributed table over them, so every query
// and insert in the code base, written against <name>, goes through the Distributed table.
// docs/operations.md "ClickHouse cluster" describes the layout.
import type { ClusterDdl } from './clickhouse.js';

export type ClusterLayout = ClusterDdl & { cluster: string; database: string };

/**
 * The sharded tables and their sharding keys. The ledger is sharded by run, so the events of one run
 * (and its corrections) share a shard: run_facts, fed on each shard from that shard's events, then
 * holds one row per run and `FINAL` per shard is exact. The rollups are aggregate states summed at
 * read time, so any shard will do. event_ids is filled only by its view (no key: a direct insert
 * across shards is refused instead of landing away from its event).
 */
export const shardedTables: ReadonlyMap<string, string | undefined> = new Map<string, string | undefined>([
  ['cost_events', "cityHash64(if(run_id = '', event_id, run_id))"],
  ['event_ids', undefined],
  ['run_facts', 'cityHash64(run_id)'],
  ['run_changes', 'cityHash64(run_id)'],
  ['run_directory', 'cityHash64(run_id)'],
  ['run_starts', 'cityHash64(run_id)'],
  ['run_counts_purchase_daily', 'rand()'],
  ['run_counts_business_daily', 'rand()'],
  ['run_counts_customer_daily', 'rand()'],
  ['cost_rollup_hourly', 'rand()'],
  ['weekly_chargeback', 'rand()'],
  ['cost_purchase_hourly', 'rand()'],
  ['cost_business_hourly', 'rand()'],
  ['cost_customer_hourly', 'rand()'],
  ['cost_purchase_daily', 'rand()'],
  ['cost_business_daily', 'rand()'],
  ['cost_customer_daily', 'rand()'],
  ['invoice_lines_daily', 'rand()'],
]);

/** Where a table's rows are stored: `<name>_local` for a sharded table on a cluster, else the table itself. */
export function storageTable(name: string, cluster: string | undefined): string {
  return cluster && shardedTables.has(name) ? `${name}_local` : name;
}

/** Keeper path of a replicated table: one replica set per shard for sharded tables, one for the whole cluster otherwise. */
export function replicaPath(table: string): string {
  return table.endsWith('_local') && shardedTables.has(table.slice(0, -'_local'.length))
    ? `/clickhouse/tables/{shard}/{database}/${table}`
    : `/clickhouse/tables/all/{database}/${table}`;
}

const leadingComments = /^(?:\s*--[^\n]*\n)*\s*/;

/** One migration statement (placeholders unfilled) as the statements to run on the cluster. */
export function renderForCluster(statement: string, layout: ClusterLayout): string[] {
  const on = layout.onCluster ? `ON CLUSTER '${layout.cluster}'` : '';
  const fill = (s: string) => s.replaceAll('{{ON_CLUSTER}}', on);
  const prefix = leadingComments.exec(statement)![0];
  const body = statement.slice(prefix.length);
  const local = (name: string) => storageTable(name, layout.cluster);

  let m: RegExpExecArray | null;
  if ((m = /^CREATE TABLE IF NOT EXISTS (\w+)\b/.exec(body))) {
    const name = m[1]!;
    const stored = local(name);
    let create = body.replace(m[0], `CREATE TABLE IF NOT EXISTS ${stored}`);
    // `AS <table>` copies a structure: from the shard-local table, with its indexes.
    create = create.replace(/^(CREATE TABLE IF NOT EXISTS \w+ \{\{ON_CLUSTER\}\}\s+AS )(\w+)\b/, (_, head: string, source: string) => `${head}${local(source)}`);
    const out = [prefix + fill(replicateEngine(create, stored, layout))];
    if (stored !== name) {
      const key = shardedTables.get(name);
      out.push(`CREATE TABLE IF NOT EXISTS ${name} ${on} AS ${stored}\nENGINE = Distributed('${layout.cluster}', '${layout.database}', '${stored}'${key ? `, ${key}` : ''})`);
    }
    return out;
  }
  if ((m = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) \{\{ON_CLUSTER\}\} TO (\w+) AS\b/.exec(body))) {
    // A view runs on the shard that stores the inserted block: it reads and writes shard-local tables.
    const select = body.slice(m[0].length).replace(/\b(FROM|JOIN)(\s+)(\w+)\b/g, (_, kw: string, space: string, t: string) => `${kw}${space}${local(t)}`);
    return [prefix + fill(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${m[1]} {{ON_CLUSTER}} TO ${local(m[2]!)} AS${select}`)];
  }
  if ((m = /^ALTER TABLE (\w+) \{\{ON_CLUSTER\}\}/.exec(body)) && local(m[1]!) !== m[1]) {
    const actions = body.slice(m[0].length);
    const onStorage = prefix + fill(`ALTER TABLE ${local(m[1]!)} {{ON_CLUSTER}}${actions}`);
    const columns = /\b(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b/.test(actions);
    if (columns && /\b(INDEX|PROJECTION|TTL|SETTING|CONSTRAINT)\b/.test(actions)) {
      throw new Error(`cluster DDL: split column changes and other changes of ${m[1]} into separate ALTER statements`);
    }
    // Columns live in both tables (the Distributed one reads and writes them); indexes, TTLs and
    // settings only in the table that stores the parts.
    return columns ? [onStorage, fill(`ALTER TABLE ${m[1]} {{ON_CLUSTER}}${actions}`)] : [onStorage];
  }
  if ((m = /^DROP TABLE IF EXISTS (\w+) \{\{ON_CLUSTER\}\}/.exec(body)) && local(m[1]!) !== m[1]) {
    return [prefix + fill(body), fill(`DROP TABLE IF EXISTS ${local(m[1]!)} {{ON_CLUSTER}}`)];
  }
  if ((m = /^TRUNCATE TABLE (?:IF EXISTS )?(\w+)\b/.exec(body)) && local(m[1]!) !== m[1]) {
    return [prefix + fill(body.replace(m[0], `TRUNCATE TABLE IF EXISTS ${local(m[1]!)}`))];
  }
  // INSERT … SELECT and the rest: through the Distributed tables, as the application writes.
  return [prefix + fill(body.replaceAll('{{REPLICATED}}', ''))];
}

/**
 * `ENGINE = {{REPLICATED}}X(args)` → `ReplicatedX('<path>', '{replica}', args)` with ON CLUSTER, or
 * `ReplicatedX(args)` without it (a Replicated database chooses paths itself), or plain `X(args)`.
 */
function replicateEngine(create: string, table: string, layout: ClusterLayout): string {
  const engine = /ENGINE = \{\{REPLICATED\}\}(\w+)(?:\(((?:[^()]|\([^()]*\))*)\))?/.exec(create);
  if (!engine) return create;
  const [whole, name, args] = engine;
  if (!layout.replicated) return create.replace(whole, `ENGINE = ${name}${args !== undefined ? `(${args})` : ''}`);
  const keeper = layout.onCluster ? [`'${replicaPath(table)}'`, "'{replica}'"] : [];
  const all = [...keeper, ...(args ? [args] : [])];
  let out = create.replace(whole, `ENGINE = Replicated${name}${all.length > 0 ? `(${all.join(', ')})` : ''}`);
  // Insert deduplication on a non-replicated table (claims) is a window of blocks; replicas keep their own.
  out = out.replace(/\bnon_replicated_deduplication_window = (\d+)/, 'non_replicated_deduplication_window = $1, replicated_deduplication_window = $1');
  return out;
}
