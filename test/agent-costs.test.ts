// GET /api/v1/agent-costs and /dimensions against a fixture whose sums the test computes itself.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dimensionNames, dimensions, type Dimension } from '../src/costs/dimensions.js';
import { addDecimals, buildTestApp, makeEvent, post, type TestApp } from './helper.js';
import { expectedRuns } from './runs-reference.js';
import { instrumentClient } from '../src/metrics.js';

const KEYS = 'admin:adm,read:rd,read:scoped:support|search,ingest:ing';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;

// Each dimension draws from a small pool; event i takes value (i * prime) % pool size, so every
// combination of a few dimensions occurs and sums differ between values.
const pools: Record<Dimension, string[]> = {
  product_line: ['support', 'search', 'billing'],
  environment: ['production', 'staging'],
  type: ['llm', 'tool'],
  status: ['success', 'error', 'timeout'],
  provider: ['openai', 'anthropic'],
  model: ['gpt-4o', 'claude-sonnet-4', 'o3'],
  tool: ['', 'web_search', 'crm'],
  agent: ['triage', 'resolver'],
  agent_version: ['v2', 'v3'],
  segment: ['enterprise', 'smb', 'mid'],
  intent: ['refund', 'billing_question', 'bug'],
  feature: ['chat', 'email'],
  customer: ['c-1', 'c-2', 'c-3', 'c-4', 'c-5'],
  user: ['u-1', 'u-2', 'u-3', 'u-4'],
  workflow: ['wf-a', 'wf-b'],
  step: ['plan', 'act', 'reflect'],
  prompt_version: ['p1', 'p2'],
};
const primes = [1, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59];
const fieldOf: Record<Dimension, string> = { ...Object.fromEntries(dimensionNames.map((d) => [d, dimensions[d].column])), agent: 'agent_id', step: 'step_name' } as Record<Dimension, string>;

type Fixture = Record<string, unknown> & { cost_usd: string };
const fixture: Fixture[] = Array.from({ length: 240 }, (_, i) => {
  const e: Record<string, unknown> = {
    event_id: `fx-${i}`,
    timestamp: new Date(Date.UTC(2026, 0, 1) + ((i * 7919) % (30 * 24)) * 3_600_000 + (i % 60) * 1000).toISOString(),
    run_id: `run-${i % 37}`,
    usage: { input_tokens: 100 + i, output_tokens: 10 + (i % 50), cache_read_tokens: i % 90 },
    cost_usd: `${i % 7}.${String((i * 104729) % 1_000_000_000_000).padStart(12, '0')}`,
  };
  dimensionNames.forEach((d, k) => {
    const pool = pools[d];
    const v = pool[(i * primes[k]!) % pool.length]!;
    if (v !== '') e[fieldOf[d]] = v;
  });
  return e as Fixture;
});
const valueOf = (e: Fixture, d: Dimension) => String(e[fieldOf[d]] ?? '');

function expectedBy(keys: Dimension[], events = fixture) {
  const groups = new Map<string, { costs: string[]; events: number }>();
  for (const e of events) {
    const k = JSON.stringify(keys.map((d) => valueOf(e, d)));
    const g = groups.get(k) ?? { costs: [], events: 0 };
    g.costs.push(e.cost_usd);
    g.events++;
    groups.set(k, g);
  }
  // Runs by the documented definition (test/runs-reference.ts); every fixture run starts in January.
  const runs = expectedRuns(events, keys).groups;
  return new Map([...groups].map(([k, g]) => [k, { cost_usd: addDecimals(g.costs), events: g.events, runs: runs.get(k) ?? 0 }]));
}

const JAN = 'date_range=2026-01-01,2026-01-31';
async function get(url: string, key = 'adm', headers: Record<string, string> = {}) {
  return t.app.inject({ url, headers: { ...as(key), ...headers } });
}
type Body = { rows: { group: Record<string, string>; bucket?: string; cost_usd: string; events: number; runs: number; cost_per_run: string | null; failed_cost_usd: string; input_tokens: number }[]; totals: { cost_usd: string; events: number; runs: number }; next_cursor: string | null; source: string };

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS });
  const res = await post(t.app, fixture, as('ing'));
  expect(res.json()).toMatchObject({ accepted: fixture.length, rejected: 0 });
});
afterAll(async () => t.close());

describe('every dimension', () => {
  it.each(dimensionNames)('groups by and filters on %s, matching sums computed from the fixture', async (d) => {
    const res = await get(`/api/v1/agent-costs?${JAN}&group_by=${d}&limit=1000`);
    expect(res.statusCode).toBe(200);
    const body: Body = res.json();
    const expected = expectedBy([d]);
    expect(body.rows).toHaveLength(expected.size);
    for (const row of body.rows) {
      expect({ cost_usd: row.cost_usd, events: row.events, runs: row.runs }).toEqual(expected.get(JSON.stringify([row.group[d]])));
    }
    expect(body.totals.cost_usd).toBe(addDecimals(fixture.map((e) => e.cost_usd)));
    expect(body.totals.events).toBe(fixture.length);
    const value = pools[d].find((v) => v !== '')!;
    const other = pools[d].filter((v) => v !== '' && v !== value).slice(0, 1);
    const filtered: Body = (await get(`/api/v1/agent-costs?${JAN}&${d}=${encodeURIComponent([value, ...other].join(','))}`)).json();
    const matching = fixture.filter((e) => [value, ...other].includes(valueOf(e, d)));
    expect(filtered.rows).toHaveLength(1);
    expect(filtered.totals).toMatchObject({ cost_usd: addDecimals(matching.map((e) => e.cost_usd)), events: matching.length });
  });
});

