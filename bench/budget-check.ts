// `npm run bench:check`: the pre-flight check over HTTP with 1,000 budgets on mixed scopes.
// Prints p50 / p95 / p99 latency of POST /api/v1/budgets/check; target p99 < 10 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';

const BUDGETS = Number(process.env.BENCH_BUDGETS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
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
const bodies = Array.from({ length: 64 }, (_, i) => JSON.stringify({ product_line: lines[i % lines.length], segment: segments[i % 4], agent_version: `v${i % 5}`, run_id: `run-${i}` }));
const call = (i: number) => fetch(`${address}/api/v1/budgets/check`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-ingest' }, body: bodies[i % bodies.length] }).then((r) => r.json());
for (let i = 0; i < 500; i++) await call(i);
const latencies: number[] = [];
let next = 0;
t0 = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < REQUESTS) {
    const i = next++;
    const s = performance.now();
    await call(i);
    latencies.push(performance.now() - s);
  }
}));
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
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
| ${BUDGETS} budgets, ${REQUESTS} checks over HTTP, ${CONCURRENCY} concurrent | ms |
|---|---:|
| p50 | ${p(0.5)} |
| p95 | ${p(0.95)} |
| p99 | ${p(0.99)} |
| max | ${latencies.at(-1)!.toFixed(2)} |

throughput: ${Math.round(REQUESTS / seconds)} checks/s; the check itself in process: p50 ${(inProcess[10_000]! * 1000).toFixed(0)} µs, p99 ${(inProcess[19_800]! * 1000).toFixed(0)} µs (target p99 < 10 ms over HTTP)
`);
