import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimals, buildTestApp, makeEvent, one, post, rows, type TestApp } from './helper.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

const ledger = (pl: string) =>
  one<{ events: number; cost: string; ids: number }>(t.app, 'SELECT count() AS events, toString(sum(cost_usd)) AS cost, uniqExact(event_id) AS ids FROM cost_events WHERE product_line_id = {pl:String}', { pl });

describe('POST /api/v1/events receipts', () => {
  it('accepts a clean batch with 200 and stores every field', async () => {
    const events = [
      makeEvent({ product_line_id: 'clean', cost_usd: '0.000000000001', segment: 'enterprise', intent_category: 'refund', customer_segment: undefined }),
      makeEvent({ product_line_id: 'clean', cost_usd: 12.5, attributes: { region: 'eu' }, usage: { input_tokens: 500, output_tokens: 50, cache_read_tokens: 400, cache_write_tokens: 100, reasoning_tokens: 10 } }),
      makeEvent({ product_line_id: 'clean', type: 'compute', model: undefined, provider: 'aws', cost_usd: '3.333333333333', usage: { quantity: '1.5', unit: 'gpu_hours' } }),
    ];
    const res = await post(t.app, { events });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 3, duplicates: 0, quarantined: 0, rejected: 0, results: [] });
    expect(await ledger('clean')).toEqual({ events: 3, cost: '15.833333333334', ids: 3 });
    const stored = await one(t.app, 'SELECT intent, segment, cache_read_tokens, cache_write_tokens, reasoning_tokens, attributes, cost_source FROM cost_events WHERE event_id = {id:String}', { id: events[1]!.event_id });
    expect(stored).toMatchObject({ cache_read_tokens: 400, cache_write_tokens: 100, reasoning_tokens: 10, attributes: { region: 'eu' }, cost_source: 'reported' });
    const aliased = await one(t.app, 'SELECT intent, segment, toString(timestamp) AS ts FROM cost_events WHERE event_id = {id:String}', { id: events[0]!.event_id });
    expect(aliased).toEqual({ intent: 'refund', segment: 'enterprise', ts: '2026-01-15 12:00:00.000' });
    const compute = await one(t.app, 'SELECT toString(quantity) AS q, unit FROM cost_events WHERE event_id = {id:String}', { id: events[2]!.event_id });
    expect(compute).toEqual({ q: '1.5', unit: 'gpu_hours' });
  });

  it('reports a mixed batch item by item with 207 and counts only accepted events', async () => {
    const good = [makeEvent({ product_line_id: 'mixed', cost_usd: '1.10' }), makeEvent({ product_line_id: 'mixed', cost_usd: '2.25' })];
    const res = await post(t.app, {
      events: [
        good[0],
        makeEvent({ product_line_id: undefined }),
        makeEvent({ product_line_id: 'mixed', user_id: 'Jane.Doe+x@corp.example.com' }),
        makeEvent({ product_line_id: 'mixed', timestamp: '2026-01-15 12:00:00' }),
        'just a string',
        good[1],
        good[0],
        makeEvent({ product_line_id: 'mixed', completion: 'the model said something private' }),
      ],
    });
    expect(res.statusCode).toBe(207);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 1, quarantined: 1, rejected: 4 });
    expect(body.results.map((r: { index: number; status: string; reason: string }) => [r.index, r.status, r.reason])).toEqual([
      [1, 'quarantined', 'missing_product_line'],
      [2, 'rejected', 'personal_data'],
      [3, 'rejected', 'invalid_event'],
      [4, 'rejected', 'not_an_object'],
      [6, 'duplicate', 'repeated_in_batch'],
      [7, 'rejected', 'unknown_field'],
    ]);
    expect(body.results[2].errors[0]).toMatch(/^timestamp: must be ISO-8601 with a time zone offset/);
    expect(await ledger('mixed')).toEqual({ events: 2, cost: '3.35', ids: 2 });
  });

  it('refuses email addresses and stores them nowhere in clear', async () => {
    const res = await post(t.app, [makeEvent({ customer_id: 'alice@example.org', product_line_id: 'pii' }), makeEvent({ product_line_id: 'pii', user_id: 'u-1', customer_id: 'c-1' })]);
    expect(res.statusCode).toBe(207);
    expect(res.json().results).toMatchObject([{ index: 0, status: 'rejected', reason: 'personal_data' }]);
    const leaks = await one<{ n: number }>(t.app, `SELECT
      (SELECT count() FROM cost_events WHERE customer_id LIKE '%@%' OR user_id LIKE '%@%') +
      (SELECT count() FROM quarantine WHERE positionCaseInsensitive(payload, 'alice@example.org') > 0 OR has(errors, 'alice@example.org')) AS n`);
    expect(leaks.n).toBe(0);
    const [record] = await rows<{ payload: string }>(t.app, "SELECT payload FROM quarantine FINAL WHERE reason = 'personal_data' AND product_line_id = 'pii'");
    expect(JSON.parse(record!.payload).customer_id).toBe('[redacted-email]');
  });

  it('checks the token-bucket rule and other field rules', async () => {
    const res = await post(t.app, [
      makeEvent({ usage: { input_tokens: 100, cache_read_tokens: 90, cache_write_tokens: 20 } }),
      makeEvent({ usage: { output_tokens: 5, reasoning_tokens: 6 } }),
      makeEvent({ usage: { input_tokens: -1 } }),
      makeEvent({ usage: { input_tokens: 1.5 } }),
      makeEvent({ cost_usd: '-1' }),
      makeEvent({ cost_usd: '0.0000000000001' }),
      makeEvent({ type: 'llm', status: 'failure' }),
      makeEvent({ type: 'teleport' }),
      makeEvent({ timestamp: '2099-01-01T00:00:00Z' }),
      makeEvent({ usage: { quantity: '3' } }),
      makeEvent({ usage: undefined, input_tokens: 5, 'tokens.input': 6 }),
      makeEvent({ event_id: 'has space' }),
      makeEvent({ event_id: undefined }),
    ]);
    const body = res.json();
    expect(body.rejected).toBe(13);
    const firstErrors = body.results.map((r: { errors: string[] }) => r.errors[0]);
    expect(firstErrors[0]).toMatch(/input_tokens must include cache_read_tokens and cache_write_tokens/);
    expect(firstErrors[1]).toMatch(/output_tokens must include reasoning_tokens/);
    expect(firstErrors[4]).toMatch(/^cost_usd: must be a non-negative decimal/);
    expect(firstErrors[5]).toMatch(/at most 12 decimal places/);
    expect(firstErrors[8]).toMatch(/^timestamp: must be 2000-01-01T00:00:00Z or later/);
    expect(firstErrors[10]).toBe('tokens.input: conflicts with input_tokens');
    expect(firstErrors[12]).toMatch(/^event_id/);
  });

  it('accepts NDJSON, a bare array and gzip of each', async () => {
    const a = [makeEvent({ product_line_id: 'formats', cost_usd: '1' }), makeEvent({ product_line_id: 'formats', cost_usd: '2' })];
    const b = [makeEvent({ product_line_id: 'formats', cost_usd: '4' }), makeEvent({ product_line_id: 'formats', cost_usd: '8' })];
    const ndjson = `${a.map((e) => JSON.stringify(e)).join('\n')}\n{not json\n\n`;
    const r1 = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: ndjson, headers: { 'content-type': 'application/x-ndjson' } });
    expect(r1.statusCode).toBe(207);
    expect(r1.json()).toMatchObject({ accepted: 2, rejected: 1, results: [{ index: 2, status: 'rejected', reason: 'invalid_json' }] });
    const r2 = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: gzipSync(JSON.stringify(b)), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(r2.statusCode).toBe(200);
    expect(r2.json().accepted).toBe(2);
    const c = makeEvent({ product_line_id: 'formats', cost_usd: '16' });
    const r3 = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: gzipSync(`${JSON.stringify(c)}\n`), headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' } });
    expect(r3.json().accepted).toBe(1);
    expect(await ledger('formats')).toEqual({ events: 5, cost: '31', ids: 5 });
    const [bad] = await rows<{ payload: string }>(t.app, "SELECT payload FROM quarantine FINAL WHERE reason = 'invalid_json'");
    expect(bad!.payload).toBe('{not json');
  });
});

