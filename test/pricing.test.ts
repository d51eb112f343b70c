// The price book against hand-computed figures: every bucket once, effective dates to the
// millisecond, contracts, units, reported vs priced, unpriced, LiteLLM import and re-pricing.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../src/sql.js';
import { buildTestApp, makeEvent, one, post, rows, type TestApp } from './helper.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
  const res = await t.app.inject({
    method: 'PUT', url: '/api/v1/prices', payload: {
      prices: [
        { provider: 'openai', item: 'gpt-4o', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '2.5', cache_read_per_mtok: '1.25', output_per_mtok: '10' },
        { provider: 'anthropic', item: 'claude-sonnet-4', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '3', output_per_mtok: '15', cache_read_per_mtok: '0.3', cache_write_per_mtok: '3.75' },
        { provider: 'openai', item: 'o3', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '2', output_per_mtok: '8' },
        { provider: 'acme', item: 'thinker', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '4', reasoning_per_mtok: '6' },
        { provider: 'openai', item: 'gpt-4o-mini', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '0.15', output_per_mtok: '0.6' },
        { provider: 'openai', item: 'gpt-4o-mini', effective_from: '2026-03-01T00:00:00Z', input_per_mtok: '0.3', output_per_mtok: '1.2' },
        { provider: 'openai', item: 'tts-1', unit: 'characters', effective_from: '2026-01-01T00:00:00Z', per_unit: '0.000015' },
        { provider: '', item: 'web_search', unit: 'calls', effective_from: '2026-01-01T00:00:00Z', per_unit: '0.01' },
        { provider: 'aws', item: '*', unit: 'gpu_hours', effective_from: '2026-01-01T00:00:00Z', per_unit: '2.5' },
        { provider: 'aws', item: '*', unit: 'cpu_core_hours', effective_from: '2026-01-01T00:00:00Z', per_unit: '0.04' },
        { provider: 'pinecone', item: '*', unit: 'requests', effective_from: '2026-01-01T00:00:00Z', per_unit: '0.000004' },
        { provider: '', item: '*', unit: 'events', effective_from: '2026-01-01T00:00:00Z', per_unit: '4' },
      ],
    },
  });
  expect(res.json()).toEqual({ added: 12 });
});
afterAll(async () => t.close());

const priced = async (event: Record<string, unknown>) => {
  const e = makeEvent({ cost_usd: undefined, product_line_id: 'pricing', ...event });
  const res = await post(t.app, [e]);
  expect(res.json(), JSON.stringify(res.json())).toMatchObject({ accepted: 1 });
  return one<{ cost: string; list: string; source: string; version: string }>(t.app,
    'SELECT toString(cost_usd) AS cost, toString(list_cost_usd) AS list, cost_source AS source, price_version AS version FROM cost_events WHERE event_id = {id:String}', { id: e.event_id });
};

describe('default catalog', () => {
  it('loads models.dev list prices once and records the catalog version', async () => {
    const [catalog] = await rows<{ version: string; models: number }>(t.app, 'SELECT version, models FROM price_catalogs FINAL');
    expect(catalog!.version).toMatch(/^models\.dev via @tokenlens\/models@\d+\.\d+\.\d+$/);
    expect(catalog!.models).toBeGreaterThan(500);
    const res = await t.app.inject({ url: '/api/v1/prices?provider=anthropic&model=claude-3-5-haiku-20241022&at=2025-06-01T00:00:00Z' });
    expect(res.json().prices).toEqual([expect.objectContaining({ provider: 'anthropic', item: 'claude-3-5-haiku-20241022', unit: 'tokens', source: 'catalog', effective_from: '2000-01-01 00:00:00.000' })]);
  });
});