describe('slicing', () => {
  it('answers the seed example as written', async () => {
    const res = await get('/api/v1/agent-costs?segment=enterprise&date_range=2026-01-01,2026-01-31&agent_version=v3&group_by=intent_category');
    expect(res.statusCode).toBe(200);
    const body: Body = res.json();
    const subset = fixture.filter((e) => e.segment === 'enterprise' && e.agent_version === 'v3');
    const expected = expectedBy(['intent'], subset);
    expect(body.rows.map((r) => [r.group.intent, r.cost_usd, r.events])).toEqual(
      [...expected].map(([k, v]) => [JSON.parse(k)[0], v.cost_usd, v.events]).sort((a, b) => Number(b[1]) - Number(a[1]) || String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('groups by several keys at once, with failed cost and cost per run', async () => {
    const body: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=segment,intent,agent_version,model&limit=1000`)).json();
    const expected = expectedBy(['segment', 'intent', 'agent_version', 'model']);
    expect(body.rows).toHaveLength(expected.size);
    for (const row of body.rows) {
      const key = JSON.stringify([row.group.segment, row.group.intent, row.group.agent_version, row.group.model]);
      expect({ cost_usd: row.cost_usd, events: row.events, runs: row.runs }).toEqual(expected.get(key));
    }
    const failed = fixture.filter((e) => e.status !== 'success');
    expect((await get(`/api/v1/agent-costs?${JAN}`)).json().rows[0].failed_cost_usd).toBe(addDecimals(failed.map((e) => e.cost_usd)));
    const one: Body = (await get(`/api/v1/agent-costs?${JAN}&customer=c-5`)).json();
    const c1 = fixture.filter((e) => e.customer_id === 'c-5');
    // runs whose customer attribute (the greatest customer id of their events) is c-5
    const runs = expectedRuns(fixture, [], { filters: { customer: ['c-5'] } }).total;
    expect(runs).toBeGreaterThan(0);
    expect(one.rows[0]!.runs).toBe(runs);
    expect(one.rows[0]!.input_tokens).toBe(c1.reduce((n, e) => n + (e.usage as { input_tokens: number }).input_tokens, 0));
    // cost_per_run is cost / runs truncated at 12 decimals: check it against BigInt arithmetic.
    const scaled = BigInt(addDecimals(c1.map((e) => e.cost_usd)).replace('.', '').padEnd(1, '0')) * 10n ** BigInt(12 - (addDecimals(c1.map((e) => e.cost_usd)).split('.')[1]?.length ?? 0));
    const perRun = scaled / BigInt(runs);
    expect(one.rows[0]!.cost_per_run).toBe(addDecimals([`${perRun / 10n ** 12n}.${String(perRun % 10n ** 12n).padStart(12, '0')}`]));
  });

  it('sorts by cost, events or a key, with deterministic ties', async () => {
    const byCost: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=customer`)).json();
    const costs = byCost.rows.map((r) => Number(r.cost_usd));
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    const byKey: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=customer&sort=customer`)).json();
    expect(byKey.rows.map((r) => r.group.customer)).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
    const byEventsAsc: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=step&sort=events&order=asc`)).json();
    const events = byEventsAsc.rows.map((r) => r.events);
    expect(events).toEqual([...events].sort((a, b) => a - b));
    expect((await get(`/api/v1/agent-costs?${JAN}&group_by=customer&sort=segment`)).json()).toMatchObject({ status: 400, errors: [{ parameter: 'sort' }] });
  });
});

