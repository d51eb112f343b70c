// Bounded parsing: nesting beyond MAX_JSON_DEPTH is a 400 on every route that takes a body, an
// over-nested event is one rejected item, and nothing walks a value without a depth bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { classify } from '../src/events/classify.js';
import { depthExceeds, truncateDepth } from '../src/json-body.js';
import { buildTestApp, makeEvent, one, post, type TestApp } from './helper.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false });
});
afterAll(async () => t.close());

const nested = (depth: number, leaf = '"x"') => '['.repeat(depth) + leaf + ']'.repeat(depth);
const problem = (res: { statusCode: number; headers: Record<string, unknown>; json: () => { reason: string } }, status: number, reason: string) => {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.json().reason).toBe(reason);
};

describe('nesting depth', () => {
  it('answers the issue\'s 5,000-deep array with 400 json_too_deep, not a 500', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: nested(5000), headers: { 'content-type': 'application/json' } });
    problem(res, 400, 'json_too_deep');
    expect(res.json()).toMatchObject({ detail: 'the JSON body is nested more than 64 levels deep (MAX_JSON_DEPTH)' });
  });

  it('rejects an over-nested event as one item and accepts the rest of the batch', async () => {
    const deepAttrs = JSON.parse(nested(10));
    const res = await post(t.app, { events: [makeEvent({ product_line_id: 'deep' }), makeEvent({ product_line_id: 'deep', attributes: { a: deepAttrs } }), JSON.parse(nested(20))] });
    expect(res.statusCode).toBe(207);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: 2, results: [{ index: 1, reason: 'too_deep' }, { index: 2, reason: 'too_deep' }] });
    const stored = await one<{ payload: string }>(t.app, "SELECT payload FROM quarantine FINAL WHERE reason = 'too_deep' AND product_line_id = 'deep'");
    expect(JSON.stringify(JSON.parse(stored.payload).attributes.a)).toBe(`${'['.repeat(6)}"[too deep]"${']'.repeat(6)}`);
  });

  it('rejects a 100,000-deep NDJSON line as one item', async () => {
    const body = `${JSON.stringify(makeEvent({ product_line_id: 'nd' }))}\n${nested(100_000)}\n`;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.statusCode).toBe(207);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: 1, results: [{ index: 1, status: 'rejected', reason: 'too_deep' }] });
  });

  it('classify, called directly as the OTLP intake does, survives any depth', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { k: deep };
    const c = classify({ value: deep }, 0, '2026-01-01 00:00:00.000');
    expect(c.kind === 'quarantine' && c.record.reason).toBe('too_deep');
    expect(depthExceeds(deep, 199_999)).toBe(true);
    expect(depthExceeds(deep, 200_000)).toBe(false);
    expect(truncateDepth([[1, [2]], 3], 2)).toEqual([[1, '[too deep]'], 3]);
  });

  // Every route of the OpenAPI document that takes a body: a body past the limit, and a value past
  // the limit under every top-level property the schema names, are 400s with a reason.
  const doc = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as {
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; anyOf?: { properties?: Record<string, unknown> }[] } }> } }>>;
  };
  const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).filter(([, op]) => op.requestBody).map(([method, op]) => {
      const schema = Object.values(op.requestBody!.content)[0]!.schema;
      const props = new Set([...Object.keys(schema.properties ?? {}), ...(schema.anyOf ?? []).flatMap((s) => Object.keys(s.properties ?? {}))]);
      return { method: method.toUpperCase() as 'POST' | 'PUT', url: path.replace(/\{[^}]+\}/g, (p) => (p === '{month}' ? '2026-01' : 'x')), props: [...props] };
    }));

  it('covers every body route of the contract', () => {
    expect(routes.length).toBeGreaterThanOrEqual(14);
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/v1/events');
  });

  it.each(routes)('$method $url: 400 past the depth limit, never a 5xx', async ({ method, url, props }) => {
    const send = (payload: string) => t.app.inject({ method, url, payload, headers: { 'content-type': 'application/json' } });
    problem(await send(nested(5000)), 400, 'json_too_deep');
    problem(await send(`{"a":${nested(70)}}`), 400, 'json_too_deep');
    for (const prop of props) {
      // Past the limit: the parser refuses it. Just under it: the route's own validation does.
      problem(await send(`{${JSON.stringify(prop)}:${nested(5000)}}`), 400, 'json_too_deep');
      const under = await send(`{${JSON.stringify(prop)}:${nested(60)}}`);
      if (url === '/api/v1/events') {
        // A batch is judged item by item: the one over-nested item is rejected.
        expect(under.json()).toMatchObject({ accepted: 0, rejected: 1, results: [{ reason: 'too_deep' }] });
        continue;
      }
      expect(under.statusCode, `${prop}: ${under.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(under.statusCode, `${prop}: ${under.body.slice(0, 200)}`).toBeLessThan(500);
    }
  });
});

describe('prototype keys', () => {
  it('refuses "__proto__" in a JSON body (400) and in an NDJSON line (one rejected item), storing neither', async () => {
    const smuggled = { ...makeEvent({ product_line_id: undefined }) };
    const line = JSON.stringify(smuggled).replace(/^\{/, '{"__proto__":{"product_line_id":"proto-pl","cost_usd":"5"},');
    problem(await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: `[${line}]`, headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: `${line}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.json()).toMatchObject({ accepted: 0, rejected: 1, results: [{ index: 0, reason: 'invalid_json', errors: ['a "__proto__" key is not allowed'] }] });
    expect((await one<{ n: number }>(t.app, "SELECT count() AS n FROM cost_events WHERE product_line_id = 'proto-pl'")).n).toBe(0);
  });

  it('refuses a lone surrogate: 400 invalid_unicode for a JSON body, an invalid item in NDJSON', async () => {
    const event = JSON.stringify(makeEvent({ product_line_id: 'surrogate', run_id: 'RUN' })).replace('RUN', '\\ud800');
    problem(await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: `[${event}]`, headers: { 'content-type': 'application/json' } }), 400, 'invalid_unicode');
    problem(await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: '{"prices":[{"provider":"\\udc00"}]}', headers: { 'content-type': 'application/json' } }), 400, 'invalid_unicode');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: `${event}\n\u{10FFF1}\u0002 not json`, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.statusCode).toBe(207);
    expect(res.json().results.map((r: { reason: string }) => r.reason)).toEqual(['invalid_event', 'invalid_json']);
    expect(res.json().results[0].errors).toEqual(['run_id: must be valid Unicode (a lone surrogate such as \\ud800 is not text)']);
  });

  it('stores an unparsable NDJSON line whose parse error cuts a surrogate pair (found by fuzzing: was a 500)', async () => {
    const payload = Buffer.from([244, 143, 191, 177, 244, 143, 191, 172, 2, 242, 156, 164, 171, 243, 183, 148, 163]);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.statusCode).toBe(207);
    expect(res.json()).toMatchObject({ rejected: 1, results: [{ index: 0, reason: 'invalid_json' }] });
  });
});