describe('token buckets, each priced once', () => {
  it('gpt-4o with cached input: cached tokens are inside input_tokens', async () => {
    // 6,000 uncached × $2.50/M + 4,000 cached × $1.25/M + 500 output × $10/M
    expect(await priced({ provider: 'openai', model: 'gpt-4o', usage: { input_tokens: 10_000, cache_read_tokens: 4000, output_tokens: 500 } }))
      .toMatchObject({ cost: '0.025', list: '0.025', source: 'priced', version: 'openai/gpt-4o@2026-01-01T00:00:00Z' });
  });

  it('a dated Claude id with cache writes and reads', async () => {
    // 3,000 × $3 + 12,000 × $0.30 + 5,000 × $3.75 + 1,000 × $15, per million
    expect((await priced({ provider: 'anthropic', model: 'claude-sonnet-4-20250514', usage: { input_tokens: 20_000, cache_read_tokens: 12_000, cache_write_tokens: 5000, output_tokens: 1000 } })).cost).toBe('0.04635');
  });

  it('a reasoning model: at the output rate, or at its own rate when it has one', async () => {
    // 1,000 × $2 + 500 × $8 + 2,500 × $8
    expect((await priced({ provider: 'openai', model: 'o3', usage: { input_tokens: 1000, output_tokens: 3000, reasoning_tokens: 2500 } })).cost).toBe('0.026');
    // 1,000 × $1 + 500 × $4 + 2,500 × $6
    expect((await priced({ provider: 'acme', model: 'thinker', usage: { input_tokens: 1000, output_tokens: 3000, reasoning_tokens: 2500 } })).cost).toBe('0.018');
  });

  it('matches provider prefixes and unique model ids without a provider', async () => {
    expect((await priced({ provider: undefined, model: 'openai/gpt-4o', usage: { input_tokens: 1_000_000, output_tokens: 0 } })).cost).toBe('2.5');
    expect((await priced({ provider: undefined, model: 'thinker', usage: { input_tokens: 1_000_000, output_tokens: 0 } })).cost).toBe('1');
  });

  it('keeps sub-cent precision exactly: one cached token of gpt-4o', async () => {
    expect((await priced({ provider: 'openai', model: 'gpt-4o', usage: { input_tokens: 1, cache_read_tokens: 1, output_tokens: 0 } })).cost).toBe('0.00000125');
  });
});

describe('units', () => {
  it('prices TTS per character, tool calls, compute hours, vector queries and escalations', async () => {
    expect((await priced({ type: 'llm', provider: 'openai', model: 'tts-1', usage: { quantity: '12345', unit: 'characters' } })).cost).toBe('0.185175');
    expect((await priced({ type: 'tool', provider: undefined, model: undefined, tool: 'web_search', usage: undefined })).cost).toBe('0.01');
    expect((await priced({ type: 'tool', provider: undefined, model: undefined, tool: 'web_search', usage: { quantity: '3', unit: 'calls' } })).cost).toBe('0.03');
    expect((await priced({ type: 'compute', provider: 'aws', model: undefined, usage: { quantity: '0.5', unit: 'gpu_hours' } })).cost).toBe('1.25');
    expect((await priced({ type: 'compute', provider: 'aws', model: undefined, usage: { quantity: '12.25', unit: 'cpu_core_hours' } })).cost).toBe('0.49');
    expect((await priced({ type: 'vector_db', provider: 'pinecone', model: undefined, usage: { quantity: '1000', unit: 'requests' } })).cost).toBe('0.004');
    expect((await priced({ type: 'human_escalation', provider: undefined, model: undefined, usage: undefined })).cost).toBe('4');
  });
});

describe('effective dates', () => {
  it('uses the price in force at the event, to the millisecond', async () => {
    const at = (ts: string) => priced({ provider: 'openai', model: 'gpt-4o-mini', timestamp: ts, usage: { input_tokens: 1_000_000, output_tokens: 0 } });
    expect((await at('2026-02-28T23:59:59.999Z')).cost).toBe('0.15');
    expect((await at('2026-03-01T00:00:00.000Z')).cost).toBe('0.3');
    expect((await at('2026-03-01T00:00:00.001Z')).cost).toBe('0.3');
    const before = await t.app.inject({ url: '/api/v1/prices?provider=openai&model=gpt-4o-mini&at=2026-02-28T23:59:59.999Z' });
    expect(before.json().prices.map((p: { input_per_mtok: string }) => p.input_per_mtok)).toEqual(['0.15']);
    const all = await t.app.inject({ url: '/api/v1/prices?provider=openai&model=gpt-4o-mini' });
    expect(all.json().prices.map((p: { effective_from: string }) => p.effective_from)).toEqual(['2026-03-01 00:00:00.000', '2026-01-01 00:00:00.000', '2000-01-01 00:00:00.000']);
  });
});

