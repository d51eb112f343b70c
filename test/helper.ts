// Test plumbing: a ready app on a fresh embedded ClickHouse data directory, event builders,
// and direct SQL for asserting what was stored.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith, type Env } from '../src/config.js';
import type { Engine } from '../src/clickhouse.js';

export type TestApp = { app: FastifyInstance; dir: string; close: () => Promise<void> };

export async function buildTestApp(env: Partial<Record<keyof Env, string | number | boolean>> = {}, engine?: Engine): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-test-'));
  const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent', ...env }), { engine });
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

export async function rows<T = Record<string, unknown>>(app: FastifyInstance, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
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

export const post = (app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/v1/events', payload: body as object, headers: { 'content-type': 'application/json', ...headers } });