describe('time buckets and zones', () => {
  const at = (iso: string, cost: string) => makeEvent({ product_line_id: 'tz-edges', timestamp: iso, cost_usd: cost });
  beforeAll(async () => {
    const res = await post(t.app, [
      at('2026-02-01T03:00:00Z', '1'), // Jan 31 22:00 in New York, Feb 1 in UTC
      at('2026-01-04T16:00:00Z', '2'), // Monday Jan 5 01:00 in Tokyo, Sunday Jan 4 in UTC
      at('2026-03-29T00:30:00Z', '4'), // 01:30 CET, before Berlin springs forward
      at('2026-03-29T01:30:00Z', '8'), // 03:30 CEST, after
      at('2026-03-29T21:30:00Z', '16'), // Mar 29 23:30 CEST
      at('2026-03-29T22:30:00Z', '32'), // Mar 30 00:30 CEST
    ], as('ing'));
    expect(res.json().accepted).toBe(6);
  });
  const buckets = async (qs: string) => {
    const body: Body = (await get(`/api/v1/agent-costs?product_line=tz-edges&${qs}&sort=bucket&limit=100`)).json();
    return body.rows.map((r) => [r.bucket, r.cost_usd]);
  };

  it('puts month edges where the zone says', async () => {
    expect(await buckets('from=2026-01-01&to=2026-03-01&granularity=month&tz=America/New_York')).toEqual([['2026-01-01T00:00:00-05:00', '3']]);
    expect(await buckets('from=2026-01-01&to=2026-03-01&granularity=month')).toEqual([['2026-01-01T00:00:00+00:00', '2'], ['2026-02-01T00:00:00+00:00', '1']]);
  });

  it('starts weeks on Monday in the zone', async () => {
    expect(await buckets('from=2026-01-01&to=2026-01-10&granularity=week&tz=Asia/Tokyo')).toEqual([['2026-01-05T00:00:00+09:00', '2']]);
    expect(await buckets('from=2026-01-01&to=2026-01-10&granularity=week')).toEqual([['2025-12-29T00:00:00+00:00', '2']]);
  });

  it('handles the DST change: hours keep their offsets, days follow local midnight', async () => {
    expect(await buckets('from=2026-03-29&to=2026-03-31&granularity=hour&tz=Europe/Berlin')).toEqual([
      ['2026-03-29T01:00:00+01:00', '4'], ['2026-03-29T03:00:00+02:00', '8'], ['2026-03-29T23:00:00+02:00', '16'], ['2026-03-30T00:00:00+02:00', '32'],
    ]);
    expect(await buckets('date_range=2026-03-29,2026-03-30&granularity=day&tz=Europe/Berlin')).toEqual([
      ['2026-03-29T00:00:00+01:00', '28'], ['2026-03-30T00:00:00+02:00', '32'],
    ]);
    // date_range days are local: Mar 29 in Berlin is 23 hours long and starts at 23:00 UTC the day before.
    const day: Body & { from: string; to: string } = (await get('/api/v1/agent-costs?product_line=tz-edges&date_range=2026-03-29,2026-03-29&tz=Europe/Berlin')).json();
    expect([day.from, day.to, day.totals.cost_usd]).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '28']);
  });

  it('reads a wall-clock time a DST change skips forward, and one it repeats as the earlier instant', async () => {
    const window = async (qs: string) => { const b = (await get(`/api/v1/agent-costs?product_line=tz-edges&${qs}`)).json(); return [b.from, b.to]; };
    // New York springs forward at 02:00 EST on 2026-03-08: 02:30 does not exist, and is 03:30 EDT
    expect(await window('from=2026-03-08T01:59&to=2026-03-08T02:30&tz=America/New_York')).toEqual(['2026-03-08T06:59:00.000Z', '2026-03-08T07:30:00.000Z']);
    // Berlin falls back at 03:00 CEST on 2026-10-25: 02:30 happens twice, the first time at 00:30 UTC
    expect(await window('from=2026-10-25T02:30&to=2026-10-25T04:00&tz=Europe/Berlin')).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T03:00:00.000Z']);
    // and New York's repeated 01:30 on 2026-11-01 is 01:30 EDT
    expect(await window('from=2026-11-01T01:30&to=2026-11-01T03:00&tz=America/New_York')).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T08:00:00.000Z']);
  });

  it('treats from/to as half-open and reads offsets when given', async () => {
    const total = async (qs: string) => ((await get(`/api/v1/agent-costs?product_line=tz-edges&${qs}`)).json() as Body).totals.cost_usd;
    expect(await total('from=2026-03-29T00:30:00Z&to=2026-03-29T01:30:00Z')).toBe('4');
    expect(await total('from=2026-03-29T00:30:00.001Z&to=2026-03-29T01:30:00.001Z')).toBe('8');
    expect(await total('from=2026-03-29T02:30:00%2B01:00&to=2026-03-29T04:30:00%2B02:00')).toBe('8');
  });
});

