// The benchmark ledger: BENCH_EVENTS events generated inside ClickHouse (sql/bench/generate-events.sql)
// in chunks of 10M, so an insert's memory stays bounded and event numbers continue across chunks;
// every view is fed as for any insert, then the derived tables are merged and the run starts written. A data directory that
// already holds exactly `count` events is reused as it is.
import type { ClickHouseClient } from '@clickhouse/client';
import { fillSlots, sql } from '../src/sql.js';
import { rebuildRunStarts } from '../src/costs/run-starts.js';

/** Every table a view on cost_events fills, emptied with the ledger and merged after loading. */
const derived = ['event_ids', 'run_facts', 'cost_purchase_hourly', 'cost_business_hourly', 'cost_customer_hourly',
  'cost_purchase_daily', 'cost_business_daily', 'cost_customer_daily', 'weekly_chargeback'];

export async function loadBenchLedger(client: ClickHouseClient, count: number, log: (msg: string) => void): Promise<void> {
  const [have] = await (await client.query({ query: 'SELECT count() AS n FROM cost_events', format: 'JSONEachRow' })).json<{ n: string }>();
  if (Number(have!.n) === count) return;
  for (const table of ['cost_events', ...derived]) await client.command({ query: `TRUNCATE TABLE ${table}` });
  // The generator writes cost_events directly, not through the applier that gives new values of the
  // event-level run dimensions their bits (migrations/020): register a sample's values first.
  await client.command({ query: 'DROP TABLE IF EXISTS bench_sample' });
  await client.command({ query: 'CREATE TABLE bench_sample AS cost_events ENGINE = Memory' });
  await client.command({ query: sql('bench/generate-events').replace('INSERT INTO cost_events', 'INSERT INTO bench_sample').replace('FROM numbers({count:UInt64})', 'FROM numbers(100000)') });
  await client.command({ query: fillSlots(sql('events/register-run-values'), { source: 'bench_sample', where: '' }) });
  await client.command({ query: 'DROP TABLE bench_sample' });
  log(`generating ${count.toLocaleString('en-US')} events inside ClickHouse (all views fed) …`);
  const t0 = performance.now();
  for (let done = 0; done < count; done += 10_000_000) {
    const n = Math.min(10_000_000, count - done);
    await client.command({ query: sql('bench/generate-events').replace('FROM numbers({count:UInt64})', `FROM numbers(${done}, ${n})`) });
    log(`  ${(done + n).toLocaleString('en-US')} events, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; merging the derived tables (OPTIMIZE … FINAL) …`);
  for (const table of derived) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  // The run starts are the applier's work (migrations/021): written here from the merged run_facts.
  await rebuildRunStarts({ client }, log);
}
