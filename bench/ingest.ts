// `npm run bench:ingest`: sustained ingest through the HTTP API (a server child process,
// 1,000-event batches, several concurrent clients) against the raw engine in the same run: the
// same rows inserted by client.insert into a plain MergeTree (no views), and into cost_events with
// its views. Checks that every event was counted once and reached the views. Prints events/s,
// the ratios and peak RSS.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/clickhouse.js';
import { configWith } from '../src/config.js';
import { classify } from '../src/events/classify.js';
import { migrate } from '../src/migrate.js';
import { projectPath } from '../src/sql.js';
import { makeBatch } from './events.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const PORT = Number(process.env.BENCH_PORT ?? 18_181);
const batches = Math.ceil(TOTAL / BATCH);

const log = (msg: string) => console.log(`[bench:ingest] ${msg}`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** CPU seconds of a process's threads so far, by thread name (Node's main thread is the process name). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d:]+$/, '')}${tid === String(pid) ? ' (main)' : ''}`;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch { /* the thread ended */ }
  }
  return out;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function runPool(count: number, worker: (i: number) => Promise<void>, onProgress: (done: number) => void) {
  let next = 0;
  let done = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < count) {
      const i = next++;
      await worker(i);
      if (++done % Math.max(1, Math.floor(count / 10)) === 0) onProgress(done);
    }
  }));
}

async function apiPhase(bodies: string[]): Promise<{ seconds: number; peakRss: number; accepted: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-bench-api-'));
  // BENCH_CPU_PROF=dir: write a V8 CPU profile of the server (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/server.ts'], {
    cwd: projectPath(),
    env: { ...process.env, PORT: String(PORT), DATA_DIR: dir, API_KEYS: 'ingest:bench-key,read:bench-read-key', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '10000000' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${PORT}`;
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error('server did not become ready');
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let peakRss = rssOf(child.pid!);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(child.pid!))), 200);
  let accepted = 0;
  const cpu0 = threadCpu(child.pid!);
  const t0 = performance.now();
  await runPool(bodies.length, async (i) => {
    const res = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' }, body: bodies[i] });
    const receipt = (await res.json()) as { accepted: number };
    if (res.status !== 200) throw new Error(`batch ${i}: HTTP ${res.status} ${JSON.stringify(receipt).slice(0, 300)}`);
    accepted += receipt.accepted;
  }, (done) => log(`api: ${done}/${bodies.length} batches, rss ${mb(rssOf(child.pid!))}`));
  // Until every acknowledged event is in the ledger and its views: a read waits for the apply.
  await fetch(`${url}/api/v1/agent-costs?from=2025-12-01&to=2026-03-01&source=rollup`, { headers: { authorization: 'Bearer bench-read-key' } });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (process.env.BENCH_THREAD_CPU) {
    // Where the server's CPU went while it ingested: Node's main thread, the engine's threads, libuv.
    const cpu1 = threadCpu(child.pid!);
    const used = [...cpu1].map(([name, s]) => [name, s - (cpu0.get(name) ?? 0)] as const).filter(([, s]) => s >= 0.05).sort((a, b) => b[1] - a[1]);
    log(`server CPU seconds by thread over ${seconds.toFixed(1)} s: ${used.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ')}`);
  }
  // Every event once, in the views too: the month's totals (served from the rollups) and a replay
  // of the first batch, which must come back all duplicates.
  const auth = { authorization: 'Bearer bench-key' };
  const replay = (await (await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: bodies[0] })).json()) as { accepted: number; duplicates: number };
  const costs = (await (await fetch(`${url}/api/v1/agent-costs?from=2025-12-01&to=2026-03-01&source=rollup`, { headers: { authorization: 'Bearer bench-read-key' } })).json()) as { totals: { events: number } };
  if (replay.accepted !== 0 || costs.totals?.events !== TOTAL) {
    child.kill('SIGTERM');
    throw new Error(`ledger check failed: replay accepted ${replay.accepted}, rollup answered ${JSON.stringify(costs).slice(0, 300)}, expected 0 and ${TOTAL} events`);
  }
  if (process.env.BENCH_ENGINE_TIME) {
    // Where the server's engine time went, by query tag (seconds summed over calls).
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^agent_ledger_clickhouse_query_duration_seconds_(sum|count)\{kind="([^"]+)",tag="([^"]+)",outcome="ok"\} (\S+)$/gm)) log(`engine ${m[1]} ${m[2]} ${m[3]}: ${Number(m[4]).toFixed(2)}`);
  }
  log(`checked: rollup totals count ${costs.totals.events} events, a replayed batch was ${replay.duplicates} duplicates`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return { seconds, peakRss, accepted };
}