describe('pagination', () => {
  it('walks every row exactly once while events keep arriving, with stable totals', async () => {
    const fx = 'product_line=support,search,billing';
    const first = (await get(`/api/v1/agent-costs?${JAN}&${fx}&group_by=customer,step,model&limit=7`)).json() as Body;
    const expected = expectedBy(['customer', 'step', 'model']);
    const seen = new Map<string, string>();
    let page = first;
    let n = 0;
    for (;;) {
      for (const r of page.rows) {
        const k = JSON.stringify([r.group.customer, r.group.step, r.group.model]);
        expect(seen.has(k)).toBe(false);
        seen.set(k, r.cost_usd);
      }
      expect(page.totals).toEqual(first.totals);
      // New, expensive events for existing and new groups land between page requests.
      await post(t.app, [makeEvent({ product_line_id: 'support', timestamp: `2026-01-10T0${n % 10}:00:00Z`, customer_id: n % 2 ? 'c-1' : `late-${n}`, step_name: 'plan', model: 'gpt-4o', cost_usd: '99' })], as('ing'));
      n++;
      if (!page.next_cursor) break;
      expect(page.source).toBe('raw');
      page = (await get(`/api/v1/agent-costs?${JAN}&${fx}&group_by=customer,step,model&limit=7&cursor=${page.next_cursor}`)).json();
    }
    expect(n).toBe(Math.ceil(expected.size / 7));
    expect(seen.size).toBe(expected.size);
    for (const [k, cost] of seen) expect(cost).toBe(expected.get(k)!.cost_usd);
    expect(addDecimals([...seen.values()])).toBe(first.totals.cost_usd);
    // A fresh query sees the late events.
    const now: Body = (await get(`/api/v1/agent-costs?${JAN}&customer=c-1`)).json();
    expect(Number(now.totals.cost_usd)).toBeGreaterThan(Number(expectedBy(['customer']).get('["c-1"]')!.cost_usd));
  });

  it('walks a forced rollup exactly while nothing arrives, and refuses its next page (409 rollup_changed) once something did', async () => {
    const url = `/api/v1/agent-costs?${JAN}&product_line=search,billing&group_by=customer&limit=2&source=rollup`;
    const first: Body = (await get(url)).json();
    const rows = [...first.rows];
    let page = first;
    while (page.next_cursor) {
      page = (await get(`${url}&cursor=${page.next_cursor}`)).json();
      expect(page.source).toBe('rollup');
      rows.push(...page.rows);
    }
    expect(new Set(rows.map((r) => r.group.customer)).size).toBe(rows.length);
    expect(addDecimals(rows.map((r) => r.cost_usd))).toBe(first.totals.cost_usd);
    // another walk (limit 3: not answered from the cache, whose pages are the first walk's)
    const url3 = url.replace('limit=2', 'limit=3');
    const again: Body = (await get(url3)).json();
    // (an event of another product line: the walk cannot tell what changed in a rollup, only that something did)
    await post(t.app, [makeEvent({ product_line_id: 'support', timestamp: '2026-01-12T10:00:00Z', customer_id: 'c-5', cost_usd: '1000' })], as('ing'));
    const moved = await get(`${url3}&cursor=${again.next_cursor}`);
    expect(moved.statusCode, moved.body).toBe(409);
    expect(moved.json().reason).toBe('rollup_changed');
    // the same walk with source=auto is pinned to its first page and carries on
    const auto = (await get(url3.replace('source=rollup', 'source=auto'))).json() as Body;
    await post(t.app, [makeEvent({ product_line_id: 'support', timestamp: '2026-01-12T10:00:00Z', customer_id: 'c-5', cost_usd: '1000' })], as('ing'));
    expect((await get(`${url3.replace('source=rollup', 'source=auto')}&cursor=${auto.next_cursor}`)).statusCode).toBe(200);
  });

  it('starts on the rollup and continues on the raw ledger at the same snapshot', async () => {
    // search and billing only: the test above added late support events.
    const url = `/api/v1/agent-costs?${JAN}&product_line=search,billing&group_by=model&granularity=day&limit=9`;
    const first: Body = (await get(url)).json();
    expect(first.source).toBe('rollup');
    const rows = [...first.rows];
    let page = first;
    while (page.next_cursor) {
      await post(t.app, [makeEvent({ product_line_id: 'billing', timestamp: '2026-01-03T05:00:00Z', model: 'o3', cost_usd: '50' })], as('ing'));
      page = (await get(`${url}&cursor=${page.next_cursor}`)).json();
      expect(page.source).toBe('raw');
      expect(page.totals).toEqual(first.totals);
      rows.push(...page.rows);
    }
    const keys = rows.map((r) => `${r.group.model}|${r.bucket}`);
    expect(new Set(keys).size).toBe(rows.length);
    const expected = new Map<string, string[]>();
    for (const e of fixture.filter((x) => x.product_line_id !== 'support')) {
      const k = `${valueOf(e, 'model')}|${String(e.timestamp).slice(0, 10)}T00:00:00+00:00`;
      expected.set(k, [...(expected.get(k) ?? []), e.cost_usd]);
    }
    expect(rows.length).toBe(expected.size);
    for (const r of rows) expect(r.cost_usd).toBe(addDecimals(expected.get(`${r.group.model}|${r.bucket}`)!));
    expect(addDecimals(rows.map((r) => r.cost_usd))).toBe(first.totals.cost_usd);
  });

  it('refuses a cursor with other parameters, a forged cursor and a foreign one', async () => {
    const page: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=customer&limit=2`)).json();
    expect(page.next_cursor).toBeTruthy();
    const other = await get(`/api/v1/agent-costs?${JAN}&group_by=customer&limit=2&segment=smb&cursor=${page.next_cursor}`);
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({ reason: 'cursor_mismatch' });
    expect((await get(`/api/v1/agent-costs?${JAN}&group_by=customer&limit=3&cursor=${page.next_cursor}`)).json().reason).toBe('cursor_mismatch');
    expect((await get(`/api/v1/agent-costs?${JAN}&group_by=customer&limit=2&cursor=${page.next_cursor}`, 'scoped')).json().reason).toBe('cursor_mismatch');
    expect((await get(`/api/v1/agent-costs?${JAN}&group_by=customer&limit=2&cursor=AAAA`)).json().reason).toBe('invalid_cursor');
  });

  it('refuses a cursor edited to reach a window or snapshot the parameters cannot (no 500, no 3-year bypass)', async () => {
    const edit = (cursor: string, change: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(cursor, 'base64url').toString()), ...change })).toString('base64url');
    const JAN_FROM = Date.UTC(2026, 0, 1);
    const JAN_TO = Date.UTC(2026, 1, 1);
    for (const base of [`/api/v1/agent-costs?${JAN}&group_by=customer&limit=2`, `/api/v1/agent-costs/dimensions/customer?${JAN}&limit=2`]) {
      const page = (await get(base)).json() as { next_cursor: string };
      expect(page.next_cursor).toBeTruthy();
      expect((await get(`${base}&cursor=${page.next_cursor}`)).statusCode).toBe(200);
      for (const change of [{ t: 1e16 }, { t: 8.6e15 }, { f: 0, t: 4102444800000 }, { f: JAN_TO, t: JAN_FROM }, { f: JAN_FROM - 86_400_000 }, { t: JAN_TO + 1 }, { s: 1e16 }, { s: Date.now() + 86_400_000 }, { s: -5 }, { s: 1.5 }]) {
        const res = await get(`${base}&cursor=${edit(page.next_cursor, change)}`);
        expect(res.statusCode, JSON.stringify(change)).toBe(400);
        expect(res.json().reason, JSON.stringify(change)).toBe('invalid_cursor');
      }
    }
    // a window relative to now: the cursor pins where the first page resolved it; it may not move later
    const relative = '/api/v1/agent-costs?group_by=customer&limit=1';
    await post(t.app, [makeEvent({ product_line_id: 'search', customer_id: 'recent-1', timestamp: new Date(Date.now() - 3_600_000).toISOString() }), makeEvent({ product_line_id: 'search', customer_id: 'recent-2', timestamp: new Date(Date.now() - 7_200_000).toISOString() })], as('ing'));
    const first = (await get(relative)).json() as Body & { from: string; to: string };
    expect(first.rows).toHaveLength(1);
    const second = (await get(`${relative}&cursor=${first.next_cursor}`)).json() as Body & { from: string; to: string };
    expect([first.rows[0]!.group.customer, second.rows[0]!.group.customer].sort()).toEqual(['recent-1', 'recent-2']);
    expect([second.from, second.to]).toEqual([first.from, first.to]);
    const later = Date.parse(first.to) + 86_400_000;
    expect((await get(`${relative}&cursor=${edit(first.next_cursor!, { f: later - 30 * 86_400_000, t: later })}`)).json().reason).toBe('invalid_cursor');
    expect((await get(`${relative}&cursor=${edit(first.next_cursor!, { f: Date.parse(first.from) - 86_400_000 })}`)).json().reason).toBe('invalid_cursor');
  });

  it('serves the next page of a from-only window after "now" has moved on (the cursor pins the end it resolved)', async () => {
    const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
    await post(t.app, [makeEvent({ product_line_id: 'search', customer_id: 'open-1', timestamp: new Date(Date.now() - 5 * 3_600_000).toISOString() }), makeEvent({ product_line_id: 'search', customer_id: 'open-2', timestamp: new Date(Date.now() - 6 * 3_600_000).toISOString() })], as('ing'));
    for (const base of [`/api/v1/agent-costs?from=${from}&group_by=customer&limit=1`, `/api/v1/agent-costs/dimensions/customer?from=${from}&limit=1`]) {
      const first = (await get(base)).json() as Body & { from: string; to: string; next_cursor: string };
      expect(first.next_cursor).toBeTruthy();
      // the next page is asked for two minutes later: this request alone would resolve a later end
      const realNow = Date.now;
      const later = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 120_000);
      try {
        const res = await get(`${base}&cursor=${first.next_cursor}`);
        expect(res.statusCode, res.body).toBe(200);
        expect([res.json().from, res.json().to]).toEqual([first.from, first.to]);
        const firstOf = (b: { rows?: { group: Record<string, string> }[]; values?: { value: string }[] }) => b.rows?.[0]?.group.customer ?? b.values?.[0]?.value;
        expect(firstOf(res.json())).toBeTruthy();
        expect(firstOf(res.json())).not.toBe(firstOf(first as never));
        // a given end stays part of the identity: another `from` is another request
        expect((await get(`${base.replace(from, new Date(Date.parse(from) - 60_000).toISOString())}&cursor=${first.next_cursor}`)).json().reason).toBe('cursor_mismatch');
      } finally {
        later.mockRestore();
      }
    }
  });

  it('answers CSV only when the Accept header prefers it (q-values)', async () => {
    const { prefersCsv } = await import('../src/accept.js');
    const cases: [string | undefined, boolean][] = [
      [undefined, false], ['*/*', false], ['application/json', false], ['text/csv', true], ['text/csv, application/json', true],
      ['application/json, text/csv', false], ['text/csv;q=0, application/json', false], ['text/csv;q=0', false],
      ['application/json;q=0.5, text/csv', true], ['text/csv;q=0.4, */*;q=0.5', false], ['TEXT/CSV', true], ['text/csv;q=abc', false],
    ];
    for (const [accept, csv] of cases) expect(prefersCsv(accept), String(accept)).toBe(csv);
    const refused = await get(`/api/v1/agent-costs?${JAN}&group_by=segment`, 'adm', { accept: 'text/csv;q=0, application/json' });
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    const preferred = await get(`/api/v1/agent-costs?${JAN}&group_by=segment`, 'adm', { accept: 'application/json;q=0.5, text/csv' });
    expect(preferred.headers['content-type']).toMatch(/^text\/csv/);
  });

  it('pages CSV with Link and X-Next-Cursor, same rows as JSON', async () => {
    const json: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=customer,user&limit=4`)).json();
    const csv = await get(`/api/v1/agent-costs?${JAN}&group_by=customer,user&limit=4`, 'adm', { accept: 'text/csv' });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('customer,user,cost_usd,events,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,runs,failed_cost_usd,cost_per_run');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 4))).toEqual(json.rows.map((r) => [r.group.customer, r.group.user, r.cost_usd, String(r.events)]));
    expect(lines).toHaveLength(5);
    expect(csv.headers['x-next-cursor']).toBeTruthy();
    expect(csv.headers.link).toMatch(/^<\/api\/v1\/agent-costs\?.*cursor=.*>; rel="next"$/);
  });
});

