// The one ClickHouse client of the process: the embedded engine (chdb) when CLICKHOUSE_URL is
// unset, the HTTP client otherwise. Both speak the same SQL against the same schema.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { Config } from './config.js';

/** How migrations lay tables out on a cluster (src/cluster-ddl.ts); both true unless configured otherwise. */
export type ClusterDdl = { onCluster: boolean; replicated: boolean };

export type Engine = { client: ClickHouseClient; mode: 'embedded' | 'server'; database: string; cluster?: string; clusterDdl?: ClusterDdl };

/** `ON CLUSTER '…'` for DDL this process issues outside migrations, or nothing. */
export function onClusterClause(engine: Pick<Engine, 'cluster' | 'clusterDdl'>): string {
  return engine.cluster && engine.clusterDdl?.onCluster !== false ? `ON CLUSTER '${engine.cluster}'` : '';
}

// On a cluster, the big tables are Distributed (src/cluster-ddl.ts): an insert reaches every shard
// before the call returns (so an apply is visible when acknowledged, and a failed one is retried
// whole), and an IN / JOIN subquery over a Distributed table inside a distributed query runs once,
// globally, instead of being refused.
const clusterSettings: ClickHouseSettings = {
  insert_distributed_sync: 1,
  distributed_product_mode: 'global',
};

// Money leaves ClickHouse as decimal strings, never as JSON numbers.
const settings: ClickHouseSettings = {
  output_format_json_quote_decimals: 1,
  output_format_json_quote_64bit_integers: 0,
  date_time_input_format: 'best_effort',
};

export async function createEngine(config: Config): Promise<Engine> {
  const database = config.CLICKHOUSE_DATABASE;
  if (config.CLICKHOUSE_URL) {
    const cluster = config.CLICKHOUSE_CLUSTER;
    const clusterDdl = cluster ? { onCluster: config.CLICKHOUSE_ON_CLUSTER, replicated: config.CLICKHOUSE_REPLICATED } : undefined;
    const connection = {
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      // A silent engine fails the call after this long (503 engine_unavailable, src/errors.ts).
      request_timeout: config.CLICKHOUSE_REQUEST_TIMEOUT_MS,
      // Every failure reaches the caller, which answers or logs it once; the client would log it again.
      log: { level: ClickHouseLogLevel.OFF },
    };
    const bootstrap = createClient(connection);
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${database} ${onClusterClause({ cluster, clusterDdl })}` });
    } finally {
      await bootstrap.close();
    }
    const client = createClient({
      ...connection,
      database,
      clickhouse_settings: {
        ...settings,
        wait_end_of_query: 1,
        // A call we gave up on (timeout) stops its SELECT on the server too.
        cancel_http_readonly_queries_on_client_close: 1,
        ...(cluster ? clusterSettings : {}),
      },
    });
    return { client, mode: 'server', database, cluster, clusterDdl };
  }
  // chdb is loaded lazily so server deployments never load the native engine.
  const { createChdbConnection } = await import('chdb/connection');
  const path = resolve(config.DATA_DIR);
  mkdirSync(path, { recursive: true });
  // The engine's server configuration comes from the first connection to the data directory,
  // which the client's connection cannot give: a session opened first, with it, and closed with the
  // client. The uncompressed cache keeps decompressed blocks of short reads (the ragged edges of a
  // window from cost_events, the newest hours every "last N days" reads); reads of more than
  // merge_tree_max_rows_to_use_cache rows bypass it, and every statement in the session may use
  // it (`use_uncompressed_cache`, set below): the API's and a raw query's alike.
  const cacheBytes = config.ENGINE_UNCOMPRESSED_CACHE_MB * 1_048_576;
  const { Session } = await import('chdb');
  const primer = new Session(path, { connectionArgs: [`--uncompressed_cache_size=${cacheBytes}`] });
  try {
    // chdb types against @clickhouse/client-common, the client against its bundled copy: same shape.
    const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
    // The chdb connection applies a call's clickhouse_settings as `SET …` statements in the session,
    // so they outlive the call: the defaults are set once here, and calls carry none (a bound on one
    // statement goes in its own SETTINGS clause instead, e.g. the applier's max_execution_time).
    const client = createClient({ connection });
    const closeClient = client.close.bind(client);
    client.close = async () => {
      await closeClient();
      primer.close();
    };
    // A chdb session keeps its current database across statements, like a server session.
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await client.command({ query: `USE ${database}` });
    for (const [name, value] of Object.entries({ ...settings, use_uncompressed_cache: cacheBytes > 0 ? 1 : 0 })) {
      await client.command({ query: `SET ${name} = ${typeof value === 'string' ? `'${value}'` : String(value)}` });
    }
    return { client, mode: 'embedded', database };
  } catch (err) {
    // The client's connection was not handed out: release the directory for the next attempt.
    primer.close();
    throw err;
  }
}

// ClickHouse errors that say "not now" rather than "wrong request": overload, limits reached,
// replicas or Keeper unreachable, a query the server cancelled or timed out.
const transientCodes = new Map<number, string>([
  [159, 'TIMEOUT_EXCEEDED'], [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'], [203, 'NO_FREE_CONNECTION'], [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'], [236, 'ABORTED'], [241, 'MEMORY_LIMIT_EXCEEDED'], [242, 'TABLE_IS_READ_ONLY'], [252, 'TOO_MANY_PARTS'],
  [279, 'ALL_CONNECTION_TRIES_FAILED'], [285, 'TOO_FEW_LIVE_REPLICAS'], [286, 'UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE'],
  [319, 'UNKNOWN_STATUS_OF_INSERT'], [394, 'QUERY_WAS_CANCELLED'], [425, 'SYSTEM_ERROR'], [999, 'KEEPER_EXCEPTION'],
]);
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * Why ClickHouse could not serve a call, when the cause is the engine's state rather than the request
 * (unreachable, silent past CLICKHOUSE_REQUEST_TIMEOUT_MS, overloaded): such a call may succeed if
 * retried later. Undefined for every other error.
 */
export function engineFault(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && networkCodes.has(code)) return `ClickHouse is unreachable (${code})`;
  if (err.message === 'Timeout error.') return 'ClickHouse did not answer in time';
  if (/socket hang up|other side closed/i.test(err.message)) return 'ClickHouse closed the connection';
  const numeric = typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined;
  const name = numeric === undefined ? undefined : transientCodes.get(numeric);
  if (name) return `ClickHouse cannot serve the request now (${name})`;
  return err.cause === undefined || err.cause === err ? undefined : engineFault(err.cause);
}
