// Property-based fuzzing of every query parameter (and path parameter) of every GET route in the
// OpenAPI document: whatever the values, the answer is never a 5xx, and every 4xx is a problem
// document with a reason. The route table comes from the contract, so new routes join by themselves.
// FUZZ_RUNS scales the run (npm test: short; npm run fuzz: long); FUZZ_SEED replays a failure.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, type TestApp } from './helper.js';

const runs = Number(process.env.FUZZ_RUNS ?? 40);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

type Schema = { type?: string; enum?: string[]; anyOf?: Schema[]; items?: Schema; maximum?: number; minimum?: number };
type Param = { name: string; in: 'query' | 'path'; schema: Schema; description?: string };
const doc = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, { parameters?: Param[] }>> };
const routes = Object.entries(doc.paths).filter(([, ops]) => ops.get).map(([path, ops]) => ({ path, params: ops.get!.parameters ?? [] }));

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false, RATE_LIMIT_MAX: 10_000_000 });
  // Some data, so that queries do real work rather than answer empty.
  const events = Array.from({ length: 300 }, (_, i) => makeEvent({ product_line_id: ['fq-a', 'fq-b'][i % 2], timestamp: new Date(Date.UTC(2026, 0, 1 + (i % 60), i % 24)).toISOString(), customer_id: `c-${i % 7}`, agent_id: `agent-${i % 3}` }));
  expect((await post(t.app, events)).json()).toMatchObject({ accepted: 300 });
});
afterAll(async () => t.close());

const enumsOf = (s: Schema): string[] => [...(s.enum ?? []), ...(s.anyOf ?? []).flatMap(enumsOf), ...(s.items ? enumsOf(s.items) : [])];
const words = ['product_line', 'customer', 'agent', 'model', 'user', 'day', 'week', 'hour', 'month', 'cost_usd', 'events', 'fq-a', 'csv', 'parquet', 'json', 'ndjson', 'user', 'feature', '24h', '7d', 'production', 'staging'];
const hostile = fc.constantFrom('', ' ', '%', '%zz', '\u0000', '\u202e', '😀', "' OR 1=1 --", '{{column}}', '__proto__', 'x'.repeat(10_000), '-1', '0', '1e309', 'NaN', 'null',
  '9'.repeat(40), '-9223372036854775809', '2026-02-30', '2026-13-01', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-01-01T00:00:00+25:00', 'Europe/Nowhere', ',', ',,,', 'a,b,c,,');
const instant = fc.date({ min: new Date('1999-01-01T00:00:00Z'), max: new Date('2101-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const scalar = (p: Param) => {
  const enums = enumsOf(p.schema);
  const hint = `${p.name} ${p.description ?? ''}`;
  return fc.oneof(
    { weight: 3, arbitrary: enums.length > 0 ? fc.constantFrom(...enums) : fc.constantFrom(...words) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...(enums.length > 0 ? enums : words)), { minLength: 1, maxLength: 5 }).map((a) => a.join(',')) },
    { weight: 2, arbitrary: /from|to|at|date/.test(hint) ? fc.oneof(instant, instant.map((s) => s.slice(0, 10)), fc.tuple(instant, instant).map(([a, b]) => `${a.slice(0, 10)},${b.slice(0, 10)}`)) : fc.integer({ min: -5, max: 100_000 }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('2026-01', '2026-02', '1999-12', '2026-1') },
    { weight: 2, arbitrary: hostile },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  );
};
/** A value as the client writes it into the URL: mostly encoded, sometimes raw (and possibly broken). */
const encoded = (p: Param) => fc.tuple(scalar(p), fc.integer({ min: 0, max: 9 })).map(([v, raw]) => (raw === 0 ? v.replace(/[\s#&?/]/g, '') : encodeURIComponent(v)));

const request = fc.constantFrom(...routes).chain((route) => {
  const query = route.params.filter((p) => p.in === 'query');
  const path = route.params.filter((p) => p.in === 'path');
  return fc.record({
    route: fc.constant(route),
    query: fc.array(fc.tuple(fc.constantFrom(...(query.length > 0 ? query : [{ name: 'unknown', in: 'query', schema: {} } as Param])), fc.integer({ min: 1, max: 3 })), { maxLength: 6 })
      .chain((picked) => fc.tuple(...picked.map(([p, times]) => fc.array(encoded(p), { minLength: times, maxLength: times }).map((vs) => vs.map((v) => `${p.name}=${v}`).join('&'))))),
    path: fc.tuple(...path.map((p) => encoded(p).map((v) => [p.name, v || 'x'] as const))),
  });
});

describe('query fuzzing', () => {
  it(`covers every GET route of the contract (${routes.length})`, () => {
    expect(routes.length).toBeGreaterThanOrEqual(25);
    expect(routes.map((r) => r.path)).toContain('/api/v1/agent-costs');
  });

  it('never answers 5xx to any query on any GET route', async () => {
    await fc.assert(fc.asyncProperty(request, async ({ route, query, path }) => {
      let url = route.path;
      for (const [name, value] of path) url = url.replace(`{${name}}`, value);
      if (query.length > 0) url += `?${query.join('&')}`;
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, `${url.slice(0, 300)} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
      if (res.statusCode >= 400) {
        expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
        expect(res.json().reason).toMatch(/^[a-z_]+$/);
      }
    }), { numRuns: runs * 10, seed, endOnFailure: true });
  }, 600_000);
});