describe('rollup', () => {
  it.each([
    'group_by=segment,intent&granularity=day&tz=Europe/Berlin',
    'group_by=model,provider,status',
    'group_by=agent,agent_version&granularity=week&environment=production',
    'group_by=tool,agent&granularity=hour&type=llm,tool',
    'group_by=feature,intent&segment=smb,mid',
    'group_by=customer,segment&granularity=day',
    // ragged windows: whole hours from the rollup, the edges from raw events
    'group_by=model&from=2026-01-03T10:17:00Z&to=2026-01-19T08:45:30.5Z',
    'group_by=segment&from=2026-01-30T23:00:00.5Z&to=2026-01-30T23:00:02Z',
    'group_by=customer&granularity=day&from=2026-01-02T23:30:00Z&to=2026-01-09T00:00:01Z',
    '',
  ])('gives the same answer as the raw table for %s', async (qs) => {
    const window = qs.includes('from=') ? '' : `${JAN}&`;
    const raw = await get(`/api/v1/agent-costs?${window}limit=10000&source=raw&${qs}`);
    const rollup = await get(`/api/v1/agent-costs?${window}limit=10000&source=rollup&${qs}`);
    const auto = await get(`/api/v1/agent-costs?${window}limit=10000&${qs}`);
    expect([raw.statusCode, rollup.statusCode]).toEqual([200, 200]);
    const [a, b] = [raw.json() as Body, rollup.json() as Body];
    expect([a.source, b.source, auto.json().source]).toEqual(['raw', 'rollup', 'rollup']);
    expect(b.rows.length).toBeGreaterThan(0);
    expect(b.rows).toEqual(a.rows);
    expect(b.totals).toEqual(a.totals);
  });

  it('is not used when it cannot answer exactly', async () => {
    for (const qs of ['group_by=user', 'workflow=wf-a', 'group_by=feature,tool', 'group_by=customer,model', 'group_by=step', 'tz=Asia/Kolkata&granularity=day']) {
      const res = await get(`/api/v1/agent-costs?${qs.startsWith('from') ? '' : `${JAN}&`}${qs}&source=rollup`);
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().errors[0].parameter).toBe('source');
      expect((await get(`/api/v1/agent-costs?${qs.startsWith('from') ? '' : `${JAN}&`}${qs}`)).json().source).toBe('raw');
    }
  });
});