describe('contracted rates', () => {
  beforeAll(async () => {
    const res = await t.app.inject({
      method: 'PUT', url: '/api/v1/prices/contracts', payload: {
        contracts: [
          { provider: 'openai', effective_from: '2026-06-01T00:00:00Z', effective_to: '2026-07-01T00:00:00Z', discount_pct: '20' },
          { provider: 'anthropic', model: 'claude-sonnet-4', effective_from: '2026-06-01T00:00:00Z', override: { input_per_mtok: '2.4', output_per_mtok: '12' } },
        ],
      },
    });
    expect(res.json()).toEqual({ added: 2 });
  });

  it('keeps list and effective cost side by side, inside the contract window only', async () => {
    const gpt = (ts: string) => priced({ provider: 'openai', model: 'gpt-4o', timestamp: ts, usage: { input_tokens: 10_000, cache_read_tokens: 4000, output_tokens: 500 } });
    expect(await gpt('2026-06-15T00:00:00Z')).toMatchObject({ list: '0.025', cost: '0.02', version: 'openai/gpt-4o@2026-01-01T00:00:00Z; contract openai/*@2026-06-01T00:00:00Z' });
    expect(await gpt('2026-05-31T23:59:59.999Z')).toMatchObject({ list: '0.025', cost: '0.025' });
    expect(await gpt('2026-07-01T00:00:00Z')).toMatchObject({ list: '0.025', cost: '0.025' });
    // Override input and output; cache rates stay at list: 3,000 × 2.4 + 12,000 × 0.3 + 5,000 × 3.75 + 1,000 × 12
    const claude = await priced({ provider: 'anthropic', model: 'claude-sonnet-4', timestamp: '2026-06-15T00:00:00Z', usage: { input_tokens: 20_000, cache_read_tokens: 12_000, cache_write_tokens: 5000, output_tokens: 1000 } });
    expect(claude).toMatchObject({ list: '0.04635', cost: '0.04155' });
  });

  it('refuses a contract with both or neither of discount and override', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/api/v1/prices/contracts', payload: { contracts: [{ provider: 'openai', effective_from: '2026-01-01T00:00:00Z' }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ parameter: 'contracts.0.discount_pct' });
  });
});

describe('reported vs priced vs unpriced', () => {
  it('keeps a reported cost as sent', async () => {
    expect(await priced({ provider: 'openai', model: 'gpt-4o', cost_usd: '9.99', usage: { input_tokens: 10, output_tokens: 1 } })).toMatchObject({ cost: '9.99', source: 'reported', version: '' });
  });

  it('accepts what it cannot price at zero, flags it and lists it', async () => {
    expect(await priced({ provider: 'mystery', model: 'mystery-model', usage: { input_tokens: 700, output_tokens: 70 } })).toMatchObject({ cost: '0', source: 'unpriced' });
    await priced({ provider: 'mystery', model: 'mystery-model', usage: { input_tokens: 300, output_tokens: 30 } });
    expect(await priced({ type: 'compute', provider: 'gcp', model: undefined, usage: { quantity: '2', unit: 'gb_hours' } })).toMatchObject({ source: 'unpriced' });
    const list = (await t.app.inject({ url: '/api/v1/prices/unpriced' })).json().unpriced;
    expect(list).toContainEqual(expect.objectContaining({ provider: 'mystery', model: 'mystery-model', events: 2, input_tokens: 1000, output_tokens: 100 }));
    expect(list).toContainEqual(expect.objectContaining({ provider: 'gcp', unit: 'gb_hours', events: 1, quantity: '2' }));
    // a tool call without a quantity is priced as one call: listed under that unit and quantity
    for (let i = 0; i < 2; i++) {
      expect(await priced({ type: 'tool', tool: 'mystery-tool', provider: undefined, model: undefined, usage: undefined })).toMatchObject({ source: 'unpriced' });
    }
    const after = (await t.app.inject({ url: '/api/v1/prices/unpriced' })).json().unpriced;
    expect(after).toContainEqual(expect.objectContaining({ tool: 'mystery-tool', unit: 'calls', events: 2, quantity: '2' }));
  });
});

