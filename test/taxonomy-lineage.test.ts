// The taxonomy registry, governed mode with exactly-once replay, and run lineage trees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { addDecimals, buildTestApp, makeEvent, one, post, type TestApp } from './helper.js';

const KEYS = 'admin:adm,read:rd,read:other:search,ingest:ing';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
let governed: FastifyInstance;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS });
  governed = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', API_KEYS: KEYS, MIGRATE_ON_START: false, TAXONOMY_MODE: 'governed' }), { engine: t.app.engine });
});
afterAll(async () => {
  await governed.close();
  await t.close();
});

const put = (app: FastifyInstance, id: string, payload: object, key = 'adm') => app.inject({ method: 'PUT', url: `/api/v1/taxonomy/product-lines/${id}`, payload, headers: as(key) });
const ledger = (pl: string) => one<{ n: number; ids: number }>(t.app, "SELECT countIf(record_type = 'event') AS n, uniqExact(event_id) AS ids FROM cost_events WHERE product_line_id = {pl:String}", { pl });

describe('taxonomy registry', () => {
  it('creates, updates and reads product lines; admin only', async () => {
    expect((await put(t.app, 'support', { name: 'Support', cost_center: 'CC-100', owner: 'team-support' })).statusCode).toBe(201);
    const updated = await put(t.app, 'support', { name: 'Customer Support', cost_center: 'CC-101', owner: 'team-support', budget_owner: 'vp-support' });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ id: 'support', name: 'Customer Support', cost_center: 'CC-101', budget_owner: 'vp-support' });
    expect((await t.app.inject({ url: '/api/v1/taxonomy/product-lines/support', headers: as('rd') })).json()).toMatchObject({ cost_center: 'CC-101' });
    const list = (await t.app.inject({ url: '/api/v1/taxonomy/product-lines', headers: as('rd') })).json();
    expect(list).toMatchObject({ mode: 'open', product_lines: [{ id: 'support', name: 'Customer Support' }] });
    expect((await put(t.app, 'search', { name: 'Search' }, 'rd')).statusCode).toBe(403);
    const missing = await t.app.inject({ url: '/api/v1/taxonomy/product-lines/nope', headers: as('rd') });
    expect([missing.statusCode, missing.json().reason]).toEqual([404, 'unknown_product_line']);
    // A scoped key does not learn that other product lines exist.
    expect((await t.app.inject({ url: '/api/v1/taxonomy/product-lines/support', headers: as('other') })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/v1/taxonomy/product-lines', headers: as('other') })).json().product_lines).toEqual([]);
  });

  it.each([
    ['bad id', '../etc', { name: 'x' }, 'id'],
    ['missing name', 'ok-id', { cost_center: 'x' }, 'name'],
    ['unknown field', 'ok-id', { name: 'x', prompt: 'hi' }, ''],
    ['control characters', 'ok-id', { name: 'a\u0000b' }, 'name'],
  ])('400 for %s', async (_label, id, payload, parameter) => {
    const res = await put(t.app, encodeURIComponent(id), payload);
    expect(res.statusCode).toBe(400);
    if (parameter) expect(res.json().errors.map((e: { parameter: string }) => e.parameter)).toContain(parameter);
  });
});

