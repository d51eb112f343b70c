// `npm run bench:insights`: BENCH_EVENTS (default 10M) events generated inside ClickHouse
// (sql/bench/generate-events.sql: runs of 8 events with sub-runs, outcomes, revenue, retries), then
// every insight through the API uncached (HTTP, p50 / p95) next to /agent-costs on the same window.
// Reuses an existing BENCH_DIR when it already holds exactly BENCH_EVENTS events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { timed } from './timing.js';
import { loadBenchLedger } from './ledger.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const log = (msg: string) => console.log(`[bench:insights] ${msg}`);

const W = 'date_range=2026-01-01,2026-01-30';
// name, path and query; the first is the reference.
const queries: [string, string][] = [
  ['/agent-costs (reference), by agent', `agent-costs?${W}&group_by=agent`],
  ['/agent-costs (reference), total', `agent-costs?${W}`],
  ['unit economics by agent', `insights/unit-economics?${W}&group_by=agent`],
  ['unit economics by model', `insights/unit-economics?${W}&group_by=model`],
  ['unit economics by customer (top 100)', `insights/unit-economics?${W}&group_by=customer`],
  ['cost per task + drivers (by agent, vs previous 30 days)', `insights/cost-per-task?${W}`],
  ['cost per task + drivers (by customer)', `insights/cost-per-task?${W}&by=customer`],
  ['customer margins (1,000 customers)', `insights/customers?${W}&limit=10000`],
  ['invoice draft, one customer, month', 'insights/invoices?month=2026-01&customer=cust-7'],
  ['invoice drafts, all customers, month', 'insights/invoices?month=2026-01&limit=10000'],
  ['agents: spend, shares, candidates', `insights/agents?${W}`],
  ['heatmap agent × hour of day', `insights/agents/heatmap?${W}`],
  ['heatmap agent × day', `insights/agents/heatmap?${W}&by=day`],
  ['money flow, window', `insights/money-flow?${W}`],
  ['money flow, one run tree', 'insights/money-flow?run_id=run-0'],
  ['agents vs humans', `insights/agents-vs-humans?${W}`],
];

const time = (fn: () => Promise<unknown>) => timed(fn, RUNS, 2);

let maxRss = 0;
const rssTimer = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage.rss())), 100);
const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'agent-ledger-bench-insights-'));
const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'warn', API_KEYS: 'read:bench-read', RATE_LIMIT_MAX: 10_000_000, LOAD_PRICE_CATALOG: false, BUDGET_EVAL_INTERVAL_MS: 0, CACHE_TTL_MS: 0 }));
const client = app.engine.client;
const scalar = async (query: string) => Object.values((await (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, unknown>>())[0]!)[0];
await loadBenchLedger(client, COUNT, log);
const runs = Number(await scalar('SELECT count() FROM run_facts FINAL'));
log(`${COUNT.toLocaleString('en-US')} events, ${runs.toLocaleString('en-US')} runs`);

const address = await app.listen({ port: 0, host: '127.0.0.1' });
const auth = { authorization: 'Bearer bench-read' };
const rows: string[] = [];
let reference = 0;
for (const [name, path] of queries) {
  const url = `${address}/api/v1/${path}`;
  const res = await fetch(url, { headers: auth });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${body.slice(0, 500)}`);
  const t = await time(() => fetch(url, { headers: auth }).then((r) => r.text()));
  if (!reference) reference = t.p50;
  rows.push(`| ${name} | ${t.p50.toFixed(1)} / ${t.p95.toFixed(1)} | ${(t.p50 / reference).toFixed(2)} | ${Math.round(body.length / 1024).toLocaleString('en-US')} KB |`);
  log(rows.at(-1)!);
}
await app.close();
clearInterval(rssTimer);
if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });

console.log(`
${COUNT.toLocaleString('en-US')} events (${runs.toLocaleString('en-US')} runs), window 2026-01-01 … 2026-01-30; uncached (CACHE_TTL_MS=0), HTTP,
${RUNS} timed runs per query after 2 warm-ups, one process; max RSS ${Math.round(maxRss / 1048576)} MB.
| query | p50 / p95 ms | p50 ÷ /agent-costs by agent | answer |
|---|---:|---:|---:|
${rows.join('\n')}
`);
process.exit(0);