describe('LiteLLM import', () => {
  const sample = projectPath('..', 'shared', 'data', 'litellm-model-prices.sample.json');
  it.skipIf(!existsSync(sample))('imports the real file format and prices with it', async () => {
    const file = JSON.parse(readFileSync(sample, 'utf8')) as Record<string, { input_cost_per_token?: number; output_cost_per_token?: number }>;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/prices/import?effective_from=2026-09-01T00:00:00Z', payload: file });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    const withTokenPrices = Object.entries(file).filter(([k, e]) => k !== 'sample_spec' && (typeof e.input_cost_per_token === 'number' || typeof e.output_cost_per_token === 'number')).length;
    expect(report.tokens).toBe(withTokenPrices);
    expect(report.imported + report.skipped.length).toBeGreaterThanOrEqual(Object.keys(file).length - 1);
    // gpt-4 at $0.00003 / $0.00006 per token = $30 / $60 per million
    expect((await priced({ provider: 'openai', model: 'gpt-4', timestamp: '2026-09-02T00:00:00Z', usage: { input_tokens: 1000, output_tokens: 1000 } })).cost).toBe('0.09');
  });

  it('understands cache, reasoning, long-context tiers and per-character prices', async () => {
    const fixture = {
      sample_spec: { input_cost_per_token: 0 },
      'vertex_ai/gemini-long': {
        litellm_provider: 'vertex_ai', mode: 'chat',
        input_cost_per_token: 1.25e-6, output_cost_per_token: 1e-5, cache_read_input_token_cost: 3.125e-7,
        input_cost_per_token_above_200k_tokens: 2.5e-6, output_cost_per_token_above_200k_tokens: 1.5e-5,
        output_cost_per_reasoning_token: 1.2e-5,
      },
      'claude-cachey': { litellm_provider: 'anthropic', mode: 'chat', input_cost_per_token: 3e-6, output_cost_per_token: 1.5e-5, cache_creation_input_token_cost: 3.75e-6, cache_read_input_token_cost: 3e-7 },
      'tts-hd': { litellm_provider: 'openai', mode: 'audio_speech', input_cost_per_character: 3e-5 },
      'broken-model': { litellm_provider: 'openai', input_cost_per_token: 'free' },
      'no-price': { litellm_provider: 'openai', mode: 'chat' },
      // a token price without a provider would price that model name for every provider: refused, as PUT /prices does
      'no-provider': { mode: 'chat', input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 },
    };
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/prices/import?effective_from=2026-10-01T00:00:00Z', payload: fixture });
    expect(res.json()).toMatchObject({ imported: 3, tokens: 2, characters: 1, tiered: 1 });
    expect(res.json().skipped.map((s: { key: string }) => s.key).sort()).toEqual(['broken-model', 'no-price', 'no-provider']);
    expect(res.json().skipped.find((s: { key: string }) => s.key === 'no-provider').reason).toBe('token prices need a provider (litellm_provider)');
    const at = '2026-10-02T00:00:00Z';
    // Under 200k input: 100,000 × 1.25 + 50,000 × 10 (output minus reasoning) + 10,000 × 12, per million
    expect((await priced({ provider: 'vertex_ai', model: 'gemini-long', timestamp: at, usage: { input_tokens: 100_000, output_tokens: 60_000, reasoning_tokens: 10_000 } })).cost).toBe('0.745');
    // Over 200k input, the tier applies to the whole request: 250,000 × 2.5 + 1,000 × 15 (+ 0 cached)
    expect((await priced({ provider: 'vertex_ai', model: 'gemini-long', timestamp: at, usage: { input_tokens: 250_000, output_tokens: 1000 } })).cost).toBe('0.64');
    // Cache write and read: 1,000 × 3 + 2,000 × 3.75 + 4,000 × 0.3 + 100 × 15
    expect((await priced({ provider: 'anthropic', model: 'claude-cachey', timestamp: at, usage: { input_tokens: 7000, cache_write_tokens: 2000, cache_read_tokens: 4000, output_tokens: 100 } })).cost).toBe('0.0132');
    expect((await priced({ provider: 'openai', model: 'tts-hd', timestamp: at, usage: { quantity: '1000', unit: 'characters' } })).cost).toBe('0.03');
  });
});

