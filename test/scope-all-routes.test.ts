// Scoped keys on every GET route of the OpenAPI document: the routes come from the generated
// document (so a route added later joins this table by itself), each is called with keys of every
// role scoped to support|search, and no figure, id or name of the other product line may appear —
// or the route answers 403 forbidden_scope. A route this table cannot fill fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, type TestApp } from './helper.js';

const KEYS = [
  'admin:adm', 'ingest:ing',
  'read:rd-scoped:support|search', 'export:exp-scoped:support|search', 'ingest:ing-scoped:support|search', 'admin:adm-scoped:support|search',
].join(',');
const SCOPED = ['rd-scoped', 'exp-scoped', 'ing-scoped', 'adm-scoped'];
const as = (key: string) => ({ authorization: `Bearer ${key}` });

// The other product line: every id and name carries "zeta", and its figures are far larger than
// anything support and search add up to, so a total that includes it is recognisable too.
const OTHER = 'zeta-billing';
const OTHER_MARKER = /zeta/i;
const OTHER_EVENTS = 1200; // own lines have 8 events in all
const OTHER_COST = '1234.567891234567'; // own lines' costs add up to less than 2
const LEAK_FLOOR = 1000; // any number at or above this in a scoped answer is the other line's

const NOW = Date.now();
const RECENT = new Date(NOW - 2 * 3_600_000).toISOString();
const THIS_MONTH = new Date(NOW - 2 * 3_600_000).toISOString().slice(0, 7);
const CLOSED_MONTH = '2025-12';

let t: TestApp;
const ids = { ownBudget: '', otherBudget: '', sharedCost: '' };

/** Values for path parameters, by OpenAPI path. `probe` variants point at the other line's objects and must not find them. */
const pathValues: Record<string, { params: Record<string, string>; probe?: boolean }[]> = {
  '/api/v1/agent-costs/dimensions/{dimension}': [{ params: { dimension: 'product_line' } }, { params: { dimension: 'customer' } }, { params: { dimension: 'agent' } }],
  '/api/v1/taxonomy/product-lines/{id}': [{ params: { id: 'support' } }, { params: { id: OTHER }, probe: true }],
  '/api/v1/runs/{run_id}': [{ params: { run_id: 'run-support-root' } }, { params: { run_id: 'run-zeta-1' }, probe: true }],
  '/api/v1/shared-costs/{id}/allocation': [{ params: { get id() { return ids.sharedCost; } } }],
  '/api/v1/budgets/{id}': [{ params: { get id() { return ids.ownBudget; } } }, { params: { get id() { return ids.otherBudget; } }, probe: true }],
};
/** Values for required query parameters, by name (any route). */
const requiredQueryValues: Record<string, string> = { month: THIS_MONTH, dimension: 'customer' };
/** Extra variants by optional query parameter: try to widen the answer to the other line. */
const widening: Record<string, string> = { product_line: OTHER, group_by: 'product_line,customer', customer: 'cust-zeta-1' };

type Operation = { parameters?: { name: string; in: string; required?: boolean }[] };
type Call = { route: string; url: string; probe: boolean };

function callsFor(path: string, op: Operation): { calls: Call[]; unfilled: string[] } {
  const params = op.parameters ?? [];
  const unfilled: string[] = [];
  const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name);
  const variants = pathParams.length === 0 ? [{ params: {}, probe: false }] : (pathValues[path] ?? []).map((v) => ({ params: v.params, probe: !!v.probe }));
  if (pathParams.length > 0 && variants.length === 0) unfilled.push(`path parameters ${pathParams.join(', ')}: add ${path} to pathValues`);
  for (const v of variants) for (const name of pathParams) if (!(name in v.params)) unfilled.push(`path parameter ${name}: missing in pathValues['${path}']`);
  const query = new URLSearchParams();
  for (const p of params.filter((x) => x.in === 'query' && x.required)) {
    const value = requiredQueryValues[p.name];
    if (value === undefined) unfilled.push(`required query parameter ${p.name}: add it to requiredQueryValues`);
    else query.set(p.name, value);
  }
  const calls: Call[] = [];
  for (const v of variants) {
    const base = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent((v.params as Record<string, string>)[name] ?? ''));
    const qs = query.toString();
    calls.push({ route: path, url: qs ? `${base}?${qs}` : base, probe: v.probe });
    for (const [name, value] of Object.entries(widening)) {
      if (!params.some((p) => p.in === 'query' && p.name === name)) continue;
      const wide = new URLSearchParams(query);
      wide.set(name, value);
      calls.push({ route: path, url: `${base}?${wide}`, probe: true });
    }
  }
  return { calls, unfilled };
}