describe('governed mode and replay', () => {
  it('quarantines unknown product lines and replays them exactly once after registration', async () => {
    // Registered through this app: another process sees registry changes on its next refresh.
    expect((await put(governed, 'support', { name: 'Customer Support', cost_center: 'CC-101' })).statusCode).toBe(200);
    const known = makeEvent({ product_line_id: 'support', cost_usd: '1' });
    const unknown = [makeEvent({ product_line_id: 'newline', cost_usd: '2' }), makeEvent({ product_line_id: 'newline', cost_usd: '3' })];
    const res = await post(governed, [known, ...unknown], as('ing'));
    expect(res.statusCode).toBe(207);
    expect(res.json()).toMatchObject({ accepted: 1, quarantined: 2, results: [{ index: 1, reason: 'unknown_product_line' }, { index: 2, reason: 'unknown_product_line' }] });
    expect((await ledger('newline')).n).toBe(0);
    // Open mode (the other app) would have accepted it: the mode is per deployment.
    expect((await governed.inject({ url: '/api/v1/taxonomy/product-lines', headers: as('rd') })).json().mode).toBe('governed');

    const early = await governed.inject({ method: 'POST', url: '/api/v1/quarantine/replay', payload: { reason: 'unknown_product_line' }, headers: as('adm') });
    expect(early.json()).toMatchObject({ examined: 2, accepted: 0, still_quarantined: 2 });

    expect((await put(governed, 'newline', { name: 'New line', cost_center: 'CC-200' })).statusCode).toBe(201);
    const replays = await Promise.all([1, 2].map(() => governed.inject({ method: 'POST', url: '/api/v1/quarantine/replay', payload: { reason: 'unknown_product_line' }, headers: as('adm') })));
    const reports = replays.map((r) => r.json());
    expect(reports.reduce((n, r) => n + r.accepted, 0)).toBe(2);
    expect(await ledger('newline')).toEqual({ n: 2, ids: 2 });
    const cost = await one<{ c: string }>(t.app, "SELECT toString(sum(cost_usd)) AS c FROM cost_events WHERE product_line_id = 'newline'");
    expect(cost.c).toBe('5');
    const listed = (await governed.inject({ url: '/api/v1/quarantine?reason=unknown_product_line', headers: as('adm') })).json().items;
    // Two replays ran at once: each record's latest outcome is final (accepted, or duplicate when
    // the other replay had already put its event in the ledger).
    const outcomes = listed.filter((i: { product_line_id: string }) => i.product_line_id === 'newline').map((i: { replay_outcome: string }) => i.replay_outcome);
    expect(outcomes).toHaveLength(2);
    for (const o of outcomes) expect(['accepted', 'duplicate']).toContain(o);
    const again = await governed.inject({ method: 'POST', url: '/api/v1/quarantine/replay', payload: { reason: 'unknown_product_line' }, headers: as('adm') });
    expect(again.json()).toMatchObject({ examined: 0, accepted: 0 });
    expect(await ledger('newline')).toEqual({ n: 2, ids: 2 });
  });

  it('assigns a product line to events that had none when asked', async () => {
    const orphan = makeEvent({ product_line_id: undefined, cost_usd: '0.5', segment: 'orphaned' });
    expect((await post(governed, [orphan], as('ing'))).json()).toMatchObject({ quarantined: 1, results: [{ reason: 'missing_product_line' }] });
    const res = await governed.inject({ method: 'POST', url: '/api/v1/quarantine/replay', payload: { reason: 'missing_product_line', product_line_id: 'support' }, headers: as('adm') });
    expect(res.json()).toMatchObject({ accepted: 1 });
    const row = await one<{ product_line_id: string }>(t.app, 'SELECT product_line_id FROM cost_events WHERE event_id = {id:String}', { id: orphan.event_id });
    expect(row.product_line_id).toBe('support');
    expect((await governed.inject({ method: 'POST', url: '/api/v1/quarantine/replay', payload: {}, headers: as('ing') })).statusCode).toBe(403);
  });
});

describe('roles on the price book', () => {
  it('lets only admin keys change prices, contracts, replay or re-price', async () => {
    const price = { prices: [{ provider: 'x', item: 'y', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '1' }] };
    for (const [method, url, payload] of [
      ['PUT', '/api/v1/prices', price],
      ['POST', '/api/v1/prices/import', {}],
      ['PUT', '/api/v1/prices/contracts', { contracts: [] }],
      ['POST', '/api/v1/reprice', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }],
      ['POST', '/api/v1/quarantine/replay', {}],
    ] as const) {
      for (const key of ['rd', 'ing']) {
        const res = await t.app.inject({ method, url, payload, headers: as(key) });
        expect([res.statusCode, res.json().reason], `${key} ${method} ${url}`).toEqual([403, 'forbidden_role']);
      }
    }
    expect((await t.app.inject({ url: '/api/v1/prices?provider=openai&limit=1', headers: as('rd') })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: price, headers: as('adm') })).json()).toEqual({ added: 1 });
  });
});

