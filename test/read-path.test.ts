// The read path (narrow rollups + ragged edges from raw + runs from run_facts) against answers the
// test computes itself, on runs that span hours, models and tools: every metric of every slice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dimension } from '../src/costs/dimensions.js';
import { addDecimals, buildTestApp, one, post, rows, type TestApp } from './helper.js';
import { expectedRuns, valueOf as val, type RefEvent } from './runs-reference.js';

let t: TestApp;
const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const lines = ['support', 'search', 'billing'];
const models = [['openai', 'gpt-4o'], ['anthropic', 'claude-sonnet-4'], ['openai', 'o3']];

/** 60 runs: each 3–9 events 7 minutes apart starting at :50 (so most cross an hour), two models, tool calls, one outcome. */
function makeLedger(): RefEvent[] {
  const events: RefEvent[] = [];
  for (let r = 0; r < 60; r++) {
    const start = T0 + ((r * 37) % 200) * H + 50 * 60_000 + r * 1000;
    const n = 3 + (r % 7);
    for (let i = 0; i < n; i++) {
      const last = i === n - 1;
      const tool = !last && i % 3 === 2;
      const [provider, model] = models[(r + (i % 2)) % 3]!;
      const e: RefEvent = {
        event_id: `rp-${r}-${i}`,
        timestamp: new Date(start + i * 7 * 60_000).toISOString(),
        type: last ? 'outcome' : tool ? 'tool' : 'llm',
        product_line_id: lines[r % 3],
        run_id: `run-${r}`,
        agent_id: `agent-${r % 4}`,
        agent_version: `v${1 + (r % 2)}`,
        customer_id: `cust-${r % 5}`,
        // the first event of every third run carries no segment: the run's segment comes from the next
        ...(i === 0 && r % 3 === 0 ? {} : { segment: ['enterprise', 'smb'][r % 2] }),
        intent: ['refund', 'bug', 'howto'][r % 3],
        feature: `f-${r % 2}`,
        step_name: ['plan', 'act', 'check'][i % 3],
        ...(r % 4 === 1 ? { parent_run_id: `run-${r - 1}` } : {}),
        ...(last
          ? { status: r % 5 === 0 ? 'failure' : 'success', cost_usd: '0', ...(r % 5 ? { revenue_usd: `${r}.25` } : {}) }
          : tool
            ? { tool: ['web_search', 'crm'][r % 2], usage: { quantity: '1', unit: 'calls' }, cost_usd: '0.005', status: i === 2 && r % 6 === 0 ? 'error' : 'success' }
            : { provider, model, usage: { input_tokens: 1000 + r * 10 + i, output_tokens: 100 + i, cache_read_tokens: 50 * i, reasoning_tokens: i }, cost_usd: `0.${String(1000 + r * 37 + i).padStart(4, '0')}0000007`, ...(i === 3 ? { attempt: 2 } : {}) }),
      };
      if (r % 10 === 0) e.environment = 'staging';
      events.push(e);
    }
  }
  return events;
}
const ledger = makeLedger();

/** Sums per group over events in [from, to) that pass the filters, as the API should give them. */
function expectedSums(keys: Dimension[], from: number, to: number, filters: Partial<Record<Dimension, string[]>> = {}, bucket?: (ms: number) => string) {
  const out = new Map<string, { costs: string[]; failed: string[]; events: number; input: number; output: number; cacheRead: number; reasoning: number }>();
  for (const e of ledger) {
    const ts = Date.parse(String(e.timestamp));
    if (ts < from || ts >= to) continue;
    if (!Object.entries(filters).every(([d, vs]) => vs.includes(val(e, d as Dimension)))) continue;
    const k = JSON.stringify([...keys.map((d) => val(e, d)), ...(bucket ? [bucket(ts)] : [])]);
    const g = out.get(k) ?? { costs: [], failed: [], events: 0, input: 0, output: 0, cacheRead: 0, reasoning: 0 };
    const usage = (e.usage ?? {}) as Record<string, number>;
    g.costs.push(String(e.cost_usd));
    if ((e.status ?? 'success') !== 'success') g.failed.push(String(e.cost_usd));
    g.events++;
    g.input += usage.input_tokens ?? 0;
    g.output += usage.output_tokens ?? 0;
    g.cacheRead += usage.cache_read_tokens ?? 0;
    g.reasoning += usage.reasoning_tokens ?? 0;
    out.set(k, g);
  }
  return out;
}

