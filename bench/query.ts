// `npm run bench:query`: 10M events generated inside ClickHouse, then in one run:
// (a) the API uncached vs the same SQL run directly, for 5 representative queries (p50/p95);
// (b) cached throughput (autocannon) vs a Fastify hello-world route in the same process;
// (c) the raw-table path vs the hourly-rollup path for the queries the rollup can answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { scopedQuery } from '../src/costs/service.js';
import { parseFilters, parseGroupBy, parseSort, parseWindow } from '../src/costs/params.js';
import { buildCostQuery, canUseRollup, type CostQuery, type Source } from '../src/costs/query.js';
import { sql } from '../src/sql.js';
import { autocannon } from './autocannon.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const log = (msg: string) => console.log(`[bench:query] ${msg}`);

const queries: [string, string][] = [
  ['cost by segment, 30 days', 'date_range=2026-01-01,2026-01-30&group_by=segment'],
  ['seed example (filters + intent)', 'segment=enterprise&date_range=2026-01-01,2026-01-31&agent_version=v3&group_by=intent_category'],
  ['model × day in New York', 'date_range=2026-01-01,2026-01-30&group_by=model&granularity=day&tz=America/New_York'],
  ['top customers (raw only)', 'date_range=2026-01-01,2026-01-30&group_by=customer&limit=100'],
  ['agent × version × tool, one line', 'date_range=2026-01-01,2026-01-30&product_line=support&group_by=agent,agent_version,tool'],
];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
async function time(fn: () => Promise<unknown>, runs = RUNS): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { p50: pct(ms, 50), p95: pct(ms, 95) };
}

const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-bench-query-'));
const common = { DATA_DIR: dir, LOG_LEVEL: 'warn', API_KEYS: 'read:bench-read', RATE_LIMIT_MAX: 10_000_000 } as const;
const uncached = await buildApp(configWith({ ...common, CACHE_TTL_MS: 0 }));
const client = uncached.engine.client;
log(`generating ${COUNT} events inside ClickHouse …`);
let t0 = performance.now();
await client.command({ query: sql('bench/generate-events'), query_params: { count: COUNT } });
await client.command({ query: 'OPTIMIZE TABLE cost_rollup_hourly FINAL' });
const counts = await (await client.query({ query: 'SELECT (SELECT count() FROM cost_events) AS events, (SELECT count() FROM cost_rollup_hourly) AS rollup_rows', format: 'JSONEachRow' })).json<{ events: number; rollup_rows: number }>();
log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(counts[0])}`);

const auth = { authorization: 'Bearer bench-read' };
const address = await uncached.listen({ port: 0, host: '127.0.0.1' });

/** The SQL the API runs for a query string (page + totals), to run directly. */
function sqlFor(qs: string, source?: Source): { q: CostQuery; run: () => Promise<unknown> } {
  const params = Object.fromEntries(new URLSearchParams(qs));
  const window = parseWindow({ tz: 'UTC', ...params });
  const groupBy = parseGroupBy(params.group_by);
  const { filters } = scopedQuery(undefined, parseFilters(params));
  const { sort, order } = parseSort(params.sort, undefined, groupBy, params.granularity as never);
  const q: CostQuery = { from: window.from, to: window.to, tz: window.tz, granularity: params.granularity as never, groupBy, filters, sort, order, limit: Number(params.limit ?? 100), offset: 0 };
  const chosen: Source = source ?? (canUseRollup(q) ? 'rollup' : 'raw');
  const page = buildCostQuery(chosen === 'raw' ? { ...q, snapshot: Date.now() } : q, chosen);
  const totals = buildCostQuery({ ...(chosen === 'raw' ? { ...q, snapshot: Date.now() } : q), groupBy: [], granularity: undefined }, chosen);
  const one = (x: { query: string; params: Record<string, unknown> }) => client.query({ query: x.query, query_params: x.params, format: 'JSONEachRow' }).then((r) => r.json());
  return { q, run: () => Promise.all([one(page), q.groupBy.length || q.granularity ? one(totals) : undefined]) };
}

log('(a) API uncached vs the same SQL direct');
const a: string[] = [];
for (const [name, qs] of queries) {
  const url = `${address}/api/v1/agent-costs?${qs}`;
  const res = await fetch(url, { headers: auth });
  if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${await res.text()}`);
  const source = res.headers.get('x-ledger-source') as Source;
  const api = await time(() => fetch(url, { headers: auth }).then((r) => r.text()));
  const raw = await time(sqlFor(qs, source).run);
  a.push(`| ${name} | ${source} | ${api.p50.toFixed(1)} / ${api.p95.toFixed(1)} | ${raw.p50.toFixed(1)} / ${raw.p95.toFixed(1)} | ${(api.p50 / raw.p50).toFixed(2)} |`);
  log(a.at(-1)!);
}

log('(c) raw table vs hourly rollup');
const c: string[] = [];
for (const [name, qs] of queries) {
  const { q } = sqlFor(qs);
  if (!canUseRollup(q)) continue;
  const raw = await time(sqlFor(qs, 'raw').run, 10);
  const rollup = await time(sqlFor(qs, 'rollup').run, 10);
  c.push(`| ${name} | ${raw.p50.toFixed(1)} | ${rollup.p50.toFixed(1)} | ${(raw.p50 / rollup.p50).toFixed(1)}× |`);
  log(c.at(-1)!);
}
await uncached.close();

log('(b) cached throughput vs hello world');
const cached = await buildApp(configWith({ ...common, MIGRATE_ON_START: false, CACHE_TTL_MS: 600_000, CACHE_CLOSED_TTL_MS: 600_000 }));
const cachedAddress = await cached.listen({ port: 0, host: '127.0.0.1' });
const hello = Fastify();
hello.get('/hello', async () => ({ hello: 'world' }));
const helloAddress = await hello.listen({ port: 0, host: '127.0.0.1' });
const cachedUrl = `${cachedAddress}/api/v1/agent-costs?${queries[1]![1]}`;
await fetch(cachedUrl, { headers: auth });
const cachedRps = (await autocannon(cachedUrl, { connections: 20, seconds: DURATION, headers: auth })).rps;
const helloRps = (await autocannon(`${helloAddress}/hello`, { connections: 20, seconds: DURATION })).rps;
await hello.close();
await cached.close();
rmSync(dir, { recursive: true, force: true });

console.log(`
${COUNT.toLocaleString('en-US')} events (${counts[0]!.rollup_rows.toLocaleString('en-US')} hourly rollup rows), ${RUNS} timed runs per query after 3 warm-ups.

(a) uncached API vs the same SQL run directly (ms, p50 / p95); target API ≤ 1.5× SQL
| query | path | API | SQL | API ÷ SQL |
|---|---|---:|---:|---:|
${a.join('\n')}

(b) cached responses vs a Fastify hello-world route, autocannon 20 connections × ${DURATION} s; target ≥ 40%
| route | requests/s |
|---|---:|
| GET /api/v1/agent-costs (cache hit) | ${Math.round(cachedRps)} |
| hello world | ${Math.round(helloRps)} |
cached ÷ hello world: ${((cachedRps / helloRps) * 100).toFixed(0)}%

(c) raw table vs hourly rollup, same query and answer (ms, p50)
| query | raw | rollup | speed-up |
|---|---:|---:|---:|
${c.join('\n')}
`);