describe('round trips', () => {
  it('answers an uncached first page (rollup or raw) with one statement, the snapshot taken inside it when other processes apply', async () => {
    const tags: string[] = [];
    const stop = instrumentClient(t.app.engine.client, (kind, tag) => { if (kind === 'query') tags.push(tag); });
    const ingestor = t.app.ingestor as unknown as { watermark: () => Promise<number> };
    const original = ingestor.watermark;
    let asked = 0;
    // only the read's own asks: the shared-state sync asks in the background on its own timer
    ingestor.watermark = () => { if (new Error().stack?.includes('costs/service')) asked++; return original.call(t.app.ingestor); };
    try {
      for (const [qs, source] of [[`${JAN}&group_by=model&limit=1000`, 'rollup'], [`${JAN}&group_by=user&limit=1000`, 'raw']] as const) {
        tags.length = 0;
        asked = 0;
        // a URL no earlier test asked for: the cache misses
        const res = await get(`/api/v1/agent-costs?${qs}&order=asc`);
        expect([res.statusCode, res.headers['x-cache'], (res.json() as Body).source]).toEqual([200, 'miss', source]);
        expect((res.json() as Body).totals.events).toBeGreaterThanOrEqual(fixture.length);
        expect(tags.filter((tag) => tag === 'costs.agent-costs')).toHaveLength(1);
        // embedded: this process's applier knows the watermark without a query; server: the statement takes it
        expect(asked).toBe(t.app.engine.mode === 'server' ? 0 : 1);
      }
    } finally {
      ingestor.watermark = original;
      stop();
    }
  });
});

describe('cache', () => {
  it('misses, hits, answers 304 to a matching If-None-Match, and drops entries an insert touches', async () => {
    const url = `/api/v1/agent-costs?from=2026-01-20&to=2026-01-21&group_by=segment`;
    const a = await get(url);
    const b = await get(url);
    expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['miss', 'hit']);
    expect(b.body).toBe(a.body);
    const etag = a.headers.etag as string;
    const c = await get(url, 'adm', { 'if-none-match': etag });
    expect(c.statusCode).toBe(304);
    expect(c.body).toBe('');
    const before: Body = a.json();
    await post(t.app, [makeEvent({ product_line_id: 'support', timestamp: '2026-01-20T10:00:00Z', segment: 'smb', cost_usd: '0.5' })], as('ing'));
    const d = await get(url, 'adm', { 'if-none-match': etag });
    expect([d.statusCode, d.headers['x-cache']]).toEqual([200, 'miss']);
    expect(d.json().totals.cost_usd).toBe(addDecimals([before.totals.cost_usd, '0.5']));
    // An insert outside the window, of no run, leaves the entry alone.
    await post(t.app, [makeEvent({ product_line_id: 'support', timestamp: '2026-01-25T10:00:00Z', cost_usd: '1', run_id: undefined })], as('ing'));
    expect((await get(url)).headers['x-cache']).toBe('hit');
  });

  it('drops answers with runs when an event outside their window moves a run out of it; values without runs stay', async () => {
    const url = '/api/v1/agent-costs?date_range=2026-02-09,2026-02-09&product_line=billing';
    const values = '/api/v1/agent-costs/dimensions/customer?date_range=2026-02-09,2026-02-09&product_line=billing';
    await post(t.app, [0, 1].map((i) => makeEvent({ product_line_id: 'billing', run_id: `moving-${i}`, customer_id: 'mover', timestamp: '2026-02-09T13:03:00Z', cost_usd: '1' })), as('ing'));
    const before = await get(url);
    expect(before.json().totals).toMatchObject({ runs: 2, cost_usd: '2', cost_per_run: '1' });
    expect((await get(values)).headers['x-cache']).toBe('miss');
    expect([(await get(url)).headers['x-cache'], (await get(values)).headers['x-cache']]).toEqual(['hit', 'hit']);
    // run moving-0 gets an earlier event the day before: it now starts on 2026-02-08, outside the window
    await post(t.app, [makeEvent({ product_line_id: 'billing', run_id: 'moving-0', customer_id: 'mover', timestamp: '2026-02-08T09:00:00Z', cost_usd: '5' })], as('ing'));
    const after = await get(url);
    expect(after.headers['x-cache']).toBe('miss');
    expect(after.json().totals).toMatchObject({ runs: 1, cost_usd: '2', cost_per_run: '2' });
    // the window's sums and values did not change, and the answer without runs was kept
    expect((await get(values)).headers['x-cache']).toBe('hit');
  });

  it('serves writes it did not see (another process) for at most the TTL', async () => {
    const { buildApp } = await import('../src/app.js');
    const { configWith } = await import('../src/config.js');
    const short = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', API_KEYS: KEYS, MIGRATE_ON_START: false, CACHE_TTL_MS: 1500, CACHE_CLOSED_TTL_MS: 1500 }), { engine: t.app.engine });
    try {
      const url = '/api/v1/agent-costs?from=2026-01-22&to=2026-01-23';
      const first = await short.inject({ url, headers: as('adm') });
      // The other app's ingestion is invisible to this app's cache, like another API process.
      await post(t.app, [makeEvent({ product_line_id: 'support', timestamp: '2026-01-22T10:00:00Z', cost_usd: '2' })], as('ing'));
      const cachedAgain = await short.inject({ url, headers: as('adm') });
      expect([cachedAgain.headers['x-cache'], cachedAgain.body]).toEqual(['hit', first.body]);
      await new Promise((r) => setTimeout(r, 1600));
      const fresh = await short.inject({ url, headers: as('adm') });
      expect(fresh.headers['x-cache']).toBe('miss');
      expect(fresh.json().totals.cost_usd).toBe(addDecimals([first.json().totals.cost_usd, '2']));
    } finally {
      await short.close();
    }
  });
});

