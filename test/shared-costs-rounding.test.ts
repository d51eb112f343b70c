// Shared-cost entry and rounding through the API: a zero amount is refused like any other
// non-positive amount; the amounts of an allocation add up exactly to the amount (cents, largest
// remainder), with ties going to the product line first in plain string order whatever the locale;
// `share` is the weight ratio truncated to 12 places, so shares may add up to a hair under 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedCostId } from '../src/chargeback/shared-costs.js';
import { addDecimals, buildTestApp, makeEvent, post, type TestApp } from './helper.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());

type Allocation = { product_line_id: string; weight: string; share: string; amount_usd: string };
const record = (payload: object) => t.app.inject({ method: 'POST', url: '/api/v1/shared-costs', payload });
const allocationOf = (id: string) => t.app.inject({ url: `/api/v1/shared-costs/${id}/allocation` });
const columns = (allocations: Allocation[]) => allocations.map((a) => [a.product_line_id, a.weight, a.share, a.amount_usd]);

/** Record, check the answer and the stored allocation agree, and that the amounts add up to the amount exactly. */
async function allocate(payload: { name: string; amount_usd: string } & Record<string, unknown>): Promise<Allocation[]> {
  const res = await record({ month: '2026-05', ...payload });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json() as { id: string; amount_usd: string; allocations: Allocation[] };
  expect(addDecimals(body.allocations.map((a) => a.amount_usd))).toBe(body.amount_usd);
  const stored = (await allocationOf(body.id)).json();
  expect(stored).toMatchObject({ amount_usd: body.amount_usd, allocated_usd: body.amount_usd });
  expect(stored.allocations).toEqual(body.allocations);
  return body.allocations;
}

describe('amount_usd', () => {
  it.each(['0', '0.00', '0.0', '000'])('refuses %s with 400 invalid_request and records nothing', async (amount) => {
    const res = await record({ month: '2026-05', name: `zero ${amount}`, amount_usd: amount, method: 'fixed', weights: { 'pl-a': '1', 'pl-b': '2' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter: 'amount_usd', message: 'must be a positive amount with at most 2 decimal places (cents)' }] });
    expect(res.json().errors).toHaveLength(1);
    const stored = await allocationOf(sharedCostId('2026-05', `zero ${amount}`));
    expect([stored.statusCode, stored.json().reason]).toEqual([404, 'unknown_shared_cost']);
  });

  it('refuses a malformed amount with the same single error', async () => {
    const res = await record({ month: '2026-05', name: 'malformed', amount_usd: 'ten', method: 'even' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ reason: 'invalid_request', errors: [{ parameter: 'amount_usd', message: 'must be a positive amount with at most 2 decimal places (cents)' }] });
    expect(res.json().errors).toHaveLength(1);
  });

  it('takes the smallest positive amount, one cent', async () => {
    expect(columns(await allocate({ name: 'one cent', amount_usd: '0.01', method: 'fixed', weights: { 'pl-a': '1', 'pl-b': '2' } }))).toEqual([
      ['pl-a', '1', '0.333333333333', '0'],
      ['pl-b', '2', '0.666666666666', '0.01'],
    ]);
  });
});

describe('largest-remainder allocation', () => {
  it('splits 1 USD by 1:2 into 0.33 + 0.67; the shares are the truncated ratios 0.333333333333 + 0.666666666666', async () => {
    // The report's 0.999999999999 is the sum of the `share` ratios, not of the amounts.
    const allocations = await allocate({ name: 'one to two', amount_usd: '1', method: 'fixed', weights: { 'pl-a': '1', 'pl-b': '2' } });
    expect(columns(allocations)).toEqual([
      ['pl-a', '1', '0.333333333333', '0.33'],
      ['pl-b', '2', '0.666666666666', '0.67'],
    ]);
    expect(addDecimals(allocations.map((a) => a.amount_usd))).toBe('1');
    expect(addDecimals(allocations.map((a) => a.share))).toBe('0.999999999999');
  });

  it('splits 1 USD by 1:1:1 into 0.34 + 0.33 + 0.33, the tie to the line that sorts first', async () => {
    const allocations = await allocate({ name: 'thirds', amount_usd: '1.00', method: 'fixed', weights: { 'pl-c': '1', 'pl-a': '1', 'pl-b': '1' } });
    expect(columns(allocations)).toEqual([
      ['pl-a', '1', '0.333333333333', '0.34'],
      ['pl-b', '1', '0.333333333333', '0.33'],
      ['pl-c', '1', '0.333333333333', '0.33'],
    ]);
  });

  it('breaks ties by plain string order, not the locale, and reads back in the order it answered', async () => {
    // "B…" < "a…" < "b…" by code unit; a locale collation would put a-line first and give it the cent.
    const allocations = await allocate({ name: 'mixed case', amount_usd: '1.00', method: 'fixed', weights: { 'b-line': '1', 'a-line': '1', 'B-line': '1' } });
    expect(allocations.map((a) => [a.product_line_id, a.amount_usd])).toEqual([['B-line', '0.34'], ['a-line', '0.33'], ['b-line', '0.33']]);
  });

  it('splits 100 USD proportionally to costs with awkward ratios, to the cent, summing to 100 exactly', async () => {
    const costs: Record<string, string> = {
      'cp-a': '0.000000000001', 'cp-b': '3.333333333333', 'cp-c': '7', 'cp-d': '0.1', 'cp-e': '13.000000000007', 'cp-f': '0.666666666667',
    };
    const res = await post(t.app, Object.entries(costs).map(([pl, cost]) => makeEvent({ product_line_id: pl, timestamp: '2026-05-12T08:00:00Z', cost_usd: cost })));
    expect(res.json()).toMatchObject({ rejected: 0, quarantined: 0 });
    const allocations = await allocate({ name: 'by awkward cost', amount_usd: '100.00', method: 'proportional', basis: 'cost', product_lines: Object.keys(costs) });
    // Total weight 24.100000000008; 10,000 cents × weight / total, leftover cents to the largest remainders.
    expect(columns(allocations)).toEqual([
      ['cp-a', '0.000000000001', '0', '0'],
      ['cp-b', '3.333333333333', '0.138312586445', '13.83'],
      ['cp-c', '7', '0.290456431535', '29.05'],
      ['cp-d', '0.1', '0.004149377593', '0.41'],
      ['cp-e', '13.000000000007', '0.539419087137', '53.94'],
      ['cp-f', '0.666666666667', '0.027662517289', '2.77'],
    ]);
    expect(addDecimals(allocations.map((a) => a.amount_usd))).toBe('100');
  });

  it('splits 100 USD by fixed weights with 12 decimal places over 7 lines, summing to 100 exactly', async () => {
    const weights = { w1: '1', w2: '0.000000000003', w3: '2.718281828459', w4: '3.141592653589', w5: '1.414213562373', w6: '0.333333333333', w7: '999.999999999999' };
    const allocations = await allocate({ name: 'seven awkward weights', amount_usd: '100', method: 'fixed', weights });
    expect(allocations.map((a) => a.amount_usd)).toEqual(['0.1', '0', '0.27', '0.31', '0.14', '0.03', '99.15']);
    expect(addDecimals(allocations.map((a) => a.amount_usd))).toBe('100');
  });
});