type Row = { group: Record<string, string>; bucket?: string; cost_usd: string; events: number; runs: number; failed_cost_usd: string; input_tokens: number; output_tokens: number; cache_read_tokens: number; reasoning_tokens: number; cost_per_run: string | null };
type Body = { rows: Row[]; totals: Row; source: string; next_cursor: string | null };
const get = async (qs: string): Promise<Body> => {
  const res = await t.app.inject({ url: `/api/v1/agent-costs?limit=10000&${qs}` });
  expect(res.statusCode, `${qs}: ${res.body}`).toBe(200);
  return res.json();
};

beforeAll(async () => {
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false });
  for (let i = 0; i < ledger.length; i += 97) expect((await post(t.app, ledger.slice(i, i + 97))).json().accepted).toBe(Math.min(97, ledger.length - i));
});
afterAll(() => t.close());

const hourBucket = (ms: number) => `${new Date(Math.floor(ms / H) * H).toISOString().slice(0, 19)}+00:00`;
const dayBucket = (ms: number) => `${new Date(Math.floor(ms / 86_400_000) * 86_400_000).toISOString().slice(0, 10)}T00:00:00+00:00`;

describe('every metric of every slice equals the answer computed from the events', () => {
  const windows: [string, number, number][] = [
    ['whole days', T0, T0 + 10 * 86_400_000],
    ['ragged, cutting through runs', T0 + 5 * H + 17 * 60_000 + 333, T0 + 150 * H + 52 * 60_000],
    ['inside one hour', T0 + H + 2 * 60_000, T0 + H + 30 * 60_000],
  ];
  const slices: { keys: Dimension[]; filters?: Partial<Record<Dimension, string[]>>; granularity?: 'hour' | 'day' }[] = [
    { keys: [] },
    { keys: ['segment'] },
    { keys: ['model'] },
    { keys: ['tool', 'agent'] },
    { keys: ['customer'], granularity: 'day' },
    { keys: ['intent', 'segment'], filters: { agent_version: ['v1'] } },
    { keys: ['model'], filters: { model: ['gpt-4o', 'o3'], product_line: ['support', 'search'] } },
    { keys: ['product_line'], granularity: 'hour' },
    { keys: ['step', 'user'] },
    { keys: ['status', 'type'], filters: { segment: ['smb'] } },
    { keys: ['agent', 'model'], filters: { tool: ['crm'] } },
  ];
  for (const [label, from, to] of windows) {
    for (const s of slices) {
      const qs = [`from=${new Date(from).toISOString()}`, `to=${new Date(to).toISOString()}`, s.keys.length ? `group_by=${s.keys.join(',')}` : '',
        s.granularity ? `granularity=${s.granularity}` : '', ...Object.entries(s.filters ?? {}).map(([d, v]) => `${d}=${v.join(',')}`)].filter(Boolean).join('&');
      it(`${label}: ${qs.replace(/from=[^&]*&to=[^&]*&?/, '') || 'totals'}`, async () => {
        const bucket = s.granularity === 'hour' ? hourBucket : s.granularity === 'day' ? dayBucket : undefined;
        const sums = expectedSums(s.keys, from, to, s.filters, bucket);
        // runs: by the start of each run; bucketed runs use the bucket of the start
        const runs = expectedRuns(ledger, s.keys, { from, to, filters: s.filters });
        const auto = await get(qs);
        const raw = await get(`${qs}&source=raw`);
        expect(auto.rows).toEqual(raw.rows);
        expect(auto.totals).toEqual(raw.totals);
        expect(auto.rows.length).toBe(s.keys.length || s.granularity ? sums.size : 1);
        if (!s.filters) expect(sums.size).toBeGreaterThan(0);
        for (const row of auto.rows) {
          const k = JSON.stringify([...s.keys.map((d) => row.group[d]), ...(bucket ? [row.bucket] : [])]);
          const g = sums.get(k) ?? { costs: [], failed: [], events: 0, input: 0, output: 0, cacheRead: 0, reasoning: 0 };
          expect(sums.has(k) || k === '[]', k).toBe(true);
          expect({ cost: row.cost_usd, failed: row.failed_cost_usd, events: row.events, input: row.input_tokens, output: row.output_tokens, cacheRead: row.cache_read_tokens, reasoning: row.reasoning_tokens })
            .toEqual({ cost: addDecimals(g.costs), failed: addDecimals(g.failed), events: g.events, input: g.input, output: g.output, cacheRead: g.cacheRead, reasoning: g.reasoning });
          if (!bucket) expect(row.runs, `runs of ${k}`).toBe(runs.groups.get(JSON.stringify(s.keys.map((d) => row.group[d]))) ?? 0);
        }
        const all = [...sums.values()];
        expect(auto.totals.cost_usd).toBe(addDecimals(all.flatMap((g) => g.costs)));
        expect(auto.totals.events).toBe(all.reduce((n, g) => n + g.events, 0));
        expect(auto.totals.runs).toBe(runs.total);
      });
    }
  }

  it('buckets runs by the bucket of their start', async () => {
    const body = await get(`from=${new Date(T0).toISOString()}&to=${new Date(T0 + 10 * 86_400_000).toISOString()}&granularity=day&group_by=segment`);
    const starts = new Map<string, number>();
    for (const e of ledger) {
      const key = `${String(e.product_line_id)}/${String(e.run_id)}`;
      starts.set(key, Math.min(starts.get(key) ?? Infinity, Date.parse(String(e.timestamp))));
    }
    const byDay = expectedRuns(ledger, ['segment']);
    expect(byDay.total).toBe(60);
    // Σ runs over day buckets = runs in the window: each run is counted once, in its start's bucket.
    expect(body.rows.reduce((n, r) => n + r.runs, 0)).toBe(60);
    for (const row of body.rows) {
      const day = Date.parse(row.bucket!);
      const expected = expectedRuns(ledger, ['segment'], { from: day, to: day + 86_400_000 }).groups.get(JSON.stringify([row.group.segment])) ?? 0;
      expect(row.runs, `${row.group.segment} ${row.bucket}`).toBe(expected);
    }
  });

  it('the seed example reads a rollup and agrees with raw events', async () => {
    const body = await get('segment=enterprise&date_range=2026-01-01,2026-01-31&agent_version=v1&group_by=intent_category');
    expect(body.source).toBe('rollup');
    const sums = expectedSums(['intent'], T0, T0 + 31 * 86_400_000, { segment: ['enterprise'], agent_version: ['v1'] });
    expect(body.rows.map((r) => [r.group.intent, r.cost_usd])).toEqual([...sums].map(([k, g]) => [JSON.parse(k)[0], addDecimals(g.costs)]).sort((a, b) => Number(b[1]) - Number(a[1])));
  });
});