describe('re-pricing', () => {
  const window = { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };
  const totals = async () => ({
    raw: await one<{ cost: string; events: number }>(t.app, "SELECT toString(sum(cost_usd)) AS cost, countIf(record_type = 'event') AS events FROM cost_events WHERE product_line_id = 'reprice' "),
    api: (await t.app.inject({ url: '/api/v1/agent-costs?product_line=reprice&from=2026-04-01&to=2026-05-01&group_by=model&source=rollup' })).json(),
  });

  it('appends reversal and new rows, returns the delta, and changes nothing when run again', async () => {
    await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'repricer', item: 'r-1', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '2' }] } });
    const events = Array.from({ length: 5 }, (_, i) => makeEvent({ product_line_id: 'reprice', provider: 'repricer', model: 'r-1', cost_usd: undefined, timestamp: `2026-04-0${i + 1}T10:00:00Z`, usage: { input_tokens: 1_000_000, output_tokens: 500_000 } }));
    const late = makeEvent({ product_line_id: 'reprice', provider: 'repricer', model: 'r-2', cost_usd: undefined, timestamp: '2026-04-10T10:00:00Z', usage: { input_tokens: 1_000_000, output_tokens: 0 } });
    const reported = makeEvent({ product_line_id: 'reprice', provider: 'repricer', model: 'r-1', cost_usd: '7', timestamp: '2026-04-10T10:00:00Z' });
    expect((await post(t.app, [...events, late, reported])).json().accepted).toBe(7);
    // 5 × (1M × $1 + 0.5M × $2) = $10, plus $7 reported, r-2 unpriced
    expect((await totals()).raw).toEqual({ cost: '17', events: 7 });

    // The book changes: r-1 gets dearer (same version replaced), r-2 gets a price.
    await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [
      { provider: 'repricer', item: 'r-1', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1.5', output_per_mtok: '2' },
      { provider: 'repricer', item: 'r-2', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '0.5', output_per_mtok: '1' },
    ] } });
    const first = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: window });
    // r-1: 5 × (1.5 + 1) = 12.5 instead of 10; r-2: 0.5 instead of 0 → delta 3
    expect(first.json()).toEqual({ examined: 6, repriced: 6, old_cost_usd: '10', new_cost_usd: '13', delta_usd: '3' });
    const after = await totals();
    expect(after.raw).toEqual({ cost: '20', events: 7 });
    expect(after.api.totals).toMatchObject({ cost_usd: '20', events: 7 });
    const raw = (await t.app.inject({ url: '/api/v1/agent-costs?product_line=reprice&from=2026-04-01&to=2026-05-01&group_by=model&source=raw' })).json();
    expect(after.api.rows).toEqual(raw.rows);
    const corrections = await rows<{ record_type: string; n: number; cost: string }>(t.app, "SELECT record_type, count() AS n, toString(sum(cost_usd)) AS cost FROM cost_events WHERE product_line_id = 'reprice' AND record_type != 'event' GROUP BY record_type ORDER BY record_type");
    expect(corrections).toEqual([{ record_type: 'reprice', n: 6, cost: '13' }, { record_type: 'reversal', n: 6, cost: '-10' }]);
    const linked = await one<{ n: number }>(t.app, "SELECT count() AS n FROM cost_events WHERE record_type = 'reprice' AND event_id = {id:String}", { id: late.event_id });
    expect(linked.n).toBe(1);

    const second = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: window });
    expect(second.json()).toMatchObject({ repriced: 0, delta_usd: '0' });
    expect((await totals()).raw).toEqual({ cost: '20', events: 7 });
    const unpriced = (await t.app.inject({ url: '/api/v1/prices/unpriced' })).json().unpriced;
    expect(unpriced.find((u: { model: string }) => u.model === 'r-2')).toBeUndefined();
  });

  it('is admin only and validates its window', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: { from: 'April', to: '2026-05-01T00:00:00Z' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].parameter).toBe('from');
    for (const payload of [{ from: '2026-05-01T00:00:00Z', to: '2026-04-01T00:00:00Z' }, { from: '2026-04-01T00:00:00Z', to: '2026-04-01T00:00:00Z' }, { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload });
      expect([res.statusCode, res.json().reason, res.json().errors?.[0]?.parameter], JSON.stringify(payload)).toEqual([400, 'invalid_request', 'to']);
    }
  });

  it('reads only the days that hold events, clipped to the window (a sparse 3-year window costs what its events do)', async () => {
    await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'sparse', item: 's-1', effective_from: '2020-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '1' }] } });
    const at = (ts: string) => makeEvent({ product_line_id: 'sparse', provider: 'sparse', model: 's-1', cost_usd: undefined, timestamp: ts, usage: { input_tokens: 1_000_000, output_tokens: 0 } });
    expect((await post(t.app, [at('2024-02-01T10:00:00Z'), at('2026-03-01T09:00:00Z'), at('2026-03-01T15:00:00Z'), at('2026-03-02T01:00:00Z')])).json().accepted).toBe(4);
    await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'sparse', item: 's-1', effective_from: '2020-01-01T00:00:00Z', input_per_mtok: '2', output_per_mtok: '1' }] } });
    // statements run, from the engine-time histogram's count for the candidates' tag
    const statements = async () => (await t.app.inject({ url: '/metrics' })).body.split('\n')
      .filter((l) => l.startsWith('agent_ledger_clickhouse_query_duration_seconds_count{') && l.includes('tag="pricing.reprice-candidates"'))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    const before = await statements();
    // from mid-day: the 09:00 event of 2026-03-01 is outside, the 15:00 one and the next day's inside
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: { from: '2024-01-01T00:00:00Z', to: '2026-03-01T12:00:00Z', provider: 'sparse' } });
    expect(res.json()).toEqual({ examined: 2, repriced: 2, old_cost_usd: '2', new_cost_usd: '4', delta_usd: '2' });
    // two days with events, each read by the ceiling's dry pass and by the re-price: 4 statements, not 2 × 790 days
    expect((await statements()) - before).toBe(4);
    const rest = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: { from: '2026-03-01T12:00:00Z', to: '2026-03-03T00:00:00Z', provider: 'sparse' } });
    expect(rest.json()).toEqual({ examined: 2, repriced: 2, old_cost_usd: '2', new_cost_usd: '4', delta_usd: '2' });
  });
});

