// `npm run bench:check`: the pre-flight check with 1,000 budgets on mixed scopes, over HTTP with
// autocannon in its own process (so the load generator does not share the server's event loop),
// and the check function alone. Target: p99 < 10 ms over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { autocannon, type LoadResult } from './autocannon.js';

const BUDGETS = Number(process.env.BENCH_BUDGETS ?? 1000);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const log = (msg: string) => console.log(`[bench:check] ${msg}`);

const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-bench-check-'));
const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'warn', API_KEYS: 'admin:a,ingest:bench-ingest', RATE_LIMIT_MAX: 10_000_000, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 }));
const segments = ['enterprise', 'mid-market', 'smb', 'self-serve'];
const lines = Array.from({ length: 50 }, (_, i) => `pl-${i}`);
let t0 = performance.now();
for (let i = 0; i < BUDGETS; i++) {
  const scope: Record<string, string> = { product_line: lines[i % lines.length]! };
  if (i % 2) scope.segment = segments[i % 4]!;
  if (i % 3 === 0) scope.agent_version = `v${i % 5}`;
  await app.budgets.save({ name: `budget-${i}`, scope, window: (['hour', 'day', 'week', 'month', 'run'] as const)[i % 5]!, amount_usd: '100', thresholds: [0.5, 1], action: i % 4 ? 'alert' : 'block' });
}
log(`${BUDGETS} budgets created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const now = Date.now();
await app.ingestor.ingest(Array.from({ length: 2000 }, (_, i) => ({ value: {
  event_id: `bench-check-${i}`, timestamp: new Date(now - i * 1000).toISOString(), type: 'llm', product_line_id: lines[i % lines.length],
  segment: segments[i % 4], agent_version: `v${i % 5}`, run_id: `run-${i % 100}`, cost_usd: '0.5',
} })));
const address = await app.listen({ port: 0, host: '127.0.0.1' });

// One representative check: a scope that several budgets of one product line match.
const body = JSON.stringify({ product_line: 'pl-1', segment: 'mid-market', agent_version: 'v1', run_id: 'run-1' });
const sample = (await (await fetch(`${address}/api/v1/budgets/check`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-ingest' }, body })).json()) as { budgets: unknown[] };
log(`the sample check matches ${sample.budgets.length} budgets`);
const results: [number, LoadResult][] = [];
for (const connections of [1, 4, 16]) {
  results.push([connections, await autocannon(`${address}/api/v1/budgets/check`, {
    connections, seconds: DURATION, method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer bench-ingest' },
  })]);
}

const inProcess: number[] = [];
for (let i = 0; i < 20_000; i++) {
  const s = performance.now();
  app.budgets.check({ product_line: lines[i % lines.length]!, segment: segments[i % 4]!, agent_version: `v${i % 5}`, run_id: `run-${i % 100}` });
  inProcess.push(performance.now() - s);
}
inProcess.sort((a, b) => a - b);
await app.close();
rmSync(dir, { recursive: true, force: true });
console.log(`
${BUDGETS} budgets; POST /api/v1/budgets/check over HTTP, autocannon ${DURATION} s per row (ms):
| connections | p50 | p90 | p99 | max | checks/s |
|---:|---:|---:|---:|---:|---:|
${results.map(([c, r]) => `| ${c} | ${r.latency.p50} | ${r.latency.p90} | ${r.latency.p99} | ${r.latency.max} | ${Math.round(r.rps)} |`).join('\n')}

the check itself, in process: p50 ${(inProcess[10_000]! * 1000).toFixed(0)} µs, p99 ${(inProcess[19_800]! * 1000).toFixed(0)} µs (target: p99 < 10 ms over HTTP)
`);
