// `npm run bench:query`: BENCH_EVENTS (default 10M) events generated inside ClickHouse, then in one run:
// (a) each query through the API uncached (HTTP, p50/p95) next to the plainest raw scan of the same
//     slice, `SELECT dims, sum(cost_usd), count() FROM cost_events WHERE window … GROUP BY dims`;
// (b) cached answers vs a Fastify hello-world route in the same process;
// (c) with BENCH_COMPARE=1, the designs the read path was chosen from, on the same data.
// The server's RSS (engine included: it runs in-process) is sampled throughout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { autocannon } from './autocannon.js';
import { timed } from './timing.js';
import { loadBenchLedger } from './ledger.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const log = (msg: string) => console.log(`[bench:query] ${msg}`);

const JAN = "timestamp >= '2026-01-01 00:00:00' AND timestamp < '2026-01-31 00:00:00'";
// name, API query string, the plainest raw scan of the same slice
const queries: [string, string, string][] = [
  ['total, 30 days', 'date_range=2026-01-01,2026-01-30', `SELECT sum(cost_usd), count() FROM cost_events WHERE ${JAN}`],
  ['cost by segment', 'date_range=2026-01-01,2026-01-30&group_by=segment', `SELECT segment, sum(cost_usd), count() FROM cost_events WHERE ${JAN} GROUP BY segment`],
  ['cost by agent', 'date_range=2026-01-01,2026-01-30&group_by=agent', `SELECT agent_id, sum(cost_usd), count() FROM cost_events WHERE ${JAN} GROUP BY agent_id`],
  ['spend by model', 'date_range=2026-01-01,2026-01-30&group_by=model', `SELECT model, sum(cost_usd), count() FROM cost_events WHERE ${JAN} GROUP BY model`],
  ['top 50 customers', 'date_range=2026-01-01,2026-01-30&group_by=customer&limit=50', `SELECT customer_id, sum(cost_usd) AS c, count() FROM cost_events WHERE ${JAN} GROUP BY customer_id ORDER BY c DESC LIMIT 50`],
  ['product line × day', 'date_range=2026-01-01,2026-01-30&group_by=product_line&granularity=day', `SELECT product_line_id, toStartOfDay(timestamp) AS d, sum(cost_usd), count() FROM cost_events WHERE ${JAN} GROUP BY product_line_id, d`],
  ['intent × segment per week', 'date_range=2026-01-01,2026-01-30&group_by=intent,segment&granularity=week', `SELECT intent, segment, toStartOfWeek(timestamp, 1) AS w, sum(cost_usd), count() FROM cost_events WHERE ${JAN} GROUP BY intent, segment, w`],
  ['seed example (2 filters, by intent)', 'segment=enterprise&date_range=2026-01-01,2026-01-30&agent_version=v3&group_by=intent_category', `SELECT intent, sum(cost_usd), count() FROM cost_events WHERE ${JAN} AND segment = 'enterprise' AND agent_version = 'v3' GROUP BY intent`],
  ['agent × version × tool, one line', 'date_range=2026-01-01,2026-01-30&product_line=support&group_by=agent,agent_version,tool', `SELECT agent_id, agent_version, tool, sum(cost_usd), count() FROM cost_events WHERE ${JAN} AND product_line_id = 'support' GROUP BY agent_id, agent_version, tool`],
  // Narrow windows on the 30-day ledger: the raw scan reads only those days (time is in its sort
  // key); the runs are read by start from the daily run counts and run_starts (docs/analytics.md).
  ['spend by model, 7 days', 'date_range=2026-01-10,2026-01-16&group_by=model', "SELECT model, sum(cost_usd), count() FROM cost_events WHERE timestamp >= '2026-01-10 00:00:00' AND timestamp < '2026-01-17 00:00:00' GROUP BY model"],
  ['spend by model, one day', 'date_range=2026-01-10,2026-01-10&group_by=model', "SELECT model, sum(cost_usd), count() FROM cost_events WHERE timestamp >= '2026-01-10 00:00:00' AND timestamp < '2026-01-11 00:00:00' GROUP BY model"],
  ['model, ragged window (10:17 → 08:45)', 'from=2026-01-01T10:17:00Z&to=2026-01-30T08:45:00Z&group_by=model', "SELECT model, sum(cost_usd), count() FROM cost_events WHERE timestamp >= '2026-01-01 10:17:00' AND timestamp < '2026-01-30 08:45:00' GROUP BY model"],
];

const time = (fn: () => Promise<unknown>, runs = RUNS) => timed(fn, runs);

let maxRss = 0;
let maxRssApi = 0;
let inApi = false;
const rssTimer = setInterval(() => {
  const rss = process.memoryUsage.rss();
  maxRss = Math.max(maxRss, rss);
  if (inApi) maxRssApi = Math.max(maxRssApi, rss);
}, 100);
const mb = (bytes: number) => `${Math.round(bytes / 1048576).toLocaleString('en-US')} MB`;

