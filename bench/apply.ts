// `npm run bench:apply`: what one apply costs on a big ledger, where the run changes (migration 021)
// look each touched run up in run_directory. Needs BENCH_DIR: a ledger `npm run bench:query` left
// (10M or 100M events); it is copied first (the copy gets the new events; the original is not
// touched). Posts BENCH_APPLY_EVENTS events (default 50,000, one apply) through the API three times:
// runs all new; half of them continuing the runs of the previous batch; half continuing runs
// picked at random from the whole ledger. Prints, per batch, the engine time of the run-changes
// statement next to the apply statement itself (the insert into cost_events with its views).
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { instrumentClient } from '../src/metrics.js';

const source = process.env.BENCH_DIR;
if (!source) throw new Error('bench:apply needs BENCH_DIR: a ledger written by npm run bench:query');
const N = Number(process.env.BENCH_APPLY_EVENTS ?? 50_000);
const log = (msg: string) => console.log(`[bench:apply] ${msg}`);

const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-bench-apply-'));
const copying = performance.now();
cpSync(source, dir, { recursive: true });
log(`copied ${source} in ${((performance.now() - copying) / 1000).toFixed(0)} s`);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
// One apply per batch: nothing is applied until the whole batch is logged.
const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'warn', LOAD_PRICE_CATALOG: false, INGEST_APPLY_MIN_ROWS: N, INGEST_APPLY_MAX_ROWS: N, INGEST_APPLY_DELAY_MS: 60_000 }));
const client = app.engine.client;
// Engine time per statement, by the tag each statement carries in its log_comment.
const times: Record<string, number> = {};
instrumentClient(client, (_kind, tag, _outcome, seconds) => {
  if (tag === 'events.run-changes' || tag === 'events.apply-commits') times[tag] = (times[tag] ?? 0) + seconds * 1000;
});

const [{ n: runs } = { n: '0' }] = await (await client.query({ query: 'SELECT count() AS n FROM run_directory', format: 'JSONEachRow' })).json<{ n: string }>();
log(`${Number(runs).toLocaleString('en-US')} runs in run_directory; ${N.toLocaleString('en-US')} events (${N / 8} runs of 8) per batch`);

async function batch(label: string, tag: string, continuing: { p: string; r: string }[]) {
  const events = Array.from({ length: N }, (_, i) => {
    const k = Math.floor(i / 8);
    const old = continuing.length > 0 && k % 2 === 0 ? continuing[(k / 2) % continuing.length] : undefined;
    return {
      event_id: randomUUID(), timestamp: new Date(Date.UTC(2026, 0, 15, 10) + i * 1000).toISOString(), type: 'llm',
      product_line_id: old?.p ?? 'support', run_id: old?.r ?? `apply-${tag}-${k}`, provider: 'openai', model: 'gpt-4o', agent_id: 'bench',
      usage: { input_tokens: 10 }, cost_usd: '0.01',
    };
  });
  for (const key of Object.keys(times)) delete times[key];
  for (let i = 0; i < N; i += 1000) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/events', payload: events.slice(i, i + 1000) });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  await app.ingestor!.settle();
  log(`| ${label} | ${(times['events.run-changes'] ?? 0).toFixed(0)} | ${(times['events.apply-commits'] ?? 0).toFixed(0)} |`);
}

const pick = async (query: string) => (await (await client.query({ query, format: 'JSONEachRow' })).json<{ p: string; r: string }>());
log('| batch | run changes ms | apply ms |');
log('|---|---:|---:|');
await batch('all runs new', 'a', []);
await batch('half continue the previous batch\'s runs', 'b', await pick("SELECT product_line_id AS p, run_id AS r FROM run_facts WHERE startsWith(run_id, 'apply-a-') LIMIT 3125"));
await batch('half continue random runs of the ledger', 'c', await pick("SELECT product_line_id AS p, run_id AS r FROM run_facts WHERE NOT startsWith(run_id, 'apply-') ORDER BY rand() LIMIT 3125"));
await app.close();
process.exit(0);
