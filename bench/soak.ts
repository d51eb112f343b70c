// Soak: mixed load against the real server in a child process for SOAK_SECONDS (default 600):
// ingest with retries (re-sent and overlapping batches, a few bad items), varied reads and budget
// checks. Reports requests, 5xx (must be 0), events acknowledged vs counted (must be equal, with
// the exact cost) and the server's RSS over time (must level off). Exit code 1 when a check fails.
//   SOAK_SECONDS=120 SOAK_CLIENTS=4 npm run soak
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromUnits, toUnits } from '../src/pricing/decimal.js';
import { startServerProcess } from '../test/server-process.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const clients = Number(process.env.SOAK_CLIENTS ?? 4);
const sampleEvery = Number(process.env.SOAK_SAMPLE_SECONDS ?? Math.max(5, Math.round(seconds / 20)));
const keys = { admin: 'soak-admin', ingest: 'soak-ingest', read: 'soak-read', export: 'soak-export' };

const server = await startServerProcess({
  API_KEYS: `admin:${keys.admin},ingest:${keys.ingest},read:${keys.read},export:${keys.export}`,
  RATE_LIMIT_MAX: '10000000', BUDGET_EVAL_INTERVAL_MS: '5000',
});
const productLines = ['support', 'search', 'sales', 'ops'];
const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'o3'];
const started = Date.now();

