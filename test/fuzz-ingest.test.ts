// Property-based fuzzing of the ingest body parser (fast-check): whatever the batch holds, the
// answer is never a 5xx, every item is accounted for in the receipt, and the ledger (raw rows and
// /agent-costs) equals the exact sum of what the receipt says was accepted.
// FUZZ_RUNS scales the run (npm test: short; npm run fuzz: long); FUZZ_SEED replays a failure.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUnits, numberToDecimalString, toUnits } from '../src/pricing/decimal.js';
import { buildTestApp, one, type TestApp } from './helper.js';

const runs = Number(process.env.FUZZ_RUNS ?? 40);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false, RATE_LIMIT_MAX: 10_000_000 });
});
afterAll(async () => t.close());

const hostile = fc.constantFrom('', ' ', '\u0000', 'a\nb', '\u202e', '😀', "'; DROP TABLE cost_events; --", '{{column}}', '__proto__', 'constructor',
  'x'.repeat(300), '+1 (415) 555-0132', '4111 1111 1111 1111', 'eve@example.com', '../../etc/passwd', '%00', '\\');
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), hostile, fc.stringMatching(/^[a-z0-9-]{1,12}$/));
const decimalString = fc.oneof(
  fc.tuple(fc.bigInt({ min: 0n, max: 1_000_000n }), fc.bigInt({ min: 0n, max: 999_999_999_999n }), fc.integer({ min: 0, max: 12 }))
    .map(([int, frac, places]) => (places === 0 ? `${int}` : `${int}.${String(frac).padStart(12, '0').slice(0, places)}`)),
  fc.constantFrom('1000000', '1000000.000000000001', '999999.999999999999', '99999999999999999999999999.5', '-1', '1e3', '0x10', ' 7 ', '0.0000000000001'),
);
const money = fc.oneof({ weight: 4, arbitrary: decimalString }, { weight: 1, arbitrary: fc.double({ min: 0, max: 2e6, noNaN: true }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
const tokens = fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.constantFrom(-1, 1.5, 1e9, 1e9 + 1, Number.MAX_SAFE_INTEGER, '100'));
const timestamp = fc.oneof(
  fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2026-06-30T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-01-15 12:00:00', 'yesterday', '1999-12-31T23:59:59Z', '2026-02-30T00:00:00Z', '2026-03-01T00:00:00+14:00'),
);

/** An item of a batch: mostly event-shaped, with any field possibly wrong, plus arbitrary JSON. */
const item = (line: string) => fc.oneof(
  { weight: 6, arbitrary: fc.record({
    event_id: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom('dup-1', 'dup-2') }, { weight: 1, arbitrary: text }),
    timestamp,
    type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('llm', 'tool', 'compute', 'outcome') }, { weight: 1, arbitrary: text }),
    product_line_id: fc.oneof({ weight: 12, arbitrary: fc.constant(line) }, { weight: 1, arbitrary: text }),
    cost_usd: money,
    run_id: text, user_id: text, customer_id: text, segment: text, model: text,
    usage: fc.record({ input_tokens: tokens, output_tokens: tokens, cache_read_tokens: tokens }, { requiredKeys: [] }),
    attributes: fc.dictionary(text, fc.oneof(text, fc.jsonValue({ maxDepth: 3 })), { maxKeys: 4 }),
    status: fc.constantFrom('success', 'error', 'retry', 'failure', 'bogus'),
    completion: fc.string(),
  }, { requiredKeys: ['event_id', 'timestamp', 'type', 'product_line_id'] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 9, max: 200 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown) },
);

type Format = 'object' | 'array' | 'ndjson';
const batch = (line: string) => fc.record({ items: fc.array(item(line), { maxLength: 25 }), format: fc.constantFrom<Format>('object', 'array', 'ndjson'), gzip: fc.boolean() });

const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
// JSON.stringify writes a lone surrogate as an escape such as \ud800 (a pair stays literal).
const loneSurrogate = (json: string) => /\\ud[89ab][0-9a-f]{2}|\\ud[c-f][0-9a-f]{2}/i.test(json);

/** What the server accepts as the cost of an accepted event (the schema's rule, restated). */
// A JSON number is read as the text JSON.stringify wrote for it (its shortest form), never through toFixed.
const acceptedCost = (v: unknown) => (v === undefined ? 0n : toUnits(typeof v === 'number' ? numberToDecimalString(v) : String(v).trim()));
/** An object with a "constructor" key holding a "prototype" key: Fastify's JSON guard refuses the body. */
const constructorPrototype = (v: unknown): boolean => v !== null && typeof v === 'object'
  && (Object.entries(v).some(([k, x]) => k === 'constructor' && x !== null && typeof x === 'object' && Object.hasOwn(x, 'prototype')) || Object.values(v).some(constructorPrototype));