const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'agent-ledger-bench-query-'));
// ENGINE_UNCOMPRESSED_CACHE_MB as for the server (the API and the raw scans share the engine and its cache).
const engineCache = process.env.ENGINE_UNCOMPRESSED_CACHE_MB ? { ENGINE_UNCOMPRESSED_CACHE_MB: process.env.ENGINE_UNCOMPRESSED_CACHE_MB } : {};
const common = { DATA_DIR: dir, LOG_LEVEL: 'warn', API_KEYS: 'read:bench-read', RATE_LIMIT_MAX: 10_000_000, LOAD_PRICE_CATALOG: false, BUDGET_EVAL_INTERVAL_MS: 0, ...engineCache } as const;
const uncached = await buildApp(configWith({ ...common, CACHE_TTL_MS: 0 }));
const client = uncached.engine.client;
const scalar = async (query: string) => Object.values((await (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, unknown>>())[0]!)[0];
await loadBenchLedger(client, COUNT, log);
const sizes = await (await client.query({
  query: "SELECT name, total_rows AS rows FROM system.tables WHERE database = currentDatabase() AND name IN ('cost_events', 'run_facts', 'cost_purchase_hourly', 'cost_business_hourly', 'cost_customer_hourly', 'cost_purchase_daily', 'cost_business_daily', 'cost_customer_daily', 'run_starts', 'run_counts_purchase_daily', 'run_counts_business_daily', 'run_counts_customer_daily') ORDER BY total_rows DESC",
  format: 'JSONEachRow',
})).json<{ name: string; rows: string }>();
log(`rows: ${sizes.map((s) => `${s.name} ${Number(s.rows).toLocaleString('en-US')}`).join(', ')}`);

const auth = { authorization: 'Bearer bench-read' };
// RSS from here on: generating and merging a ledger in this process is not answering queries.
const rssStart = process.memoryUsage.rss();
maxRss = rssStart;
const address = await uncached.listen({ port: 0, host: '127.0.0.1' });

log('(a) API uncached vs the plain raw scan of the same slice');
const a: string[] = [];
const ratios: number[] = [];
for (const [name, qs, rawSql] of queries) {
  const url = `${address}/api/v1/agent-costs?${qs}`;
  const res = await fetch(url, { headers: auth });
  if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${await res.text()}`);
  const source = res.headers.get('x-ledger-source') ?? ((await res.json()) as { source: string }).source;
  inApi = true;
  const api = await time(() => fetch(url, { headers: auth }).then((r) => r.text()));
  inApi = false;
  const raw = await time(() => client.query({ query: rawSql, format: 'JSONEachRow' }).then((r) => r.json()));
  ratios.push(api.p50 / raw.p50);
  a.push(`| ${name} | ${source} | ${api.p50.toFixed(1)} / ${api.p95.toFixed(1)} | ${raw.p50.toFixed(1)} / ${raw.p95.toFixed(1)} | ${(api.p50 / raw.p50).toFixed(2)} |`);
  log(a.at(-1)!);
}
const rssQueries = maxRss;
const c: string[] = [];
if (process.env.BENCH_COMPARE === '1') {
  log('(c) designs compared on the same data: cost by model, 30 days (sums only) and runs by segment');
  const dims = 'product_line_id, environment, type, status, provider, model, tool, agent_id, agent_version, segment, intent, feature';
  const sums = 'sum(cost_usd) AS c, countIf(record_type = \'event\') AS e';
  const build = async (name: string, ddl: string) => {
    const t0 = performance.now();
    await client.command({ query: ddl });
    return (performance.now() - t0) / 1000;
  };
  const row = async (design: string, built: string, rows: unknown, query: string) => {
    const t = await time(() => client.query({ query, format: 'JSONEachRow' }).then((r) => r.json()), 10);
    c.push(`| ${design} | ${built} | ${Number(rows).toLocaleString('en-US')} | ${t.p50.toFixed(1)} |`);
    log(c.at(-1)!);
  };
  await row('raw scan of cost_events', '—', COUNT, `SELECT model, sum(cost_usd), count() FROM cost_events WHERE ${JAN} GROUP BY model`);
  await row('raw scan + exact distinct runs (uniqExact)', '—', COUNT, `SELECT model, sum(cost_usd), count(), uniqExact(run_id) FROM cost_events WHERE ${JAN} GROUP BY model`);
  await row('narrow hourly rollup (cost_purchase_hourly)', 'view', await scalar('SELECT count() FROM cost_purchase_hourly'), "SELECT model, sum(cost_usd), sum(events) FROM cost_purchase_hourly WHERE hour >= '2026-01-01 00:00:00' AND hour < '2026-01-31 00:00:00' GROUP BY model");
  let s = await build('wide', `CREATE TABLE IF NOT EXISTS bench_wide_hourly ENGINE = MergeTree ORDER BY (product_line_id, h) AS SELECT toStartOfHour(timestamp) AS h, ${dims}, ${sums} FROM cost_events GROUP BY h, ${dims}`);
  await row('wide hourly rollup, 12 dimensions, sums only', `${s.toFixed(0)} s`, await scalar('SELECT count() FROM bench_wide_hourly'), `SELECT model, sum(c), sum(e) FROM bench_wide_hourly WHERE h >= '2026-01-01 00:00:00' AND h < '2026-01-31 00:00:00' GROUP BY model`);
  s = await build('wide daily', `CREATE TABLE IF NOT EXISTS bench_wide_daily ENGINE = MergeTree ORDER BY (product_line_id, d) AS SELECT toStartOfDay(timestamp) AS d, ${dims}, ${sums} FROM cost_events GROUP BY d, ${dims}`);
  await row('wide daily rollup, 12 dimensions, sums only', `${s.toFixed(0)} s`, await scalar('SELECT count() FROM bench_wide_daily'), `SELECT model, sum(c), sum(e) FROM bench_wide_daily WHERE d >= '2026-01-01 00:00:00' AND d < '2026-01-31 00:00:00' GROUP BY model`);
  s = await build('projection', "ALTER TABLE cost_events ADD PROJECTION IF NOT EXISTS bench_p_model (SELECT toStartOfHour(timestamp), product_line_id, model, sum(cost_usd), countIf(record_type = 'event') GROUP BY toStartOfHour(timestamp), product_line_id, model)");
  s += await build('projection', 'ALTER TABLE cost_events MATERIALIZE PROJECTION bench_p_model SETTINGS mutations_sync = 1');
  await row('aggregate projection on cost_events (hour × product line × model)', `${s.toFixed(0)} s`, '0', "SELECT model, sum(cost_usd), countIf(record_type = 'event') FROM cost_events WHERE toStartOfHour(timestamp) >= '2026-01-01 00:00:00' AND toStartOfHour(timestamp) < '2026-01-31 00:00:00' GROUP BY model");
  const used = await scalar("SELECT count() FROM system.query_log WHERE has(projections, 'agent_ledger.cost_events.bench_p_model')").catch(() => 'unknown');
  log(`projection used by the optimizer (query_log entries): ${String(used)}`);
  await row('runs by segment: run_facts FINAL', 'view', await scalar('SELECT count() FROM run_facts'), "SELECT segment, count() FROM run_facts FINAL WHERE started_at >= '2026-01-01' AND started_at < '2026-01-31' GROUP BY segment");
  await row('runs by segment: uniqExact(run_id) on cost_events', '—', COUNT, `SELECT segment, uniqExact(run_id) FROM cost_events WHERE ${JAN} GROUP BY segment`);
  await client.command({ query: 'ALTER TABLE cost_events DROP PROJECTION IF EXISTS bench_p_model SETTINGS mutations_sync = 1' });
  await client.command({ query: 'DROP TABLE IF EXISTS bench_wide_hourly' });
  await client.command({ query: 'DROP TABLE IF EXISTS bench_wide_daily' });
}
await uncached.close();

log('(b) cached throughput vs hello world');
const cached = await buildApp(configWith({ ...common, MIGRATE_ON_START: false, CACHE_TTL_MS: 600_000, CACHE_CLOSED_TTL_MS: 600_000 }));
const cachedAddress = await cached.listen({ port: 0, host: '127.0.0.1' });
const hello = Fastify();
hello.get('/hello', async () => ({ hello: 'world' }));
const helloAddress = await hello.listen({ port: 0, host: '127.0.0.1' });
const cachedUrl = `${cachedAddress}/api/v1/agent-costs?${queries[7]![1]}`;
await fetch(cachedUrl, { headers: auth });
const cachedRps = (await autocannon(cachedUrl, { connections: 20, seconds: DURATION, headers: auth })).rps;
const helloRps = (await autocannon(`${helloAddress}/hello`, { connections: 20, seconds: DURATION })).rps;
await hello.close();
await cached.close();
clearInterval(rssTimer);
if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });

console.log(`
${COUNT.toLocaleString('en-US')} events; ${sizes.map((s) => `${s.name} ${Number(s.rows).toLocaleString('en-US')} rows`).join(', ')}.
${RUNS} timed runs per query after 3 warm-ups, in one process. Server RSS (engine included): ${mb(rssStart)} before the first query; max ${mb(maxRssApi)} while the API
answers, ${mb(rssQueries)} over the whole of (a) with the raw scans (same process; freed memory is not returned at once).

(a) uncached API (HTTP) vs the plain raw scan of the same slice (ms, p50 / p95); target API ÷ raw ≤ 0.5 at 10M, ≤ 0.25 at 100M
| query | path | API | raw scan | API ÷ raw |
|---|---|---:|---:|---:|
${a.join('\n')}
worst ratio: ${Math.max(...ratios).toFixed(2)}
${c.length ? `
(c) designs on the same data (ms, p50 of 10 runs)
| design | build | rows | query |
|---|---|---:|---:|
${c.join('\n')}
` : ''}
(b) cached responses vs a Fastify hello-world route, autocannon 20 connections × ${DURATION} s; target ≥ 50%
| route | requests/s |
|---|---:|
| GET /api/v1/agent-costs (cache hit) | ${Math.round(cachedRps)} |
| hello world | ${Math.round(helloRps)} |
cached ÷ hello world: ${((cachedRps / helloRps) * 100).toFixed(0)}%
`);
process.exit(0);