describe('scoped read keys', () => {
  const scopedLines = ['search', 'support'];
  it('see only their product lines in rows, totals, CSV and dimension values', async () => {
    const scoped: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=product_line&limit=1000`, 'scoped')).json();
    const all: Body = (await get(`/api/v1/agent-costs?${JAN}&group_by=product_line&limit=1000`, 'rd')).json();
    expect(scoped.rows.map((r) => r.group.product_line).sort()).toEqual(scopedLines);
    expect(all.rows.map((r) => r.group.product_line)).toContain('billing');
    const visible = all.rows.filter((r) => scopedLines.includes(r.group.product_line!));
    expect(scoped.totals.cost_usd).toBe(addDecimals(visible.map((r) => r.cost_usd)));
    expect(scoped.totals.cost_usd).not.toBe(all.totals.cost_usd);
    const csv = await get(`/api/v1/agent-costs?${JAN}&group_by=product_line`, 'scoped', { accept: 'text/csv' });
    expect(csv.body).not.toContain('billing');
    const values = (await get(`/api/v1/agent-costs/dimensions/product_line?${JAN}`, 'scoped')).json();
    expect(values.values.map((v: { value: string }) => v.value).sort()).toEqual(scopedLines);
  });

  it('get an empty answer, not an error, for another product line, and never share cache entries', async () => {
    const res = await get(`/api/v1/agent-costs?${JAN}&product_line=billing`, 'scoped');
    expect(res.statusCode).toBe(200);
    expect(res.json().totals).toMatchObject({ cost_usd: '0', events: 0 });
    const mixed: Body = (await get(`/api/v1/agent-costs?${JAN}&product_line=billing,support&group_by=product_line`, 'scoped')).json();
    expect(mixed.rows.map((r) => r.group.product_line)).toEqual(['support']);
    const url = `/api/v1/agent-costs?${JAN}&group_by=segment`;
    const admin = await get(url, 'adm');
    const scoped = await get(url, 'scoped');
    expect(scoped.headers['x-cache']).toBe('miss');
    expect(scoped.json().totals.cost_usd).not.toBe(admin.json().totals.cost_usd);
  });

  it('cannot use the ingest or quarantine routes, and ingest keys cannot read', async () => {
    expect((await post(t.app, [makeEvent()], as('scoped'))).statusCode).toBe(403);
    expect((await get(`/api/v1/agent-costs?${JAN}`, 'ing')).statusCode).toBe(403);
    expect((await t.app.inject({ url: `/api/v1/agent-costs?${JAN}` })).statusCode).toBe(401);
  });
});

describe('dimension values', () => {
  it('lists values with their cost, paginated', async () => {
    const all = (await get(`/api/v1/agent-costs/dimensions/customer?${JAN}&product_line=support,search,billing&limit=1000`)).json();
    const fromFixture = expectedBy(['customer']);
    const walked: { value: string; cost_usd: string }[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/agent-costs/dimensions/customer?${JAN}&product_line=support,search,billing&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page: { values: { value: string; cost_usd: string }[]; next_cursor: string | null } = (await get(url)).json();
      walked.push(...page.values);
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(all.values);
    expect(walked.length).toBeGreaterThanOrEqual(fromFixture.size);
    const costs = walked.map((v) => Number(v.cost_usd));
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    for (const c of pools.customer) expect(walked.find((v) => v.value === c)).toBeTruthy();
    expect((await get(`/api/v1/agent-costs/dimensions/intent_category?${JAN}`)).json().dimension).toBe('intent');
  });
});

describe('bad input', () => {
  const cases: [string, string][] = [
    ['group_by=segment,intent,model,tool,agent', 'group_by'],
    ['group_by=segment;DROP TABLE cost_events', 'group_by'],
    ["group_by=segment'", 'group_by'],
    ['group_by=segment,segment', 'group_by'],
    ['group_by=cost_usd', 'group_by'],
    ['from=2026-02-01&to=2026-01-01', 'from'],
    ['from=2026-01-01&to=2026-01-01', 'from'],
    ['from=yesterday', 'from'],
    ['from=2026-02-30', 'from'],
    ["to=2026-01-01'; SELECT 1", 'to'],
    ['date_range=2026-01-01', 'date_range'],
    ['date_range=2026-01-31,2026-01-01', 'date_range'],
    ['date_range=2026-01-01,2026-01-31&from=2026-01-01', 'date_range'],
    ['date_range=2020-01-01,2026-01-31', 'date_range'],
    ['limit=0', 'limit'],
    ['limit=10001', 'limit'],
    ['limit=1e3x', 'limit'],
    ['granularity=minute', 'granularity'],
    ['granularity=day&tz=Mars/Olympus', 'tz'],
    ["tz=UTC'))--", 'tz'],
    ['sort=sum(cost_usd)', 'sort'],
    ['order=sideways', 'order'],
    ['segmnt=enterprise', ''],
    ['segment=a&customer_segment=b', 'customer_segment'],
    [`segment=${'x'.repeat(300)}`, 'segment'],
    ['source=magic', 'source'],
    // years 0–99 were read as 1900–1999; years past the engine's range failed the statement (500)
    ['from=0026-03-01&to=0026-03-31', 'from'],
    ['from=2026-03-01&to=2201-01-01', 'to'],
    ['date_range=9999-12-01,9999-12-31', 'date_range'],
    ['from=2026-01-01T10:00%2B05:99', 'from'],
    ['from=2026-01-01T10:00%2B24:00', 'from'],
  ];
  it.each(cases)('400 for %s naming %s', async (qs, parameter) => {
    const res = await get(`/api/v1/agent-costs?${qs.includes('date_range') || qs.includes('from') || qs.includes('to=') ? '' : `${JAN}&`}${qs}`);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body.reason).toBe('invalid_request');
    if (parameter) expect(body.errors.map((e: { parameter: string }) => e.parameter)).toContain(parameter);
    else expect(body.detail).toMatch(/segmnt/);
  });

  it('refuses years the engine cannot hold on every windowed route (was a 500 for year 10000)', async () => {
    const routes = ['/api/v1/agent-costs', '/api/v1/agent-costs/dimensions/model', '/api/v1/insights/unit-economics', '/api/v1/insights/cost-per-task', '/api/v1/insights/customers', '/api/v1/insights/agents', '/api/v1/insights/agents/heatmap', '/api/v1/insights/money-flow', '/api/v1/insights/agents-vs-humans'];
    for (const route of routes) {
      const res = await get(`${route}?date_range=9999-12-01,9999-12-31`);
      expect(res.statusCode, `${route}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter: 'date_range' }] });
    }
    for (const month of ['9999-12', '2201-01']) {
      const res = await get(`/api/v1/insights/invoices?month=${month}`);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter: 'month' }] });
    }
    expect((await get('/api/v1/insights/invoices?month=2200-12')).statusCode).toBe(200);
  });

  it('reads a time zone in any case and by its other names, answering with the name the engine knows (no 500)', async () => {
    for (const [tz, canonical] of [['utc', 'UTC'], ['america/new_york', 'America/New_York'], ['Asia/Kolkata', 'Asia/Kolkata'], ['US/Pacific-New', 'America/Los_Angeles']]) {
      const res = await get(`/api/v1/agent-costs?from=2026-01-01&to=2026-01-03&granularity=day&tz=${encodeURIComponent(tz!)}`);
      expect(res.statusCode, `${tz}: ${res.body}`).toBe(200);
      expect(res.json().tz).toBe(canonical);
      const exact = (await get(`/api/v1/agent-costs?from=2026-01-01&to=2026-01-03&granularity=day&tz=${canonical}`)).json();
      expect(res.json().rows).toEqual(exact.rows);
    }
  });

  const hostile = ["' OR 1=1 --", "x' UNION SELECT name FROM system.tables --", '\\', '%00', '{f_segment:Array(String)}', ')) OR ((1=1', '😀'];
  it.each(dimensionNames)('hostile values in the %s filter match nothing and never fail', async (d) => {
    for (const v of hostile) {
      const res = await get(`/api/v1/agent-costs?${JAN}&${d}=${encodeURIComponent(v)}&group_by=${d}`);
      expect(res.statusCode, `${d}=${v}`).toBe(200);
      expect(res.json().rows).toEqual([]);
      expect(res.json().totals).toMatchObject({ cost_usd: '0', events: 0 });
    }
  });

  it('refuses unknown and hostile dimension names on the dimensions route', async () => {
    for (const d of ['nope', "segment'--", 'cost_usd', 'product_line_id;DROP']) {
      const res = await get(`/api/v1/agent-costs/dimensions/${encodeURIComponent(d)}?${JAN}`);
      expect(res.statusCode, d).toBe(400);
      expect(res.json().errors[0].parameter).toBe('dimension');
    }
  });
});