async function rawPhase(table: 'plain' | 'cost_events'): Promise<{ seconds: number; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-bench-raw-'));
  const engine = await createEngine(configWith({ DATA_DIR: dir }));
  await migrate(engine, () => {});
  // The plainest insert: the same columns and sort key, no views, no skip indexes.
  await engine.client.command({ query: 'CREATE TABLE plain AS cost_events ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (product_line_id, toStartOfHour(timestamp), environment, type, event_id)' });
  for (const index of ['idx_event_id', 'idx_run_id', 'idx_parent_run_id']) await engine.client.command({ query: `ALTER TABLE plain DROP INDEX IF EXISTS ${index}` });
  // The same rows the API would write, prepared before the clock starts.
  const receivedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
  const rowBatches = Array.from({ length: batches }, (_, b) =>
    makeBatch(b, Math.min(BATCH, TOTAL - b * BATCH)).map((e, i) => {
      const c = classify({ value: e }, i, receivedAt);
      if (c.kind !== 'event') throw new Error('bench event did not validate');
      return c.row;
    }));
  const t0 = performance.now();
  await runPool(rowBatches.length, async (i) => {
    await engine.client.insert({ table, values: rowBatches[i]!, format: 'JSONEachRow' });
  }, (done) => log(`${table}: ${done}/${rowBatches.length} batches`));
  const seconds = (performance.now() - t0) / 1000;
  const rs = await engine.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
  const [{ n }] = await rs.json<{ n: number }>() as [{ n: number }];
  await engine.client.close();
  rmSync(dir, { recursive: true, force: true });
  return { seconds, rows: n };
}

log(`${TOTAL} events in ${batches} batches of ${BATCH}, ${CLIENTS} concurrent clients`);
const bodies = Array.from({ length: batches }, (_, b) => JSON.stringify({ events: makeBatch(b, Math.min(BATCH, TOTAL - b * BATCH)) }));
log(`generated ${mb(bodies.reduce((n, b) => n + b.length, 0))} of JSON`);
const api = await apiPhase(bodies);
bodies.length = 0;
const plain = await rawPhase('plain');
const direct = await rawPhase('cost_events');
if (api.accepted !== TOTAL || plain.rows !== TOTAL || direct.rows !== TOTAL) throw new Error(`row counts differ: api accepted ${api.accepted}, plain ${plain.rows}, cost_events ${direct.rows}, expected ${TOTAL}`);

const rate = (seconds: number) => TOTAL / seconds;
console.log(`
| path | events | seconds | events/s | API ÷ this |
|---|---:|---:|---:|---:|
| HTTP API (POST /api/v1/events, ${CLIENTS} clients, deduplicated, every view fed) | ${TOTAL} | ${api.seconds.toFixed(1)} | ${Math.round(rate(api.seconds))} | |
| client.insert into a plain MergeTree (same rows, ${CLIENTS} concurrent, no views) | ${TOTAL} | ${plain.seconds.toFixed(1)} | ${Math.round(rate(plain.seconds))} | ${(plain.seconds / api.seconds).toFixed(2)} |
| client.insert into cost_events (same rows, ${CLIENTS} concurrent, its views, no dedup) | ${TOTAL} | ${direct.seconds.toFixed(1)} | ${Math.round(rate(direct.seconds))} | ${(direct.seconds / api.seconds).toFixed(2)} |

API ÷ plain MergeTree insert: ${(plain.seconds / api.seconds).toFixed(2)} (target ≥ 0.6)
server peak RSS: ${mb(api.peakRss)} (target < 1536 MB)
`);