/** Every trace of the other line in an answer: marker strings anywhere, and figures too large to be the own lines'. */
function leaks(body: string, headers: Record<string, unknown>, json: boolean, echoed: string[]): string[] {
  const found: string[] = [];
  let text = `${body}\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n')}`;
  for (const e of echoed) text = text.split(e).join(''); // a value the caller sent may come back (cursor, link)
  const marker = OTHER_MARKER.exec(text);
  if (marker) found.push(`"${text.slice(Math.max(0, marker.index - 40), marker.index + 40).replace(/\s+/g, ' ')}"`);
  if (json && body) {
    const walk = (v: unknown, key: string) => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, key));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
      else if ((typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))) && Math.abs(Number(v)) >= LEAK_FLOOR && !bigButHarmless.has(key)) {
        found.push(`${key}=${v}`);
      }
    };
    walk(JSON.parse(body), '');
  }
  return found;
}
// Fields whose large values are not ledger figures (price-book tier thresholds, insight thresholds echoed back).
const bigButHarmless = new Set(['tier_above_tokens', 'distil_min_calls_per_day']);

const other = (i: number, partial: Record<string, unknown> = {}) => makeEvent({
  product_line_id: OTHER, timestamp: RECENT, cost_usd: OTHER_COST, customer_id: `cust-zeta-${i % 7}`, user_id: `user-zeta-${i % 5}`,
  agent_id: 'agent-zeta', feature: 'zeta-feature', intent: 'zeta-intent', segment: 'zeta-segment', workflow_id: 'zeta-flow',
  run_id: `run-zeta-${i}`, usage: { input_tokens: 5_000_000, output_tokens: 7 }, ...partial,
});
const own = (product: string, cost: string, partial: Record<string, unknown> = {}) => makeEvent({
  product_line_id: product, timestamp: RECENT, cost_usd: cost, customer_id: `cust-${product}`, agent_id: `agent-${product}`, usage: { input_tokens: 10, output_tokens: 5 }, ...partial,
});

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_MAX_ATTEMPTS: 1, BUDGET_SYNC_MS: 0, BUDGET_EVAL_INTERVAL_MS: 0, ANOMALY_MIN_SPEND_USD: '0' });
  const admin = (method: 'POST' | 'PUT', url: string, payload: object) => t.app.inject({ method, url, payload, headers: as('adm') });
  for (const [id, name] of [['support', 'Support Desk'], ['search', 'Search'], [OTHER, 'Zeta Billing Org']]) {
    expect((await admin('PUT', `/api/v1/taxonomy/product-lines/${id}`, { name, cost_center: id === OTHER ? 'CC-ZETA-77' : `CC-${id}`, owner: `${id}-owner` })).statusCode).toBe(201);
  }
  const ownEvents = [
    own('support', '0.000123456789', { run_id: 'run-support-root' }),
    own('support', '0.25', { run_id: 'run-support-child', parent_run_id: 'run-support-root' }),
    own('support', '0.5'),
    own('search', '0.125'),
    own('search', '0.0625'),
    own('support', '0.1', { timestamp: '2025-12-10T10:00:00Z' }),
    own('search', '0.2', { timestamp: '2025-12-11T10:00:00Z' }),
    own('support', '0.01', { timestamp: '2026-01-05T10:00:00Z' }),
  ];
  const otherEvents = [
    ...Array.from({ length: OTHER_EVENTS - 11 }, (_, i) => other(i)),
    // A sub-run of another line under a support run: the scoped tree must not show it.
    other(9001, { run_id: 'run-zeta-child', parent_run_id: 'run-support-root' }),
    ...Array.from({ length: 10 }, (_, i) => other(5000 + i, { timestamp: '2025-12-12T10:00:00Z' })),
    // Accepted without a price: shows in /prices/unpriced.
    other(8888, { type: 'tool', provider: undefined, model: undefined, tool: 'zeta-scraper', cost_usd: undefined, usage: { quantity: '1', unit: 'calls' } }),
  ];
  for (const batch of [ownEvents, otherEvents]) {
    const res = await post(t.app, batch, as('ing'));
    expect(res.json()).toMatchObject({ accepted: batch.length, quarantined: 0, rejected: 0 });
  }
  // Quarantine an item of the other line (an unknown type keeps its product line in the record).
  await post(t.app, [{ ...other(7777), type: 'zeta-type' }], as('ing'));
  const budget = async (name: string, product: string) => (await admin('POST', '/api/v1/budgets', { name, scope: { product_line: product }, window: 'month', amount_usd: '5', thresholds: [0.5, 1], action: 'alert' })).json().id as string;
  ids.ownBudget = await budget('support monthly', 'support');
  ids.otherBudget = await budget('zeta monthly', OTHER);
  ids.sharedCost = (await admin('POST', '/api/v1/shared-costs', { month: THIS_MONTH, name: 'zeta platform share', amount_usd: '9000.00', method: 'fixed', weights: { support: '1', [OTHER]: '3' } })).json().id;
  expect((await admin('POST', `/api/v1/periods/${CLOSED_MONTH}/close`, {})).statusCode).toBe(201);
  expect((await admin('POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/zeta-hook', secret: 'zeta-secret-0123456789' })).statusCode).toBe(201);
  expect((await admin('POST', '/api/v1/guardrails/evaluate', { anomalies: true })).statusCode).toBe(200);
}, 120_000);
afterAll(async () => t?.close());