describe('idempotency', () => {
  // A view created after the fact, as a later feature would: it must see each event once.
  beforeAll(async () => {
    await t.app.engine.client.command({ query: 'CREATE TABLE test_pl_totals (product_line_id String, cost Decimal(38,12), events UInt64) ENGINE = SummingMergeTree ORDER BY product_line_id' });
    await t.app.engine.client.command({ query: 'CREATE MATERIALIZED VIEW test_pl_totals_mv TO test_pl_totals AS SELECT product_line_id, sum(cost_usd) AS cost, count() AS events FROM cost_events GROUP BY product_line_id' });
  });
  const viewTotals = (pl: string) => one<{ events: number; cost: string }>(t.app, 'SELECT toUInt64(sum(events)) AS events, toString(sum(cost)) AS cost FROM test_pl_totals WHERE product_line_id = {pl:String}', { pl });

  it('adds nothing for identical, reordered and overlapping retries, in raw rows and in a view', async () => {
    const batch = Array.from({ length: 20 }, (_, i) => makeEvent({ product_line_id: 'retry', cost_usd: `0.${String(i + 1).padStart(12, '0')}` }));
    const expected = addDecimals(batch.map((e) => e.cost_usd as string));
    expect((await post(t.app, batch)).json().accepted).toBe(20);
    const identical = (await post(t.app, batch)).json();
    expect(identical).toMatchObject({ accepted: 0, duplicates: 20 });
    expect(identical.results.every((r: { reason: string }) => r.reason === 'already_ingested')).toBe(true);
    expect((await post(t.app, [...batch].reverse())).json()).toMatchObject({ accepted: 0, duplicates: 20 });
    const extra = [makeEvent({ product_line_id: 'retry', cost_usd: '5' }), makeEvent({ product_line_id: 'retry', cost_usd: '7' })];
    const overlap = await post(t.app, [...batch.slice(10), ...extra]);
    expect(overlap.statusCode).toBe(200);
    expect(overlap.json()).toMatchObject({ accepted: 2, duplicates: 10 });
    const total = addDecimals([expected, '12']);
    expect(await ledger('retry')).toEqual({ events: 22, cost: total, ids: 22 });
    expect(await viewTotals('retry')).toEqual({ events: 22, cost: total });
  });

  it('keeps the first version when a retry changes the content of a known event_id', async () => {
    const e = makeEvent({ product_line_id: 'first-wins', cost_usd: '1' });
    await post(t.app, [e]);
    expect((await post(t.app, [{ ...e, cost_usd: '999' }])).json()).toMatchObject({ duplicates: 1 });
    expect(await ledger('first-wins')).toEqual({ events: 1, cost: '1', ids: 1 });
  });

  it('inserts each event once when duplicate batches arrive concurrently', async () => {
    const batch = Array.from({ length: 50 }, () => makeEvent({ product_line_id: 'concurrent', cost_usd: '0.1' }));
    const other = Array.from({ length: 50 }, () => makeEvent({ product_line_id: 'concurrent', cost_usd: '0.1' }));
    const responses = await Promise.all([
      post(t.app, batch), post(t.app, [...batch].reverse()), post(t.app, [...batch.slice(25), ...other]),
      post(t.app, other), post(t.app, batch), post(t.app, [...other, ...batch]),
    ]);
    const accepted = responses.reduce((n, r) => n + r.json().accepted, 0);
    const duplicates = responses.reduce((n, r) => n + r.json().duplicates, 0);
    expect(accepted).toBe(100);
    // 375 items were posted in all: 100 distinct events, so 275 duplicates.
    expect(duplicates).toBe(50 + 50 + 75 + 50 + 50 + 100 - 100);
    expect(await ledger('concurrent')).toEqual({ events: 100, cost: '10', ids: 100 });
    expect(await viewTotals('concurrent')).toEqual({ events: 100, cost: '10' });
  });

  it('collapses a retried quarantine item onto one record', async () => {
    const orphan = makeEvent({ product_line_id: undefined, event_id: 'orphan-1' });
    await post(t.app, [orphan]);
    await post(t.app, [orphan]);
    const n = await one<{ n: number }>(t.app, "SELECT count() AS n FROM quarantine FINAL WHERE event_id = 'orphan-1'");
    expect(n.n).toBe(1);
  });
});

