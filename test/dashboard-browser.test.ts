// The dashboard in a real browser (Debian's chromium, driven by playwright-core): a server on an
// ephemeral port with a seeded ledger, every page opened, the figures on screen compared with the
// API's own answers (exact decimal strings), no console or page errors, the shareable Explore URL,
// CSV and Parquet downloads, a scoped key's restricted view, keyboard use, and a phone-width layout.
// Screenshots land in test-artifacts/dashboard/.
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { projectPath } from '../src/sql.js';
import { raiseAlerts, seedLedger } from './dashboard-seed.js';
import { chromiumPath, startServer, startWebhookSink, type LiveServer } from './dashboard-server.js';

const CHROMIUM = chromiumPath();
const ARTIFACTS = projectPath('test-artifacts', 'dashboard');
const KEYS = { admin: 'dash-admin-key', read: 'dash-read-key', team: 'dash-team-key' };

if (!CHROMIUM) {
  if (process.env.CI === 'true') {
    it('chromium is installed (CI installs it in .ci/run)', () => {
      throw new Error('no chromium executable found (/usr/bin/chromium or CHROMIUM_PATH): the dashboard browser tests cannot run; install it with `apt-get install -y chromium`');
    });
  } else {
    console.warn('dashboard browser tests SKIPPED: no chromium found (apt-get install -y chromium, or set CHROMIUM_PATH)');
  }
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** The dashboard's default window, "last 30 days" in a zone: the 30 days ending today. */
function last30(tz = 'UTC') {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  return `${day(Date.parse(`${today}T00:00:00Z`) - 29 * 86_400_000)},${today}`;
}
/** A decimal string as a comparable figure: no $, no grouping, no trailing zeros. */
const norm = (s: string) => {
  const t = s.replace(/[$,\s]/g, '');
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
};

describe.skipIf(!CHROMIUM)('dashboard in Chromium', () => {
  let server: LiveServer;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  const api = async <T = any>(path: string, key = KEYS.admin, accept = 'application/json'): Promise<T> => {
    const res = await fetch(`${server.base}/api/v1${path}`, { headers: { authorization: `Bearer ${key}`, accept } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (accept === 'application/json' ? res.json() : res.text()) as Promise<T>;
  };
  const watch = (p: Page) => {
    p.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    return p;
  };
  const newContext = async (key: string | null, viewport = { width: 1280, height: 900 }) => {
    const ctx = await browser.newContext({ viewport, acceptDownloads: true });
    if (key) await ctx.addInitScript((k) => sessionStorage.setItem('agent-ledger.api-key', k), key);
    return ctx;
  };
  /** Open a page and wait until nothing is loading and every chart and diagram has drawn. */
  const open = async (p: Page, path: string) => {
    await p.goto(`${server.base}${path}`);
    await settle(p);
  };
  const settle = async (p: Page) => {
    await p.waitForFunction(() => document.querySelector('main h1') && !document.querySelector('.loading, [aria-busy="true"], .boot')
      && [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'), undefined, { timeout: 20_000 });
  };
  const shot = (p: Page, name: string) => p.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
  /** A figure on screen: its exact value attribute equals the API's string, and so does its text. */
  const expectMoney = async (figure: Locator, value: string | null, label: string) => {
    const el = figure.locator('[data-value]').first().or(figure).first();
    const exact = await figure.evaluate((n) => (n.hasAttribute('data-value') ? n : n.querySelector('[data-value]'))?.getAttribute('data-value') ?? null);
    expect(exact, `${label}: data-value`).toBe(value ?? '');
    if (value !== null && (await el.evaluate((n) => n.classList.contains('money')))) expect(norm((await el.textContent())!), `${label}: text`).toBe(norm(value));
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer({ API_KEYS: `admin:${KEYS.admin},read:${KEYS.read},read:${KEYS.team}:support` });
    sink = await startWebhookSink();
    const headers = { authorization: `Bearer ${KEYS.admin}` };
    await seedLedger({ base: server.base, headers });
    await raiseAlerts({ base: server.base, headers, webhookUrl: sink.url });
    // Let every alert reach the sink, so the deliveries shown are the final ones.
    const expected = (await api<{ notifications: unknown[] }>('/notifications')).notifications.length;
    for (let i = 0; i < 100 && (await api<{ deliveries: { outcome: string }[] }>('/webhooks/deliveries')).deliveries.filter((d) => d.outcome === 'delivered').length < expected; i++) await new Promise((r) => setTimeout(r, 100));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    admin = await newContext(null);
    page = watch(await admin.newPage());
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await sink?.close();
    await server?.close();
  });
  beforeEach(() => { problems.length = 0; });
  afterEach(() => { expect(problems, 'console errors and page errors').toEqual([]); });

  it('asks for a key, then answers the 5-minute question with the API\'s figures', async () => {
    // the page says a key is needed: the form comes first, no request is refused (no console error)
    await page.goto(`${server.base}/`);
    await page.getByLabel('API key').fill(KEYS.admin);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-ready="true"]');
    await settle(page);
    const range = last30();
    const [cpt, daily, lines, budgets] = await Promise.all([
      api(`/insights/cost-per-task?date_range=${range}&by=agent`),
      api(`/agent-costs?date_range=${range}&granularity=day&sort=bucket&limit=2000`),
      api(`/agent-costs?date_range=${range}&group_by=product_line&limit=5`),
      api('/budgets/status'),
    ]);
    await expectMoney(page.getByTestId('stat-spend'), daily.totals.cost_usd, 'spend');
    expect(Number(daily.totals.cost_usd)).toBeGreaterThan(0);
    await expectMoney(page.getByTestId('stat-cost-per-task'), cpt.current.cost_per_task, 'cost per task');
    await expectMoney(page.getByTestId('stat-cost-per-success'), cpt.current.cost_per_success, 'cost per success');
    await expectMoney(page.getByTestId('stat-change'), cpt.change.cost_per_task_usd, 'change');
    const drivers = page.getByTestId('drivers').locator('tbody tr');
    expect(await drivers.count()).toBe(cpt.drivers.length + 1);
    for (const [i, d] of cpt.drivers.entries()) {
      expect(await drivers.nth(i).locator('td').first().textContent()).toBe(d.group || '(none)');
      await expectMoney(drivers.nth(i).locator('[data-col="cost_change_usd"] .money'), d.cost_change_usd, `driver ${d.group}`);
      await expectMoney(drivers.nth(i).locator('[data-col="volume_effect_usd"] .money'), d.volume_effect_usd, `driver ${d.group} volume`);
    }
    await expectMoney(drivers.last().locator('[data-col="cost_change_usd"] .money'), cpt.others.cost_change_usd, 'others');
    const shownLines = page.getByTestId('top-lines').locator('li');
    expect(await shownLines.count()).toBe(lines.rows.length);
    for (const [i, r] of lines.rows.entries()) {
      expect(await shownLines.nth(i).locator('.bar-name').textContent()).toBe(r.group.product_line);
      await expectMoney(shownLines.nth(i).locator('.money'), r.cost_usd, `line ${r.group.product_line}`);
    }
    const near = budgets.budgets.filter((b: any) => b.pct !== undefined && (b.pct >= 50 || b.on_pace_to_exceed)).sort((a: any, b: any) => b.pct - a.pct);
    expect(await page.getByTestId('budgets-near').locator('li strong').allTextContents()).toEqual(near.map((b: any) => b.name));
    const anomalies = (await Promise.all(['agent', 'feature', 'customer', 'model'].map((d) => api(`/anomalies?dimension=${d}&window=24h`)))).flatMap((a: any) => a.anomalies);
    expect(anomalies.length).toBeGreaterThan(0); // the seeded spike
    expect(await page.getByTestId('anomalies').locator('tbody tr').count()).toBe(Math.min(8, anomalies.length));
    expect(await page.evaluate(() => performance.getEntriesByName('overview-ready').length)).toBe(1);
    await shot(page, 'overview');
  });

  it('Explore: filters, group-by and buckets in a shareable URL that restores the view; CSV download', async () => {
    const tz = 'Europe/Berlin';
    const view = `/explore?group_by=model,agent&granularity=day&product_line=support&tz=${tz}`;
    await open(page, view);
    const params = `date_range=${last30(tz)}&tz=${tz}&group_by=model,agent&granularity=day&product_line=support&sort=bucket`;
    const answer = await api(`/agent-costs?${params}&limit=500`);
    expect(answer.rows.length).toBeGreaterThan(10);
    await expectMoney(page.getByTestId('explore-total'), answer.totals.cost_usd, 'explore total');
    await expectMoney(page.getByTestId('explore-table-total').locator('.money'), answer.totals.cost_usd, 'table total');
    const rows = page.getByTestId('explore-table').locator('tbody tr');
    expect(await rows.count()).toBe(Math.min(30, answer.rows.length));
    for (let i = 0; i < Math.min(30, answer.rows.length); i++) {
      const r = answer.rows[i];
      expect(await rows.nth(i).locator('[data-col="model"]').textContent()).toBe(r.group.model || '(none)');
      expect(await rows.nth(i).locator('[data-col="agent"]').textContent()).toBe(r.group.agent || '(none)');
      expect(await rows.nth(i).locator('[data-col="bucket"]').textContent()).toBe(r.bucket.slice(0, 10));
      await expectMoney(rows.nth(i).locator('[data-col="cost_usd"] .money'), r.cost_usd, `row ${i}`);
    }
    expect(await page.getByTestId('active-filters').textContent()).toContain('product line = support');
    expect(await page.getByTestId('tz').inputValue()).toBe(tz);

    // Change the view by hand: the URL follows, and a fresh tab opening that URL shows the same rows.
    await page.locator('.chip[data-dim="customer"]').click();
    await page.getByTestId('filter-dim').selectOption('segment');
    await page.getByTestId('filter-value').fill('enterprise');
    await page.getByTestId('filter-add').click();
    await settle(page);
    const url = new URL(page.url());
    expect(url.searchParams.get('group_by')).toBe('model,agent,customer');
    expect(url.searchParams.get('segment')).toBe('enterprise');
    const narrowed = await api(`/agent-costs?date_range=${last30(tz)}&tz=${tz}&group_by=model,agent,customer&granularity=day&product_line=support&segment=enterprise&sort=bucket&limit=500`);
    await expectMoney(page.getByTestId('explore-total'), narrowed.totals.cost_usd, 'narrowed total');
    const firstRow = await page.getByTestId('explore-table').locator('tbody tr').first().innerText();
    const other = watch(await (await newContext(KEYS.admin)).newPage());
    await open(other, url.pathname + url.search);
    expect(await other.getByTestId('explore-table').locator('tbody tr').first().innerText()).toBe(firstRow);
    expect(await other.locator('.chip[data-dim="customer"]').getAttribute('aria-pressed')).toBe('true');
    await expectMoney(other.getByTestId('explore-total'), narrowed.totals.cost_usd, 'restored total');
    await other.context().close();
    // Back twice (the filter, the group key): the view before them, from the URL alone.
    await page.goBack();
    await page.goBack();
    await settle(page);
    expect(new URL(page.url()).searchParams.get('group_by')).toBe('model,agent');
    // Asked again: "the last 30 days" in Berlin may have moved to the next day during the test.
    const again = await api(`/agent-costs?date_range=${last30(tz)}&tz=${tz}&group_by=model,agent&granularity=day&product_line=support&sort=bucket&limit=500`);
    await expectMoney(page.getByTestId('explore-total'), again.totals.cost_usd, 'total after going back');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-csv').click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv).toBe(await api(`/agent-costs?date_range=${last30(tz)}&tz=${tz}&group_by=model,agent&granularity=day&product_line=support&sort=bucket&limit=10000`, KEYS.admin, 'text/csv'));
    expect(csv.split('\n')[0]).toContain('cost_usd');
    await page.getByTestId('explore-note').waitFor();
    await shot(page, 'explore');
  });

  it('Agents: the pie, the heatmap, cost per success and the money-flow diagram match the insights API', async () => {
    await open(page, '/agents');
    await page.waitForSelector('[data-testid="money-flow"][data-rendered="true"] svg', { timeout: 30_000 });
    const range = last30();
    const [agents, heatmap, unit, flow] = await Promise.all([
      api(`/insights/agents?date_range=${range}`), api(`/insights/agents/heatmap?date_range=${range}`),
      api(`/insights/unit-economics?date_range=${range}&group_by=agent`), api(`/insights/money-flow?date_range=${range}`),
    ]);
    await expectMoney(page.getByTestId('agents-total'), agents.totals.cost_usd, 'agent spend');
    const rows = page.getByTestId('agents-table').locator('tbody tr');
    expect(await rows.count()).toBe(agents.agents.length);
    for (const [i, a] of agents.agents.entries()) {
      expect((await rows.nth(i).locator('[data-col="agent"]').textContent())!.startsWith(a.agent)).toBe(true);
      await expectMoney(rows.nth(i).locator('[data-col="cost_usd"] .money'), a.cost_usd, `agent ${a.agent}`);
    }
    await expectMoney(page.getByTestId('hottest').locator('.money'), heatmap.hottest.cost_usd, 'hottest cell');
    await expectMoney(page.getByTestId('cps-total').locator('.money'), unit.totals.cost_per_success, 'cost per success');
    await expectMoney(page.getByTestId('flow-total'), flow.cost_usd, 'money flow');
    expect(await page.getByTestId('mermaid-source').textContent()).toBe(flow.mermaid);
    const svgText = await page.getByTestId('money-flow').locator('svg').textContent();
    for (const node of flow.nodes.filter((n: any) => n.kind === 'agent')) expect(svgText).toContain(node.label);
    expect(await page.getByTestId('candidates').locator('li').allTextContents()).toEqual([...agents.candidates.consolidate, ...agents.candidates.distil]);
    expect(await page.getByTestId('chart-agent-pie').locator('canvas').count()).toBe(1);
    await shot(page, 'agents');
  });

  it('Customers: margins with negative ones flagged, and the month\'s invoice drafts', async () => {
    await open(page, '/customers');
    const range = last30();
    const month = new Date().toISOString().slice(0, 7);
    const [margins, invoices] = await Promise.all([api(`/insights/customers?date_range=${range}&limit=500`), api(`/insights/invoices?month=${month}&limit=100`)]);
    await expectMoney(page.getByTestId('cust-revenue'), margins.totals.revenue_usd, 'revenue');
    await expectMoney(page.getByTestId('cust-cost'), margins.totals.cost_usd, 'cost');
    await expectMoney(page.getByTestId('cust-margin'), margins.totals.margin_usd, 'margin');
    expect(margins.totals.negative_margin_customers).toBeGreaterThan(0);
    expect(await page.getByTestId('customers-table').locator('tr.negative-row').count()).toBe(margins.totals.negative_margin_customers);
    const rows = page.getByTestId('customers-table').locator('tbody tr');
    for (const [i, c] of margins.customers.entries()) {
      expect((await rows.nth(i).locator('[data-col="customer"]').textContent())!.startsWith(c.customer)).toBe(true);
      await expectMoney(rows.nth(i).locator('[data-col="margin_usd"] .money'), c.margin_usd, `margin ${c.customer}`);
    }
    const shown = page.getByTestId('invoices').locator('details');
    expect(await shown.count()).toBe(invoices.invoices.length);
    await expectMoney(shown.first().locator('summary .money'), invoices.invoices[0].total_usd, 'first invoice');
    await shot(page, 'customers');
  });

  it('Finance: weekly chargeback, months with close status, export downloads, reconciliation', async () => {
    await open(page, '/finance');
    const periods = await api('/periods');
    const newest = [...periods.periods].reverse();
    const statuses = await page.getByTestId('periods-table').locator('[data-col="status"]').allTextContents();
    expect(statuses).toEqual(newest.map((p: any) => p.status));
    expect(statuses).toContain('closed');
    const month = newest[0].month;
    const rec = await api(`/reconciliation?month=${month}`);
    expect(await page.getByTestId('reconciliation').locator('[data-reconciled]').getAttribute('data-reconciled')).toBe(String(rec.reconciled));
    await expectMoney(page.getByTestId('reconciliation').locator('dd').first(), rec.raw_usd, 'raw ledger');
    const weekly = page.getByTestId('weekly-table').locator('tbody tr');
    expect(await weekly.count()).toBeGreaterThan(0);
    const first = await weekly.first().locator('td').evaluateAll((tds) => tds.map((td) => td.textContent));
    const mondays = await api(`/chargeback/weekly?from=${first[0]}&to=${day(Date.parse(`${first[0]}T00:00:00Z`) + 7 * 86_400_000)}&product_line=${first[1]}`);
    await expectMoney(weekly.first().locator('[data-col="total_cost_usd"] .money'), mondays.rows[0].total_cost_usd, 'weekly total');

    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = readFileSync((await csvDownload.path())!, 'utf8');
    expect(csv).toBe(await api(`/exports/chargeback?month=${month}&format=csv&whole_month=true`, KEYS.admin, 'text/csv'));
    const [parquet] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-parquet').click()]);
    expect(readFileSync((await parquet.path())!).subarray(0, 4).toString()).toBe('PAR1');
    expect(parquet.suggestedFilename()).toMatch(/\.parquet$/);
    await shot(page, 'finance');
  });

  it('Guardrails: budgets with projections, alerts and deliveries, quarantine with reasons and admin replay', async () => {
    await open(page, '/guardrails');
    const [status, notes, deliveries, quarantine] = await Promise.all([api('/budgets/status'), api('/notifications'), api('/webhooks/deliveries?limit=100'), api('/quarantine?limit=100')]);
    const rows = page.getByTestId('budgets-table').locator('tbody tr');
    expect(await rows.count()).toBe(status.budgets.length);
    for (const [i, b] of status.budgets.entries()) {
      expect(await rows.nth(i).locator('[data-col="name"] strong').textContent()).toBe(b.name);
      await expectMoney(rows.nth(i).locator('[data-col="spent_usd"] .money'), b.spent_usd, `budget ${b.name} spent`);
      await expectMoney(rows.nth(i).locator('[data-col="limit_usd"] .money'), b.limit_usd, `budget ${b.name} limit`);
    }
    expect(notes.notifications.length).toBeGreaterThan(0);
    expect(await page.getByTestId('alerts-table').locator('tbody tr').count()).toBe(Math.min(15, notes.notifications.length));
    expect(await page.getByTestId('deliveries-table').locator('tbody tr').count()).toBe(Math.min(15, deliveries.deliveries.length));
    const counts = page.getByTestId('quarantine-counts').locator('tbody tr');
    expect(await counts.locator('[data-col="reason"]').allTextContents()).toEqual(quarantine.counts.map((c: any) => c.reason));
    await shot(page, 'guardrails');
    // Replay (admin): assign the missing product line; the quarantine shows the outcome.
    await page.locator('#replay-reason').selectOption('missing_product_line');
    await page.locator('#replay-pl').fill('support');
    await page.getByTestId('replay').click();
    await expect.poll(async () => page.getByTestId('replay-result').textContent().catch(() => ''), { timeout: 10_000 }).toContain('2 accepted');
  });

  it('a scoped key sees only its product line, and a clear message where its scope or role does not reach', async () => {
    // (no 403 is asked for: the dashboard knows from /whoami what the key may not use)
    const ctx = await newContext(KEYS.team);
    const p = watch(await ctx.newPage());
    await open(p, '/');
    const range = last30();
    const mine = await api(`/agent-costs?date_range=${range}&granularity=day&sort=bucket&limit=2000`, KEYS.team);
    const all = await api(`/agent-costs?date_range=${range}&granularity=day&sort=bucket&limit=2000`);
    expect(mine.totals.cost_usd).not.toBe(all.totals.cost_usd);
    await expectMoney(p.getByTestId('stat-spend'), mine.totals.cost_usd, 'scoped spend');
    expect(await p.getByTestId('top-lines').locator('.bar-name').allTextContents()).toEqual(['support']);
    expect(await p.getByTestId('session').textContent()).toContain('support');

    await open(p, '/finance');
    const restricted = p.getByTestId('card-reconciliation').getByTestId('restricted');
    expect(await restricted.getAttribute('data-reason')).toBe('forbidden_scope');
    expect(await restricted.textContent()).toContain('scoped to support');
    await p.getByTestId('export-csv').click();
    await p.getByTestId('card-exports').getByTestId('restricted').waitFor();
    expect(await p.getByTestId('card-exports').getByTestId('restricted').getAttribute('data-reason')).toBe('forbidden_role');
    await shot(p, 'finance-scoped');

    await open(p, '/guardrails');
    expect(await p.getByTestId('card-alerts').getByTestId('restricted').getAttribute('data-reason')).toBe('forbidden_scope');
    expect(await p.getByTestId('card-quarantine').getByTestId('restricted').getAttribute('data-reason')).toBe('forbidden_role');
    expect(await p.getByTestId('deliveries-hidden').count()).toBe(1);
    expect(await p.getByTestId('replay-form').count()).toBe(0);
    const budgets = await api('/budgets/status', KEYS.team);
    expect(await p.getByTestId('budgets-table').locator('tbody tr').count()).toBe(budgets.budgets.length);
    await shot(p, 'guardrails-scoped');
    await ctx.close();
  });

  it('works from the keyboard: skip link, then the page links', async () => {
    await open(page, '/');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    let guard = 0;
    while ((await page.evaluate(() => document.activeElement?.textContent)) !== 'Customers' && guard++ < 20) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await settle(page);
    expect(new URL(page.url()).pathname).toBe('/customers');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Customers');
  });

  it('an empty window says what to post first, with a curl example that works against this server', async () => {
    await open(page, '/?date_range=2020-01-01,2020-01-30');
    const hint = page.getByTestId('card-spend').getByTestId('empty');
    expect(await hint.textContent()).toContain('No cost events between 2020-01-01 and 2020-01-30');
    const curl = (await hint.locator('code').textContent())!;
    expect(curl).toContain(`curl -s -X POST ${server.base}/api/v1/events`);
    expect(curl).toContain('Authorization: Bearer <ingest key>'); // keys are configured on this server
    await open(page, '/explore?product_line=no-such-line');
    expect(await page.getByTestId('explore-result').getByTestId('empty').textContent()).toContain('No cost events match this view');
    await shot(page, 'empty');
  });

  it('fits a phone: no page wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/', '/explore?group_by=model,agent&granularity=day', '/agents', '/customers', '/finance', '/guardrails']) {
      // In-app navigation, as a tap on the menu does: the scripts stay loaded.
      await page.evaluate((to) => { history.pushState(null, '', to); dispatchEvent(new Event('agent-ledger:navigate')); }, path);
      await page.waitForSelector(`main[data-page="${path === '/' ? 'overview' : path.slice(1).split('?')[0]}"]`);
      await settle(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
      if (path === '/' || path === '/agents') await shot(page, `phone-${path === '/' ? 'overview' : 'agents'}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