describe('run_facts', () => {
  it('holds one merged row per run with exact cost, events, sets, outcome and revenue', async () => {
    const facts = await rows<Record<string, unknown>>(t.app, `SELECT product_line_id, run_id, toString(cost_usd) AS cost, events, arraySort(models) AS models, arraySort(tools) AS tools,
      segment, parent_run_id AS parent, outcome.2 AS outcome, toString(revenue_usd) AS revenue, retry_events, error_events FROM run_facts FINAL ORDER BY run_id`);
    expect(facts).toHaveLength(60);
    for (const f of facts) {
      const evs = ledger.filter((e) => e.run_id === f.run_id);
      const greatest = evs.map((e) => String(e.segment ?? '')).sort().at(-1)!;
      const outcome = evs.find((e) => e.type === 'outcome')!;
      expect(f).toMatchObject({
        product_line_id: evs[0]!.product_line_id,
        cost: addDecimals(evs.map((e) => String(e.cost_usd))),
        events: evs.length,
        models: [...new Set(evs.map((e) => String(e.model ?? '')))].sort(),
        tools: [...new Set(evs.map((e) => String(e.tool ?? '')))].sort(),
        segment: greatest,
        parent: String(evs[0]!.parent_run_id ?? ''),
        outcome: outcome.status,
        revenue: String(outcome.revenue_usd ?? '0'),
        retry_events: evs.filter((e) => e.attempt === 2).length,
        error_events: evs.filter((e) => e.status === 'error').length,
      });
    }
  });
});