describe('hostile strings', () => {
  const hostile = [
    "'; DROP TABLE cost_events; --",
    'Robert"); DELETE FROM quarantine WHERE ("1"="1',
    '{sql:String}',
    '\\\\N',
    '😀 ünïcødé ﷽',
    '<script>alert(1)</script>',
    "' OR 1=1 UNION SELECT * FROM system.tables --",
    'a'.repeat(256),
  ];
  const fields = ['workflow_id', 'run_id', 'parent_run_id', 'trace_id', 'span_id', 'parent_span_id', 'agent_id', 'agent_version', 'step_name', 'customer_id', 'user_id', 'segment', 'intent', 'feature', 'feature_flag', 'priority_tier', 'prompt_version', 'provider', 'model', 'tool', 'retry_of'];

  it('stores hostile strings verbatim in every string field', async () => {
    const events = hostile.map((s, i) => makeEvent({ product_line_id: 'hostile', event_id: `hostile-${i}`, ...Object.fromEntries(fields.map((f) => [f, s])), attributes: { [s.slice(0, 128)]: s } }));
    const res = await post(t.app, events);
    expect(res.json()).toMatchObject({ accepted: hostile.length, rejected: 0 });
    const stored = await rows<Record<string, unknown>>(t.app, `SELECT event_id, ${fields.join(', ')}, attributes FROM cost_events WHERE product_line_id = 'hostile' ORDER BY event_id`);
    expect(stored).toHaveLength(hostile.length);
    for (const row of stored) {
      const s = hostile[Number(String(row.event_id).split('-')[1])]!;
      for (const f of fields) expect(row[f]).toBe(s);
      expect(row.attributes).toEqual({ [s.slice(0, 128)]: s });
    }
    const tables = await rows(t.app, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN ('cost_events', 'quarantine')");
    expect(tables).toHaveLength(2);
  });

  it('rejects control characters, over-long values and hostile ids with reasons', async () => {
    const res = await post(t.app, [
      makeEvent({ segment: 'a\u0000b' }),
      makeEvent({ model: 'x'.repeat(257) }),
      makeEvent({ event_id: "'; DROP TABLE cost_events; --" }),
      makeEvent({ product_line_id: '../../etc/passwd' }),
      makeEvent({ attributes: { k: 1 } }),
      makeEvent({ usage: 'lots' }),
    ]);
    const body = res.json();
    expect(res.statusCode).toBe(207);
    expect(body.rejected).toBe(6);
    expect(body.results.map((r: { reason: string }) => r.reason)).toEqual(['invalid_event', 'invalid_event', 'invalid_event', 'invalid_event', 'invalid_event', 'invalid_event']);
  });

  it('refuses prototype-poisoning bodies as a whole', async () => {
    const payload = `{"events":[{"event_id":"p1","__proto__":{"polluted":true}}]}`;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ reason: 'invalid_json' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('GET /api/v1/quarantine', () => {
  it('lists records newest first, filters by reason and pages without gaps', async () => {
    const orphans = Array.from({ length: 7 }, (_, i) => makeEvent({ product_line_id: undefined, event_id: `page-${i}` }));
    await post(t.app, orphans);
    const all = await t.app.inject({ url: '/api/v1/quarantine?reason=missing_product_line&limit=1000' });
    const total = all.json().items.length;
    expect(total).toBeGreaterThanOrEqual(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/quarantine?reason=missing_product_line&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.app.inject({ url });
      expect(res.statusCode).toBe(200);
      const page: { items: { quarantine_id: string }[]; next_cursor: string | null } = res.json();
      expect(page.items.length).toBeLessThanOrEqual(3);
      for (const item of page.items) {
        expect(item).toMatchObject({ reason: 'missing_product_line', disposition: 'quarantined' });
        seen.push(item.quarantine_id);
      }
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    // edited cursors whose time the engine could not read: refused, not a 500
    for (const after of [{ t: '9999-99-99 99:99:99.999', q: '' }, { t: '3000-01-01 00:00:00.000', q: '' }, { t: "x' OR 1=1", q: '' }, { t: '2026-01-01 00:00:00.000', q: 'x'.repeat(65) }]) {
      const res = await t.app.inject({ url: `/api/v1/quarantine?limit=3&cursor=${Buffer.from(JSON.stringify(after)).toString('base64url')}` });
      expect([res.statusCode, res.json().reason], after.t).toEqual([400, 'invalid_cursor']);
    }
    expect((await t.app.inject({ url: `/api/v1/quarantine?limit=3&cursor=${Buffer.from(JSON.stringify({ t: '2299-12-31 23:59:59.999', q: '' })).toString('base64url')}` })).statusCode).toBe(200);
    const counts = all.json().counts as { reason: string; records: number }[];
    expect(counts.find((c) => c.reason === 'missing_product_line')!.records).toBe(total);
  });

  it('refuses bad parameters with reasons that name them', async () => {
    const cases: [string, string][] = [
      ['/api/v1/quarantine?limit=0', 'limit'],
      ['/api/v1/quarantine?limit=abc', 'limit'],
      ["/api/v1/quarantine?reason=x'%20OR%201=1", 'reason'],
      ['/api/v1/quarantine?disposition=all', 'disposition'],
    ];
    for (const [url, parameter] of cases) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter }] });
    }
    const bad = await t.app.inject({ url: '/api/v1/quarantine?cursor=bm90LWEtY3Vyc29y' });
    expect(bad.json()).toMatchObject({ status: 400, reason: 'invalid_cursor' });
  });
});
