// The fast path of event validation (src/events/fast-parse.ts) against zod's schema, which stays
// the definition: on every input the fast path either defers (undefined) or returns exactly zod's
// output, never accepts what zod refuses, and does take the common valid events.
import { describe, expect, it } from 'vitest';
import { makeBatch } from '../bench/events.js';
import { fastParse } from '../src/events/fast-parse.js';
import { eventSchema, foldAliases, toRow } from '../src/events/schema.js';
import { toClickHouseTime } from '../src/clickhouse-time.js';
import { makeEvent } from './helper.js';

function agree(input: Record<string, unknown>): 'fast' | 'deferred' {
  const { folded } = foldAliases(input);
  const zod = eventSchema.safeParse(folded);
  const fast = fastParse(folded);
  if (fast === undefined) return 'deferred';
  if (!zod.success) throw new Error(`fast path accepted what zod refuses: ${JSON.stringify(input)} (${zod.error.issues.map((i) => i.message).join('; ')})`);
  expect(fast).toStrictEqual(zod.data);
  return 'fast';
}

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const outcome = { type: 'outcome', status: 'failure', revenue_usd: '12.5', provider: undefined, model: undefined, usage: undefined, cost_usd: undefined };
const valid: Record<string, unknown>[] = [
  makeEvent(),
  makeEvent({ environment: 'staging', status: 'error', attempt: 2, retry_of: 'x', attributes: { team: 'search', 'k.v': 'ü 😀' } }),
  makeEvent({ type: 'tool', tool: 'web_search', usage: { quantity: '3', unit: 'calls' }, provider: undefined, model: undefined }),
  makeEvent({ type: 'compute', usage: { quantity: 0.25, unit: 'gpu_hours' }, cost_usd: 1.5 }),
  makeEvent({ usage: { input_tokens: 100, cache_read_tokens: 60, cache_write_tokens: 40, output_tokens: 50, reasoning_tokens: 50 } }),
  makeEvent({ timestamp: '2026-01-15T12:00:00+05:30' }),
  makeEvent({ timestamp: '2026-01-15T12:00:00.123456Z' }),
  makeEvent({ timestamp: '2024-02-29T00:00:00Z', cost_usd: ' 0.000000000001 ' }),
  makeEvent({ cost_usd: 0.3 }),
  makeEvent({ cost_usd: 123456.123456789 }),
  makeEvent({ cost_usd: 1e-7 }),
  makeEvent({ duration_ms: Number.MAX_SAFE_INTEGER }),
  makeEvent(outcome),
  { event_id: 'a', timestamp: '2026-01-15T12:00:00Z', type: 'llm' },
  ...makeBatch(3, 200),
];

// Values to put into any field: each is wrong for some fields and right for others.
const probes: unknown[] = [
  '', ' ', 'a', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(256), 'x'.repeat(257), 'x'.repeat(1025),
  'tab\there', 'nul\u0000', 'del\u007f', 'lone\ud800', 'ok-id_1.2:3', 'héllo', 'production', 'staging', 'llm', 'outcome', 'failure',
  'success', 'calls', '2026-02-30T00:00:00Z', '2026-02-28T24:00:00Z', '2026-01-15T12:00:00z', '2026-01-15T12:00:00', '2026-01-15 12:00:00Z',
  '1999-12-31T23:59:59Z', '2099-01-01T00:00:00Z', '2026-01-15T12:00:00.1234567891Z', '2026-01-15T12:00:00-23:59', '2026-01-15T12:00:00+24:00',
  '0', '1', '-1', '1.5', '1.1234567890123', '1.123456789012', '01', '1e3', ' 2 ', '1,5', '99999999999999999999999999999999999999999',
  0, 1, -1, 1.5, 65535, 65536, 1e9, 1e9 + 1, 1e12, 1e21, -0, Number.MAX_SAFE_INTEGER + 2, 0.1, NaN, Infinity,
  0.1 + 0.2, 123456.123456789012, 0.1234567890125, 1e-13, 1e-12,
  true, null, [], ['a'], {}, { a: 'b' }, { '': 'x' }, { a: 1 }, { a: 'x'.repeat(1025) },
  Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'])), Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
];
const fields = ['event_id', 'timestamp', 'type', 'product_line_id', 'environment', 'workflow_id', 'run_id', 'agent_id', 'customer_id', 'segment',
  'provider', 'model', 'tool', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'quantity', 'unit',
  'duration_ms', 'cost_usd', 'revenue_usd', 'status', 'attempt', 'retry_of', 'attributes', 'step_name', 'prompt_version', 'unknown_field'];

describe('fast event validation', () => {
  it('returns exactly what zod returns for valid events, and takes the fast path for them', () => {
    for (const e of valid) expect(agree(e)).toBe('fast');
  });

  it('never accepts what zod refuses: every field set to every probe value', () => {
    let fast = 0;
    let deferred = 0;
    for (const base of valid.slice(0, 13)) {
      for (const field of fields) {
        for (const probe of probes) {
          const input = { ...base, [field]: probe };
          if (field === 'quantity' || field === 'unit') delete (input as Record<string, unknown>).usage;
          if (agree(input) === 'fast') fast++;
          else deferred++;
        }
      }
    }
    // Both outcomes occur (the probes hit valid and invalid values of every field).
    expect(fast).toBeGreaterThan(500);
    expect(deferred).toBeGreaterThan(2000);
  });

  it('agrees with zod on 20,000 random mutations', () => {
    const r = mulberry32(42);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const input: Record<string, unknown> = { ...pick(valid) };
      for (let k = Math.floor(r() * 4); k > 0; k--) {
        const field = pick(fields);
        if (r() < 0.2) delete input[field];
        else input[field] = pick(probes);
      }
      if (agree(input) === 'fast') fast++;
    }
    expect(fast).toBeGreaterThan(2000);
  });

  it('turns UTC timestamps into ClickHouse text exactly as Date does', () => {
    const stamps = ['2026-01-15T12:00:00Z', '2026-01-15T12:00:00.1Z', '2026-01-15T12:00:00.12Z', '2026-01-15T12:00:00.123Z',
      '2026-01-15T12:00:00.1234Z', '2026-01-15T12:00:00.123456789Z', '2024-02-29T23:59:59.999Z', '2000-01-01T00:00:00Z', '2026-01-15T12:00:00+05:30'];
    for (const timestamp of stamps) {
      const { folded } = foldAliases(makeEvent({ timestamp }));
      const event = eventSchema.parse(folded);
      expect(toRow(event, '2026-01-15 12:00:00.000').timestamp).toBe(toClickHouseTime(timestamp));
    }
  });
});