describe('run lineage', () => {
  const ev = (run: string, parent: string, extra: Record<string, unknown>) =>
    makeEvent({ product_line_id: 'lineage', run_id: run, parent_run_id: parent || undefined, trace_id: 'trace-1', ...extra });
  const events = [
    ev('R', '', { event_id: 'e1', span_id: 's1', agent_id: 'planner', cost_usd: '0.10' }),
    ev('R', '', { event_id: 'e2', type: 'tool', tool: 'web_search', span_id: 's2', parent_span_id: 's1', cost_usd: '0.01' }),
    ev('R', '', { event_id: 'e3', status: 'error', attempt: 1, cost_usd: '0.20' }),
    ev('R', '', { event_id: 'e4', retry_of: 'e3', attempt: 2, cost_usd: '0.25' }),
    ev('R.1', 'R', { event_id: 'e5', agent_id: 'researcher', span_id: 's5', cost_usd: '0.30' }),
    ev('R.1', 'R', { event_id: 'e6', type: 'tool', tool: 'crm', parent_span_id: 's5', cost_usd: '0.02' }),
    ev('R.1.1', 'R.1', { event_id: 'e7', type: 'tool', tool: 'sql', agent_id: 'analyst', cost_usd: '0.003' }),
  ];
  beforeAll(async () => {
    expect((await post(t.app, events, as('ing'))).json().accepted).toBe(7);
  });

  it('returns the run as a tree with cost rolled up to every node and the root', async () => {
    const res = await t.app.inject({ url: '/api/v1/runs/R', headers: as('rd') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ run_id: 'R', product_line_id: 'lineage', trace_id: 'trace-1', events: 7, runs: 3, cost_usd: addDecimals(events.map((e) => e.cost_usd as string)) });
    const root = body.tree;
    expect(root).toMatchObject({ run_id: 'R', self_cost_usd: '0.56', cost_usd: '0.883', agent_ids: ['planner'] });
    const [e1, e3] = root.events;
    expect(e1).toMatchObject({ event_id: 'e1', cost_usd: '0.1', total_cost_usd: '0.11', children: [{ event_id: 'e2', tool: 'web_search' }] });
    // times as ISO-8601 in UTC, as every other route gives them
    expect(e1.timestamp).toBe(new Date(Date.parse(events[0]!.timestamp as string)).toISOString());
    expect(e1.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(e3).toMatchObject({ event_id: 'e3', status: 'error', total_cost_usd: '0.45', children: [{ event_id: 'e4', retry_of: 'e3', attempt: 2 }] });
    const [sub] = root.runs;
    expect(sub).toMatchObject({ run_id: 'R.1', parent_run_id: 'R', self_cost_usd: '0.32', cost_usd: '0.323' });
    expect(sub.events[0]).toMatchObject({ event_id: 'e5', total_cost_usd: '0.32', children: [{ event_id: 'e6' }] });
    expect(sub.runs[0]).toMatchObject({ run_id: 'R.1.1', cost_usd: '0.003', events: [{ event_id: 'e7', tool: 'sql' }] });
    // A sub-run is also a root of its own tree.
    expect((await t.app.inject({ url: '/api/v1/runs/R.1', headers: as('rd') })).json()).toMatchObject({ cost_usd: '0.323', runs: 2 });
  });

  it('answers 404 for unknown runs and for runs of product lines a scoped key cannot see', async () => {
    for (const [url, key] of [['/api/v1/runs/nope', 'rd'], ['/api/v1/runs/R', 'other'], [`/api/v1/runs/${encodeURIComponent("R' OR 1=1 --")}`, 'rd']] as const) {
      const res = await t.app.inject({ url, headers: as(key) });
      expect([res.statusCode, res.json().reason], url).toEqual([404, 'unknown_run']);
    }
  });
});