type Stat = { n: number; ms: number[]; byStatus: Map<number, number> };
const stats = new Map<string, Stat>();
const failures: string[] = [];
let networkErrors = 0;
async function call(kind: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; json: unknown } | undefined> {
  const t0 = performance.now();
  const stat: Stat = stats.get(kind) ?? { n: 0, ms: [], byStatus: new Map() };
  stats.set(kind, stat);
  try {
    const res = await fetch(`${server.url}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    stat.n++;
    stat.ms.push(performance.now() - t0);
    stat.byStatus.set(res.status, (stat.byStatus.get(res.status) ?? 0) + 1);
    if (res.status >= 500 && failures.length < 20) failures.push(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
    const json = /^application\/(problem\+)?json/.test(res.headers.get('content-type') ?? '');
    return { status: res.status, json: text && json ? JSON.parse(text) : undefined };
  } catch (err) {
    networkErrors++;
    if (failures.length < 20) failures.push(`${method} ${path} → ${(err as Error).message}`);
    return undefined;
  }
}

// Ingest: every batch is remembered so later batches can overlap it and retries can repeat it.
let acknowledged = 0;
let acknowledgedCost = 0n;
let rejectedItems = 0;
const sent: Record<string, unknown>[][] = [];
function makeEvents(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const bad = Math.random() < 0.02;
    return {
      event_id: randomUUID(),
      timestamp: new Date(Date.now() - Math.floor(Math.random() * 3_600_000)).toISOString(),
      type: 'llm', product_line_id: productLines[i % productLines.length], provider: 'openai', model: models[i % models.length],
      run_id: `run-${Math.floor(Math.random() * 5000)}`, customer_id: `c-${Math.floor(Math.random() * 300)}`, agent_id: `agent-${i % 7}`,
      usage: { input_tokens: 100 + Math.floor(Math.random() * 5000), output_tokens: Math.floor(Math.random() * 800) },
      cost_usd: bad ? '-1' : `0.${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`,
    };
  });
}
async function ingestOnce(): Promise<void> {
  let events = makeEvents(1 + Math.floor(Math.random() * 400));
  // Overlap: part of an earlier batch again (its items come back as duplicates).
  if (sent.length > 0 && Math.random() < 0.1) events = [...events, ...sent[Math.floor(Math.random() * sent.length)]!.slice(0, 50)];
  sent.push(events);
  if (sent.length > 200) sent.shift();
  // A lost acknowledgement: the client sends the same batch again; the second receipt adds nothing.
  const times = Math.random() < 0.15 ? 2 : 1;
  for (let i = 0; i < times; i++) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await call('ingest', 'POST', '/api/v1/events', keys.ingest, { events });
      if (res && res.status < 500) {
        const receipt = res.json as { accepted: number; rejected: number; results: { index: number }[] };
        const listed = new Set(receipt.results.map((r) => r.index));
        acknowledged += receipt.accepted;
        rejectedItems += receipt.rejected;
        events.forEach((e, index) => {
          if (!listed.has(index)) acknowledgedCost += toUnits(e.cost_usd as string);
        });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

const groupBys = ['product_line', 'model', 'customer', 'agent', 'product_line,model', 'customer,agent'];
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const window = () => `from=${new Date(started - 86_400_000).toISOString()}&to=${new Date(Date.now() + 86_400_000).toISOString()}`;
const month = new Date().toISOString().slice(0, 7);
const reads = [
  () => `/api/v1/agent-costs?${window()}&group_by=${pick(groupBys)}&limit=${pick([10, 100, 1000])}`,
  () => `/api/v1/agent-costs?${window()}&granularity=${pick(['hour', 'day'])}&product_line=${pick(productLines)}`,
  () => `/api/v1/agent-costs?${window()}&customer=c-${Math.floor(Math.random() * 300)}`,
  () => `/api/v1/agent-costs/dimensions/${pick(['customer', 'model', 'agent'])}?${window()}`,
  () => '/api/v1/chargeback/weekly',
  () => `/api/v1/exports/chargeback?month=${month}&format=${pick(['json', 'csv', 'ndjson'])}&limit=500`,
  () => '/api/v1/quarantine?limit=50',
  () => `/api/v1/runs/run-${Math.floor(Math.random() * 5000)}`,
  () => `/api/v1/reports/top-spenders?dimension=${pick(['customer', 'agent', 'model'])}&window=24h`,
  () => '/api/v1/budgets/status',
];
// Each read with the role it needs: exports with an export key, the quarantine with an ingest key.
const readOnce = () => {
  const path = pick(reads)();
  return call('read', 'GET', path, path.includes('/exports/') ? keys.export : path.includes('/quarantine') ? keys.ingest : keys.read);
};
const checkOnce = () => call('budget-check', 'POST', '/api/v1/budgets/check', keys.ingest, { product_line: pick(productLines), model: pick(models), estimated_cost_usd: '0.25' });

// RSS of the server process over time.
const rss: { at: number; mb: number }[] = [];
const sampleRss = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  if (m) rss.push({ at: Math.round((Date.now() - started) / 1000), mb: Math.round(Number(m[1]) / 1024) });
};

try {
  for (const pl of productLines) {
    await call('setup', 'POST', '/api/v1/budgets', keys.admin, { name: `soak-${pl}`, scope: { product_line: pl }, window: 'day', amount_usd: '1000000', thresholds: [0.5, 1], action: 'block' });
  }
  sampleRss();
  const sampler = setInterval(sampleRss, sampleEvery * 1000);
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (Date.now() < deadline) {
      const r = Math.random();
      await (r < 0.4 ? ingestOnce() : r < 0.8 ? readOnce() : checkOnce());
    }
  }));
  clearInterval(sampler);
  sampleRss();

  const final = await call('final', 'GET', `/api/v1/agent-costs?${window()}`, keys.read);
  const totals = (final?.json as { totals?: { events: number; cost_usd: string } } | undefined)?.totals;
  if (!totals) failures.push(`final count: ${final?.status} ${JSON.stringify(final?.json).slice(0, 300)}`);
  const counted = totals?.events ?? -1;
  const countedCost = totals?.cost_usd ?? '?';
  const all = [...stats.values()];
  const requests = all.reduce((a, s) => a + s.n, 0);
  const fiveXX = all.reduce((a, s) => a + [...s.byStatus].filter(([code]) => code >= 500).reduce((b, [, n]) => b + n, 0), 0);
  const pct = (xs: number[], p: number) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!);
  const third = Math.floor(rss.length / 3);
  const peak = (xs: typeof rss) => Math.max(...xs.map((x) => x.mb));
  const middle = peak(rss.slice(third, 2 * third));
  const last = peak(rss.slice(2 * third));

  console.log(`\nsoak: ${seconds} s, ${clients} clients, server pid ${server.child.pid}\n`);
  console.log('| kind | requests | p50 ms | p99 ms | statuses |\n|---|---:|---:|---:|---|');
  for (const [kind, s] of stats) console.log(`| ${kind} | ${s.n} | ${pct(s.ms, 0.5).toFixed(1)} | ${pct(s.ms, 0.99).toFixed(1)} | ${[...s.byStatus].map(([c, n]) => `${c}×${n}`).join(' ')} |`);
  console.log(`\nrequests: ${requests}, 5xx: ${fiveXX}, network errors: ${networkErrors}`);
  console.log(`events acknowledged: ${acknowledged}, counted by /agent-costs: ${counted}; cost acknowledged ${fromUnits(acknowledgedCost)}, counted ${countedCost}; rejected items: ${rejectedItems}`);
  console.log(`RSS MB over time (s→MB): ${rss.map((x) => `${x.at}→${x.mb}`).join(' ')}`);
  console.log(`RSS peak middle third ${middle} MB, last third ${last} MB (growth ${last - middle} MB)`);
  for (const f of failures) console.log(`failure: ${f}`);
  const ok = fiveXX === 0 && networkErrors === 0 && counted === acknowledged && countedCost === fromUnits(acknowledgedCost);
  console.log(ok ? '\nPASS' : '\nFAIL');
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.stop();
}
