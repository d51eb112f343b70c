// What the pre-flight check and the budget definitions accept: event-field aliases, unknown names
// and wrong types refused (a check that ignored them failed open), no personal data in budgets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, type TestApp } from './helper.js';

const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'admin:adm,read:rd,ingest:ing', BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
});
afterAll(async () => t.close());

const send = (method: 'POST' | 'PUT', url: string, payload?: object, key = 'adm') => t.app.inject({ method, url, payload, headers: as(key) });
const check = (attrs: Record<string, unknown>) => send('POST', '/api/v1/budgets/check', attrs, 'ing');

describe('the pre-flight check', () => {
  beforeAll(async () => {
    expect((await send('POST', '/api/v1/budgets', { name: 'acme-cap', scope: { customer: 'acme' }, window: 'month', amount_usd: '1', thresholds: [1], action: 'block' })).statusCode).toBe(201);
    expect((await send('POST', '/api/v1/budgets', { name: 'bot-cap', scope: { product_line: 'support', agent: 'triage-bot', user: 'u-7' }, window: 'month', amount_usd: '2', thresholds: [1], action: 'block' })).statusCode).toBe(201);
    const events = [
      makeEvent({ product_line_id: 'support', customer_id: 'acme', timestamp: new Date(Date.now() - 1000).toISOString(), cost_usd: '1.5' }),
      makeEvent({ product_line_id: 'support', agent_id: 'triage-bot', user_id: 'u-7', timestamp: new Date(Date.now() - 1000).toISOString(), cost_usd: '0.75' }),
    ];
    expect((await post(t.app, events, as('ing'))).json().accepted).toBe(2);
    await t.app.ingestor.settle();
  });

  it('reads the event field names as the dimensions they name (customer_id is customer)', async () => {
    const res = await check({ product_line: 'support', customer_id: 'acme' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      allow: false, reason: 'budget "acme-cap" is exhausted',
      budgets: [expect.objectContaining({ name: 'acme-cap', spent: '1.5', limit: '1', remaining: '0', exhausted: true })],
    });
    const aliased = await check({ product_line_id: 'support', agent_id: 'triage-bot', user_id: 'u-7', workflow_id: 'wf', step_name: 'plan', intent_category: 'billing', customer_segment: 'smb', estimated_cost_usd: '1.5' });
    expect(aliased.json()).toEqual({
      allow: false, reason: 'budget "bot-cap" would be exceeded by the estimate (0.75 spent + 1.5 estimated > 2)',
      budgets: [expect.objectContaining({ name: 'bot-cap', spent: '0.75', exhausted: false, would_exceed: true })],
    });
    // The estimate may be a JSON number, read as the decimal written
    const work = { product_line_id: 'support', agent_id: 'triage-bot', user_id: 'u-7', customer_segment: 'smb' };
    expect((await check({ ...work, estimated_cost_usd: 1.5 })).json()).toMatchObject({ allow: false, budgets: [{ name: 'bot-cap', would_exceed: true }] });
    expect((await check({ ...work, estimated_cost_usd: 1.25 })).json()).toMatchObject({ allow: true, budgets: [{ name: 'bot-cap', would_exceed: false }] });
    // The canonical names, as the SDK sends them, answer the same.
    expect((await check({ product_line: 'support', agent: 'triage-bot', user: 'u-7', environment: 'production', feature: 'f', agent_version: 'v1', segment: 'smb', model: 'gpt-4o', tool: 'search', run_id: 'r-1' })).json())
      .toMatchObject({ allow: true, budgets: [{ name: 'bot-cap', spent: '0.75' }], reason: 'within budget' });
  });

  it('refuses unknown names, wrong types and one dimension given twice with two values', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ planet: 'x' }, 'planet', 'body planet: unknown parameter'],
      [{ product_line: 'support', customerid: 'acme' }, 'customerid', 'body customerid: unknown parameter'],
      [{ product_line: 5 }, 'product_line', 'body product_line: Invalid input: expected string, received number'],
      [{ customer_id: ['acme'] }, 'customer_id', 'body customer_id: Invalid input: expected string, received array'],
      [{ estimated_cost_usd: 0.12345678901234568 }, 'estimated_cost_usd', 'body estimated_cost_usd: a JSON number of more than 15 significant digits is not exact: send the amount as a decimal string'],
      [{ estimated_cost_usd: -1 }, 'estimated_cost_usd', 'body estimated_cost_usd: must be a decimal amount such as "0.40"'],
      [{ estimated_cost_usd: 'lots' }, 'estimated_cost_usd', 'body estimated_cost_usd: must be a decimal amount such as "0.40"'],
    ];
    for (const [body, parameter, detail] of cases) {
      const res = await check(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json(), JSON.stringify(body)).toMatchObject({ status: 400, reason: 'invalid_request', detail, errors: [{ parameter }] });
    }
    const twice = await check({ customer: 'globex', customer_id: 'acme' });
    expect(twice.statusCode).toBe(400);
    expect(twice.json()).toMatchObject({ reason: 'invalid_request', detail: 'customer_id: names customer again with another value', errors: [{ parameter: 'customer_id' }] });
    expect((await check({ customer: 'acme', customer_id: 'acme' })).json()).toMatchObject({ allow: false, reason: 'budget "acme-cap" is exhausted' });
  });
});

describe('personal data in budgets', () => {
  it('refuses an email address, phone or card number in a name or a scope value, as the ingest does (personal_data), and stores nothing', async () => {
    const base = { window: 'day', amount_usd: '1' };
    const cases: [object, { parameter: string; message: string }[]][] = [
      [{ ...base, name: 'acme', scope: { customer: 'a@b.com' } }, [{ parameter: 'scope.customer', message: 'looks like an email address; send an opaque id (e.g. a hash) instead' }]],
      [{ ...base, name: 'cap for jane.doe@example.org', scope: { product_line: 'support', user: '+44 20 7946 0958' } }, [
        { parameter: 'name', message: 'looks like an email address; send an opaque id (e.g. a hash) instead' },
        { parameter: 'scope.user', message: 'looks like a phone number; send an opaque id (e.g. a hash) instead' },
      ]],
      [{ ...base, name: 'card', scope: { customer: '4111 1111 1111 1111' } }, [{ parameter: 'scope.customer', message: 'looks like a payment card number; send an opaque id (e.g. a hash) instead' }]],
    ];
    for (const [payload, errors] of cases) {
      const res = await send('POST', '/api/v1/budgets', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json(), JSON.stringify(payload)).toMatchObject({ status: 400, reason: 'personal_data', detail: errors.map((e) => `${e.parameter}: ${e.message}`).join('; '), errors });
      expect(res.body).not.toContain('@');
    }
    const kept = await send('POST', '/api/v1/budgets', { ...base, name: 'kept', scope: { customer: 'cust-8f14e45f' } });
    expect(kept.statusCode).toBe(201);
    const put = await send('PUT', `/api/v1/budgets/${kept.json().id}`, { ...base, name: 'kept', scope: { customer: 'a@b.com' } });
    expect(put.statusCode).toBe(400);
    expect(put.json()).toMatchObject({ reason: 'personal_data', errors: [{ parameter: 'scope.customer' }] });
    const listed = (await t.app.inject({ url: '/api/v1/budgets', headers: as('rd') })).json().budgets as { name: string; scope: Record<string, string> }[];
    expect(listed.map((b) => [b.name, b.scope.customer ?? null]).sort()).toEqual([['acme-cap', 'acme'], ['bot-cap', null], ['kept', 'cust-8f14e45f']]);
  });
});
