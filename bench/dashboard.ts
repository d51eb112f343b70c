// `npm run bench:dashboard`: page load of the dashboard's Overview on a BENCH_EVENTS-event ledger
// (default 10M, generated inside ClickHouse as for bench:query; BENCH_DIR keeps and reuses it),
// in headless Chromium (Debian's chromium, or CHROMIUM_PATH) driven by playwright-core.
// Measured per load, from navigation start: first contentful paint (the shell), the first
// meaningful paint (the headline figures — cost per task, spend — and the spend chart drawn), and
// everything settled (drivers, product lines, budgets, anomalies); a first visit (nothing cached),
// a returning reader with the API uncached (every request reaches the engine), and with the cache on.
import { existsSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { loadBenchLedger } from './ledger.js';
import { percentile } from './timing.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const LOADS = Number(process.env.BENCH_RUNS ?? 7);
// The generated ledger covers January 2026; the view is that window, put in the URL as a user would.
const VIEW = '/?date_range=2026-01-01,2026-01-30';
const log = (msg: string) => console.log(`[bench:dashboard] ${msg}`);
const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!executablePath) throw new Error('no chromium: apt-get install -y chromium (or set CHROMIUM_PATH)');

const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'agent-ledger-bench-dashboard-'));
const common = { DATA_DIR: dir, LOG_LEVEL: 'warn', API_KEYS: 'read:bench-read', RATE_LIMIT_MAX: 10_000_000, LOAD_PRICE_CATALOG: false, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 } as const;

type Load = { fcp: number; data: number; meaningful: number; settled: number; api: number; requests: number };

/** One load of the Overview in a fresh tab; times in ms from navigation start. */
async function loadOverview(page: Page, base: string): Promise<Load> {
  await page.goto(`${base}${VIEW}`, { waitUntil: 'commit' });
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-spend"] [data-value]')
    && document.querySelector('[data-testid="stat-cost-per-task"] [data-value]')
    && document.querySelector('[data-testid="chart-spend"][data-rendered="true"]'), undefined, { timeout: 120_000, polling: 'raf' });
  const meaningful = await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now()))));
  await page.waitForFunction(() => !document.querySelector('.loading, [aria-busy="true"]') && document.querySelector('[data-ready="true"]'), undefined, { timeout: 120_000, polling: 50 });
  const settled = await page.evaluate(() => performance.now());
  return page.evaluate(({ meaningful, settled }) => {
    const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
    const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/')) as PerformanceResourceTiming[];
    // When the answers the meaningful paint needs had arrived (cost per task, spend by day).
    const data = Math.max(...api.filter((e) => /cost-per-task|granularity=day/.test(e.name)).map((e) => e.responseEnd));
    return { fcp, data, meaningful, settled, api: Math.max(...api.map((e) => e.responseEnd - e.startTime)), requests: api.length };
  }, { meaningful, settled });
}

/**
 * Loads of the Overview against a server with `env`. `fresh`: every load in a new browser profile
 * (nothing cached: a first visit); otherwise in new tabs of one profile after one uncounted load, so
 * the scripts come from the browser's cache (a returning reader).
 */
async function measure(label: string, env: Record<string, string | number>, fresh: boolean): Promise<Load[]> {
  const app = await buildApp(configWith({ ...common, ...env }));
  try {
    await loadBenchLedger(app.engine.client, COUNT, log);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const errors: string[] = [];
    const profile = async () => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await ctx.addInitScript(() => sessionStorage.setItem('agent-ledger.api-key', 'bench-read'));
      return ctx;
    };
    try {
      let shared = fresh ? null : await profile();
      if (shared) { const p = await shared.newPage(); await loadOverview(p, base); await p.close(); }
      const loads: Load[] = [];
      for (let i = 0; i < LOADS; i++) {
        const ctx = shared ?? (await profile());
        const p = await ctx.newPage();
        p.on('pageerror', (e) => errors.push(e.message));
        loads.push(await loadOverview(p, base));
        await (shared ? p.close() : ctx.close());
        const l = loads.at(-1)!;
        log(`${label} #${i + 1}: FCP ${l.fcp.toFixed(0)} ms, data ${l.data.toFixed(0)} ms, meaningful ${l.meaningful.toFixed(0)} ms, settled ${l.settled.toFixed(0)} ms (${l.requests} API requests, slowest ${l.api.toFixed(0)} ms)`);
      }
      shared = null;
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      return loads;
    } finally {
      await browser.close();
    }
  } finally {
    await app.close();
  }
}

// The machine may be shared: the 1-minute load average before and after each row is printed with it.
const load = () => loadavg()[0]!.toFixed(1);
const loadAround = new Map<string, string>();
const measured = async (label: string, env: Record<string, string | number>, fresh: boolean) => {
  const before = load();
  const loads = await measure(label, env, fresh);
  loadAround.set(label, `${before} → ${load()}`);
  return loads;
};

const row = (label: string, loads: Load[]) => {
  const p = (k: keyof Load, q: number) => percentile(loads.map((l) => l[k]), q).toFixed(0);
  return `| ${label} | ${p('fcp', 50)} | ${p('data', 50)} | ${p('meaningful', 50)} / ${p('meaningful', 95)} | ${p('settled', 50)} / ${p('settled', 95)} | ${p('api', 50)} |`;
};
const rowOf = (label: string, key: string, loads: Load[]) => `${row(label, loads)} ${loadAround.get(key)} |`;

// Uncached: the API cache off and max-age=0, so every load's requests reach the engine.
const uncached = { CACHE_TTL_MS: 0, CACHE_CLOSED_TTL_MS: 0 };
const first = await measured('first visit', uncached, true);
const cold = await measured('scripts cached, API uncached', uncached, false);
const warm = await measured('scripts and API cached', {}, false);
console.log(`\n${COUNT.toLocaleString('en-US')} events, ${LOADS} loads each, ms from navigation start (p50, or p50 / p95)\n`);
console.log('| Overview load | first contentful paint | headline answers in | first meaningful paint | settled | slowest API request | load average |');
console.log('|---|---:|---:|---:|---:|---:|---|');
console.log(rowOf('first visit (nothing cached, API uncached)', 'first visit', first));
console.log(rowOf('returning reader, API uncached', 'scripts cached, API uncached', cold));
console.log(rowOf('returning reader, API cache on', 'scripts and API cached', warm));
process.exit(0);