async function getRoutes(): Promise<[string, Operation][]> {
  const doc = t.app.swagger() as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) => (ops.get ? [[path, ops.get] as [string, Operation]] : []));
}

describe('scoped keys on every GET route', () => {
  it('every GET route is filled by the table', async () => {
    const routes = await getRoutes();
    expect(routes.length).toBeGreaterThan(20);
    const unfilled = routes.flatMap(([path, op]) => callsFor(path, op).unfilled.map((u) => `GET ${path}: ${u}`));
    expect(unfilled, 'routes this test cannot call; extend pathValues / requiredQueryValues').toEqual([]);
  });

  it('no scoped answer carries a figure, id or name of the other product line, or it is 403 forbidden_scope', async () => {
    const failures: string[] = [];
    const decided = new Map<string, string[]>(); // route → outcomes that reached the scope decision
    for (const [path, op] of await getRoutes()) {
      decided.set(path, []);
      for (const call of callsFor(path, op).calls) {
        for (const key of SCOPED) {
          const res = await t.app.inject({ url: call.url, headers: as(key) });
          const where = `GET ${call.url} as ${key} → ${res.statusCode}`;
          const isJson = /json/.test(String(res.headers['content-type'] ?? ''));
          const reason = isJson && res.body ? (res.json() as { reason?: string }).reason : undefined;
          const echoed = [...new URL(call.url, 'http://x').searchParams.values(), ...call.url.split('/').map(decodeURIComponent)].filter((v) => OTHER_MARKER.test(v));
          const found = leaks(res.body, res.headers, isJson, echoed);
          if (found.length > 0) failures.push(`${where}: leaks ${found.slice(0, 3).join(', ')}`);
          if (res.statusCode === 403 && reason === 'forbidden_role') continue;
          if (res.statusCode === 403 && reason === 'forbidden_scope') { decided.get(path)!.push('forbidden_scope'); continue; }
          if (res.statusCode >= 200 && res.statusCode < 300) { decided.get(path)!.push('filtered'); continue; }
          if (res.statusCode === 404 && call.probe) continue; // the other line's object is not found: nothing learned
          failures.push(`${where} ${reason ?? ''}: neither an answer nor forbidden_scope (fix the table or the route)`);
        }
      }
    }
    for (const [path, outcomes] of decided) {
      if (outcomes.length === 0) failures.push(`GET ${path}: no scoped key reached it (every key was refused by role or the call failed)`);
      if (new Set(outcomes).size > 1) failures.push(`GET ${path}: answered some scoped keys and refused others with forbidden_scope (${outcomes.join(', ')})`);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('the detector sees the other line where an unscoped key reads the same routes', async () => {
    // Proof the leak check can fail: the admin's answers on these routes do carry the other line.
    const seen: string[] = [];
    for (const url of ['/api/v1/agent-costs?group_by=product_line', '/api/v1/agent-costs/dimensions/customer', '/api/v1/chargeback/weekly', '/api/v1/periods',
      `/api/v1/reconciliation?month=${THIS_MONTH}`, '/api/v1/budgets', '/api/v1/budgets/status', '/api/v1/taxonomy/product-lines', '/api/v1/runs/run-support-root',
      '/api/v1/reports/top-spenders?dimension=customer', '/api/v1/prices/unpriced', '/api/v1/quarantine', '/api/v1/notifications', `/api/v1/shared-costs/${ids.sharedCost}/allocation`]) {
      const res = await t.app.inject({ url, headers: as('adm') });
      expect(res.statusCode, url).toBe(200);
      if (leaks(res.body, {}, true, []).length > 0) seen.push(url);
    }
    expect(seen).toHaveLength(14);
  });

  it('refuses scoped keys on every write except the scope-aware budget check', async () => {
    const doc = t.app.swagger() as { paths: Record<string, Record<string, Operation>> };
    const scopeAware = new Set(['POST /api/v1/budgets/check']);
    const outcomes: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops).filter((m) => m !== 'get')) {
        const name = `${method.toUpperCase()} ${path}`;
        const url = path.replace(/\{(\w+)\}/g, 'x');
        for (const key of SCOPED) {
          const res = await t.app.inject({ method: method.toUpperCase() as 'POST', url, headers: { ...as(key), 'content-type': 'application/json' }, payload: '{}' });
          const reason = (res.json() as { reason?: string }).reason;
          if (reason === 'forbidden_role') continue;
          if (scopeAware.has(name) ? res.statusCode !== 200 : reason !== 'forbidden_scope') outcomes.push(`${name} as ${key} → ${res.statusCode} ${reason ?? ''}`);
        }
      }
    }
    expect(outcomes).toEqual([]);
    // Nothing was written by the attempts.
    expect((await t.app.inject({ url: '/api/v1/budgets', headers: as('adm') })).json().budgets).toHaveLength(2);
  });

  it('scoped /periods shows the own lines exactly: open and closed months', async () => {
    const scoped = (await t.app.inject({ url: '/api/v1/periods', headers: as('rd-scoped') })).json().periods as Record<string, unknown>[];
    const closed = scoped.find((p) => p.month === CLOSED_MONTH)!;
    expect(closed).toMatchObject({ status: 'closed', ledger_cost_usd: '0.3', effective_cost_usd: '0.3', billed_cost_usd: '0.3', rows: 2 });
    expect(closed).not.toHaveProperty('content_hash');
    expect(scoped.find((p) => p.month === THIS_MONTH)).toMatchObject({ status: 'open', ledger_cost_usd: '0.937623456789', events: 5 });
    const all = (await t.app.inject({ url: '/api/v1/periods', headers: as('adm') })).json().periods as Record<string, unknown>[];
    expect(all.find((p) => p.month === CLOSED_MONTH)).toMatchObject({ ledger_cost_usd: '12345.97891234567', content_hash: expect.stringMatching(/^sha256:/) });
  });

  it('refuses reconciliation and the allocation audit to scoped keys', async () => {
    for (const url of [`/api/v1/reconciliation?month=${THIS_MONTH}`, `/api/v1/shared-costs/${ids.sharedCost}/allocation`, '/api/v1/prices/unpriced']) {
      expect((await t.app.inject({ url, headers: as('rd-scoped') })).json(), url).toMatchObject({ status: 403, reason: 'forbidden_scope' });
    }
  });
});
