// Runs by their start (migrations/021): run_starts (one row per run under its start) and the daily
// run counts, kept by the applier's run changes (sql/events/run-changes.sql). Here: filling them
// from run_facts for a ledger written before they existed, or written around the applier (the
// benchmark's generator).
import { onClusterClause, type Engine } from '../clickhouse.js';
import { storageTable } from '../cluster-ddl.js';

export const runStartTables = ['run_directory', 'run_starts', 'run_counts_purchase_daily', 'run_counts_business_daily', 'run_counts_customer_daily'] as const;

const STATE = 'started_at, environment, agent_id, agent_version, segment, intent, feature, customer_id, user_id, workflow_id, prompt_version, type_bits, status_bits, provider_bits, model_bits, tool_bits';

/**
 * Empty the tables, then write every run of run_facts as a +1 (version 0), one product line at a
 * time with progress output, then merge them. Emptied first, so an interrupted rebuild starts over
 * instead of counting twice; like a backfill, it runs before the process serves requests.
 */
export async function rebuildRunStarts(engine: Pick<Engine, 'client' | 'cluster' | 'clusterDdl'>, log: (msg: string) => void = () => {}): Promise<void> {
  const { client } = engine;
  for (const table of runStartTables) {
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${storageTable(table, engine.cluster)} ${onClusterClause(engine)}` });
  }
  const lines = await (await client.query({ query: 'SELECT DISTINCT product_line_id AS line FROM run_facts ORDER BY line', format: 'JSONEachRow' })).json<{ line: string }>();
  const started = performance.now();
  for (const [i, { line }] of lines.entries()) {
    await client.command({
      query: `INSERT INTO run_changes (product_line_id, run_id, sign, version, ${STATE})
              SELECT product_line_id, run_id, 1, 0, ${STATE} FROM run_facts FINAL WHERE product_line_id = {line:String}`,
      query_params: { line },
    });
    log(`run starts: product line ${i + 1}/${lines.length} done (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  for (const table of runStartTables) {
    await client.command({ query: `OPTIMIZE TABLE ${storageTable(table, engine.cluster)} ${onClusterClause(engine)} FINAL` });
  }
  // Every run is in exactly one row of a daily run count: their sum is the runs written.
  const [written] = await (await client.query({ query: 'SELECT sum(runs) AS n FROM run_counts_business_daily', format: 'JSONEachRow' })).json<{ n: string }>();
  log(`run starts: ${Number(written?.n ?? 0)} runs written and merged in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