describe('price input validation', () => {
  it.each([
    [{ prices: [{ provider: 'x', item: 'y', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '-1', output_per_mtok: '1' }] }, 'prices.0.input_per_mtok'],
    [{ prices: [{ provider: 'x', item: 'y', effective_from: '2026-01-01', input_per_mtok: '1', output_per_mtok: '1' }] }, 'prices.0.effective_from'],
    [{ prices: [{ provider: 'x', item: 'y', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1' }] }, 'prices.0.input_per_mtok'],
    [{ prices: [{ item: 'y', unit: 'furlongs', effective_from: '2026-01-01T00:00:00Z', per_unit: '1' }] }, 'prices.0.unit'],
    [{ prices: [{ provider: 'x', item: "y'; DROP TABLE prices; --", effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '0.0000000000001', output_per_mtok: '1' }] }, 'prices.0.input_per_mtok'],
    [{ prices: [] }, 'prices'],
  ])('400 for %j', async (payload, parameter) => {
    const res = await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { parameter: string }) => e.parameter)).toContain(parameter);
  });

  it('treats a hostile model name as data', async () => {
    const res = await t.app.inject({ url: `/api/v1/prices?model=${encodeURIComponent("x' OR 1=1 --")}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().prices).toEqual([]);
  });
});
