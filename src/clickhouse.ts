// The one ClickHouse client of the process: the embedded engine (chdb) when CLICKHOUSE_URL is
// unset, the HTTP client otherwise. Both speak the same SQL against the same schema.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { Config } from './config.js';

export type Engine = { client: ClickHouseClient; mode: 'embedded' | 'server'; database: string; cluster?: string };

// Money leaves ClickHouse as decimal strings, never as JSON numbers.
const settings: ClickHouseSettings = {
  output_format_json_quote_decimals: 1,
  output_format_json_quote_64bit_integers: 0,
  date_time_input_format: 'best_effort',
};

export async function createEngine(config: Config): Promise<Engine> {
  const database = config.CLICKHOUSE_DATABASE;
  if (config.CLICKHOUSE_URL) {
    const bootstrap = createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
    });
    const onCluster = config.CLICKHOUSE_CLUSTER ? ` ON CLUSTER '${config.CLICKHOUSE_CLUSTER}'` : '';
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}${onCluster}` });
    await bootstrap.close();
    const client = createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      database,
      clickhouse_settings: { ...settings, wait_end_of_query: 1 },
    });
    return { client, mode: 'server', database, cluster: config.CLICKHOUSE_CLUSTER };
  }
  // chdb is loaded lazily so server deployments never load the native engine.
  const { createChdbConnection } = await import('chdb/connection');
  const path = resolve(config.DATA_DIR);
  mkdirSync(path, { recursive: true });
  // chdb types against @clickhouse/client-common, the client against its bundled copy: same shape.
  const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const client = createClient({ connection, clickhouse_settings: settings });
  // A chdb session keeps its current database across statements, like a server session.
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({ query: `USE ${database}` });
  return { client, mode: 'embedded', database };
}