describe('late events and corrections keep every table exact', () => {
  const JAN = 'date_range=2026-01-01,2026-01-31';
  async function agree(qs: string) {
    const auto = await get(`${JAN}&${qs}`);
    const raw = await get(`${JAN}&${qs}&source=raw`);
    expect(auto.source).toBe('rollup');
    expect(auto.rows).toEqual(raw.rows);
    expect(auto.totals).toEqual(raw.totals);
    return auto;
  }

  it('a late event earlier than its run moves the run start; one in a closed hour lands in its hour', async () => {
    const before = await agree('group_by=segment');
    // run-1 gets an event on Dec 31: it now started before the window and no longer counts in January.
    await post(t.app, [{ event_id: 'late-1', timestamp: '2025-12-31T23:00:00Z', type: 'tool', product_line_id: 'search', run_id: 'run-1', tool: 'crm', usage: { quantity: '1', unit: 'calls' }, cost_usd: '1' }]);
    // and a late event inside January, hours after that hour was rolled up
    await post(t.app, [{ event_id: 'late-2', timestamp: '2026-01-02T03:04:05Z', type: 'llm', product_line_id: 'support', run_id: 'run-late', segment: 'smb', provider: 'openai', model: 'gpt-4o', usage: { input_tokens: 5 }, cost_usd: '2.000000000001' }]);
    const after = await agree('group_by=segment');
    expect(after.totals.runs).toBe(before.totals.runs - 1 + 1);
    expect(after.totals.cost_usd).toBe(addDecimals([before.totals.cost_usd, '2.000000000001']));
    const smb = (b: Body) => b.rows.find((r) => r.group.segment === 'smb')!;
    // run-1 is an smb run (r odd); run-late is a new smb run
    expect(smb(after).runs).toBe(smb(before).runs);
    expect((await get('from=2025-12-31&to=2026-01-01')).totals).toMatchObject({ runs: 1, cost_usd: '1' });
  });

  it('re-pricing appends corrections that every rollup and run_facts see exactly', async () => {
    const put = await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'rp', item: 'm-1', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '3', output_per_mtok: '15' }] } });
    expect(put.statusCode).toBe(200);
    const unpriced = Array.from({ length: 6 }, (_, i) => ({ event_id: `rp-price-${i}`, timestamp: `2026-01-2${i}T10:30:00Z`, type: 'llm', product_line_id: 'billing', run_id: `rp-run-${i % 2}`, segment: 'enterprise', provider: 'rp', model: 'm-1', usage: { input_tokens: 1_000_000, output_tokens: 100_000 } }));
    expect((await post(t.app, unpriced)).json().accepted).toBe(6);
    const before = await agree('group_by=model,agent_version&product_line=billing');
    const put2 = await t.app.inject({ method: 'PUT', url: '/api/v1/prices', payload: { prices: [{ provider: 'rp', item: 'm-1', effective_from: '2026-01-01T00:00:00Z', input_per_mtok: '1', output_per_mtok: '5' }] } });
    expect(put2.statusCode).toBe(200);
    const reprice = await t.app.inject({ method: 'POST', url: '/api/v1/reprice', payload: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z', provider: 'rp' } });
    expect(reprice.statusCode, reprice.body).toBe(200);
    const after = await agree('group_by=model,agent_version&product_line=billing');
    const m1 = (b: Body) => b.rows.find((r) => r.group.model === 'm-1')!;
    // 6 × (1M × $3 + 0.1M × $15) = $27 before; 6 × (1M × $1 + 0.1M × $5) = $9 after; events unchanged
    expect(m1(before).cost_usd).toBe('27');
    expect(m1(after)).toMatchObject({ cost_usd: '9', events: 6 });
    await agree('group_by=segment,intent&granularity=day');
    await agree('group_by=customer');
    const run = await one<{ cost: string; events: string }>(t.app, "SELECT toString(cost_usd) AS cost, events FROM run_facts FINAL WHERE run_id = 'rp-run-0'");
    expect(run).toEqual({ cost: '4.5', events: 3 });
  });
});
