// Test plumbing: a ready app on a fresh embedded ClickHouse data directory, event builders,
// and direct SQL for asserting what was stored.
// In the `server` vitest project (LEDGER_TEST_ENGINE=server) the same tests run in server mode:
// each app gets a fresh database on the ClickHouse HTTP endpoint for tests (one per test file).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { buildApp } from '../src/app.js';
import { configWith, type Env } from '../src/config.js';
import type { Engine } from '../src/clickhouse.js';
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http-endpoint.js';

export type TestApp = { app: FastifyInstance; dir: string; close: () => Promise<void> };

// LEDGER_TEST_ENGINE=cluster: the same, with the endpoint's engine configured as a one-shard cluster
// (test/infra/one-shard-cluster.xml) and the app's tables laid out for it: Distributed tables over
// shard-local ones (src/cluster-ddl.ts), so every read and write goes through a Distributed table.
const testEngine = process.env.LEDGER_TEST_ENGINE;
export const serverMode = testEngine === 'server' || testEngine === 'cluster';
let endpoint: Promise<ClickHouseHttp> | undefined;
if (serverMode) afterAll(async () => (await endpoint)?.stop());

/** Server mode: the settings that point an app at a fresh database on this file's endpoint. */
async function serverEnv(): Promise<Partial<Record<keyof Env, string>>> {
  const cluster = testEngine === 'cluster';
  const ep = await (endpoint ??= startClickHouseHttp(cluster ? { configFile: 'test/infra/one-shard-cluster.xml' } : {}));
  return {
    CLICKHOUSE_URL: ep.url,
    CLICKHOUSE_DATABASE: `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
    ...(cluster ? { CLICKHOUSE_CLUSTER: 'ledger', CLICKHOUSE_ON_CLUSTER: 'false', CLICKHOUSE_REPLICATED: 'false' } : {}),
  };
}

export async function buildTestApp(env: Partial<Record<keyof Env, string | number | boolean>> = {}, engine?: Engine): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-test-'));
  const server = serverMode && !engine && env.CLICKHOUSE_URL === undefined ? await serverEnv() : {};
  const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent', ...server, ...env }), { engine });
  return {
    app,
    dir,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
/** A valid LLM cost event; override any field. */
export function makeEvent(partial: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    event_id: randomUUID(),
    timestamp: '2026-01-15T12:00:00.000Z',
    type: 'llm',
    product_line_id: 'support',
    environment: 'production',
    provider: 'openai',
    model: 'gpt-4o',
    run_id: `run-${seq}`,
    usage: { input_tokens: 1000, output_tokens: 200 },
    cost_usd: '0.004500000001',
    ...partial,
  };
}

/** Run SQL on the test app's engine, after what the app acknowledged is applied (like its own reads). */
export async function rows<T = Record<string, unknown>>(app: FastifyInstance, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  await app.ingestor?.settle();
  const rs = await app.engine.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

export async function one<T = Record<string, unknown>>(app: FastifyInstance, query: string, params: Record<string, unknown> = {}): Promise<T> {
  const [row] = await rows<T>(app, query, params);
  if (!row) throw new Error(`no row from ${query}`);
  return row;
}

/** Add decimal strings exactly (BigInt on 12 decimal places), for sums computed in the test. */
export function addDecimals(values: string[]): string {
  const scale = 12n;
  const total = values.reduce((acc, v) => {
    const [int = '0', frac = ''] = v.split('.');
    return acc + BigInt(int) * 10n ** scale + BigInt(frac.padEnd(Number(scale), '0') || '0');
  }, 0n);
  const int = total / 10n ** scale;
  const frac = (total % 10n ** scale).toString().padStart(Number(scale), '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
}

/** Poll `fn` every 25 ms until it holds, or fail after `ms`. */
export const until = async (fn: () => Promise<boolean>, ms = 8000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
};

export const post = (app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/v1/events', payload: body as object, headers: { 'content-type': 'application/json', ...headers } });

export type WebhookReceiver = { url: string; received: { delivery: string; body: string }[]; close: () => Promise<void> };

/** A local webhook receiver on a free port: each delivery's id header and body, in arrival order; answers 200. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookReceiver['received'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ delivery: String(req.headers['x-ledger-delivery']), body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
