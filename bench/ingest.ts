// `npm run bench:ingest`: sustained ingest through the HTTP API (a server child process,
// 1,000-event batches, several concurrent clients) against a direct client.insert of the same
// rows into a fresh embedded ClickHouse, in the same run. Prints events/s, the ratio, peak RSS.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: projectPath(),
    env: { ...process.env, PORT: String(PORT), DATA_DIR: dir, API_KEYS: 'ingest:bench-key', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '10000000' },
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
  const t0 = performance.now();
  await runPool(bodies.length, async (i) => {
    const res = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' }, body: bodies[i] });
    const receipt = (await res.json()) as { accepted: number };
    if (res.status !== 200) throw new Error(`batch ${i}: HTTP ${res.status} ${JSON.stringify(receipt).slice(0, 300)}`);
    accepted += receipt.accepted;
  }, (done) => log(`api: ${done}/${bodies.length} batches, rss ${mb(rssOf(child.pid!))}`));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return { seconds, peakRss, accepted };
}

async function rawPhase(): Promise<{ seconds: number; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-bench-raw-'));
  const engine = await createEngine(configWith({ DATA_DIR: dir }));
  await migrate(engine);
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
    await engine.client.insert({ table: 'cost_events', values: rowBatches[i]!, format: 'JSONEachRow' });
  }, (done) => log(`raw: ${done}/${rowBatches.length} batches`));
  const seconds = (performance.now() - t0) / 1000;
  const rs = await engine.client.query({ query: 'SELECT count() AS n FROM cost_events', format: 'JSONEachRow' });
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
const raw = await rawPhase();
if (api.accepted !== TOTAL || raw.rows !== TOTAL) throw new Error(`row counts differ: api accepted ${api.accepted}, raw stored ${raw.rows}, expected ${TOTAL}`);

const apiRate = TOTAL / api.seconds;
const rawRate = TOTAL / raw.seconds;
console.log(`
| path | events | seconds | events/s |
|---|---:|---:|---:|
| HTTP API (POST /api/v1/events, ${CLIENTS} clients) | ${TOTAL} | ${api.seconds.toFixed(1)} | ${Math.round(apiRate)} |
| direct client.insert (same rows, ${CLIENTS} concurrent) | ${TOTAL} | ${raw.seconds.toFixed(1)} | ${Math.round(rawRate)} |

API / raw ratio: ${(apiRate / rawRate).toFixed(2)} (target ≥ 0.50)
server peak RSS: ${mb(api.peakRss)} (target < 1536 MB)
`);