let line = 0;
describe('ingest fuzzing', () => {
  it('never answers 5xx, accounts for every item, and the ledger equals the sum of what was accepted', async () => {
    await fc.assert(fc.asyncProperty(fc.constant(null).map(() => `fz-${++line}`).chain((pl) => batch(pl).map((b) => ({ ...b, pl }))), async ({ items, format, gzip, pl }) => {
      const text = format === 'ndjson' ? items.map((i) => JSON.stringify(i)).join('\n') : JSON.stringify(format === 'object' ? { events: items } : items);
      const headers: Record<string, string> = { 'content-type': format === 'ndjson' ? 'application/x-ndjson' : 'application/json' };
      if (gzip) headers['content-encoding'] = 'gzip';
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: gzip ? gzipSync(text) : text, headers });
      expect(res.statusCode, res.body.slice(0, 300)).toBeLessThan(500);
      if (format === 'ndjson' && items.length === 0) return; // an empty NDJSON body is an empty batch
      // A "__proto__" key, or "constructor" holding "prototype", is refused by Fastify's prototype-poisoning
      // guard (the body, or the NDJSON line).
      const refusal = format === 'ndjson' ? undefined : /"__proto__":/.test(text) || constructorPrototype(items) ? 'invalid_json'
        : depthOf(format === 'object' ? { events: items } : items) > 64 ? 'json_too_deep' : loneSurrogate(text) ? 'invalid_unicode' : undefined;
      if (refusal) {
        // A JSON body past the limits is refused whole, and nothing of it is stored.
        expect([res.statusCode, res.json().reason]).toEqual([400, refusal]);
        expect((await one<{ n: number }>(t.app, 'SELECT count() AS n FROM cost_events WHERE product_line_id = {pl:String}', { pl })).n).toBe(0);
        return;
      }
      expect([200, 207], res.body.slice(0, 300)).toContain(res.statusCode);
      const receipt = res.json() as { accepted: number; duplicates: number; quarantined: number; rejected: number; results: { index: number; status: string }[] };
      expect(receipt.accepted + receipt.duplicates + receipt.quarantined + receipt.rejected).toBe(items.length);
      const indexes = receipt.results.map((r) => r.index);
      expect(new Set(indexes).size).toBe(indexes.length);
      expect(indexes.every((i) => Number.isInteger(i) && i >= 0 && i < items.length)).toBe(true);
      expect(receipt.results.length).toBe(items.length - receipt.accepted);
      const listed = new Set(indexes);
      const accepted = items.filter((_, i) => !listed.has(i)) as { cost_usd?: unknown; product_line_id?: unknown }[];
      expect(accepted.every((e) => e.product_line_id === pl)).toBe(true);
      const expected = fromUnits(accepted.reduce((sum, e) => sum + acceptedCost(e.cost_usd), 0n));
      const ledger = await one<{ events: number; cost: string }>(t.app, 'SELECT count() AS events, toString(sum(cost_usd)) AS cost FROM cost_events WHERE product_line_id = {pl:String}', { pl });
      expect(ledger).toEqual({ events: accepted.length, cost: expected });
      if (accepted.length > 0) {
        const costs = await t.app.inject({ url: `/api/v1/agent-costs?from=2026-01-01T00:00:00Z&to=2026-07-01T00:00:00Z&product_line=${pl}` });
        expect(costs.json().totals).toMatchObject({ cost_usd: expected, events: accepted.length });
      }
    }), { numRuns: runs, seed, endOnFailure: true });
  }, 600_000);

  it('answers any byte string as a body with a problem document or a receipt, never a 5xx', async () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)), fc.jsonValue({ maxDepth: 5 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')));
    await fc.assert(fc.asyncProperty(bytes, fc.constantFrom('application/json', 'application/x-ndjson', 'text/plain', 'application/xml'), fc.constantFrom('identity', 'gzip', 'br'), async (body, type, encoding) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: body, headers: { 'content-type': type, 'content-encoding': encoding } });
      expect(res.statusCode).toBeLessThan(500);
      if (res.statusCode >= 400) expect(res.json().reason).toMatch(/^[a-z_]+$/);
    }), { numRuns: runs * 5, seed, endOnFailure: true });
  }, 600_000);
});
