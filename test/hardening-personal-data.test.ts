// Personal data: emails, phone numbers and payment card numbers are refused in every id field,
// dimension and attribute (reason personal_data, the field named) and stored nowhere in clear;
// legitimate ids of every common shape pass.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCardNumber, luhnValid, personalDataIn, redactPersonalData } from '../src/events/personal-data.js';
import { buildTestApp, makeEvent, one, post, type TestApp } from './helper.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false });
});
afterAll(async () => t.close());

const personal: [string, 'email' | 'phone' | 'card'][] = [
  ['+1 (415) 555-0132', 'phone'], ['4111 1111 1111 1111', 'card'], ['alice@example.org', 'email'],
  ['+14155550132', 'phone'], ['(415) 555-0132', 'phone'], ['415-555-0132', 'phone'], ['415.555.0132', 'phone'],
  ['+44 20 7946 0958', 'phone'], ['020 7946 0958', 'phone'], ['06 12 34 56 78', 'phone'], ['tel:+33612345678', 'phone'],
  ['4111111111111111', 'card'], ['4111-1111-1111-1111', 'card'], ['5555555555554444', 'card'], ['378282246310005', 'card'],
  ['3782 822463 10005', 'card'], ['6011111111111117', 'card'], ['3530111333300000', 'card'], ['30569309025904', 'card'],
  ['run-4111111111111111', 'card'], ['ref 2026-01-15-4111-1111-1111-1111', 'card'], ['Bob <bob@corp.example.com>', 'email'],
  // the shortest addresses (6 characters), and look-alike characters (full-width at sign, digits)
  ['a@b.co', 'email'], ['x@y.io', 'email'], ['A@B.CO', 'email'], ['alice＠example.org', 'email'], ['bob﹫corp.example', 'email'],
  ['alice＠example．org', 'email'], ['４１１１１１１１１１１１１１１１', 'card'], ['+１ ４１５ ５５５ ０１３２', 'phone'],
];
const legitimate = [
  'run-123', 'step-7', '2026-01-15T12:00:00.000Z', '2026-01-15T12:00:00+05:30', '2026-01-15', '15.01.2026', '1768478400000',
  '1768478400000000', '1234567890', '4155550132', '123456789012345678', '1834567890123456789', '4111111111111112',
  'v1.2.3', '10.0.0.1', '192.168.100.200', 'gpt-4o-2024-08-06', 'claude-3-5-sonnet-20241022', 'order-2026-01-15-0001',
  'cus_9s6XKzkNRiz8i3', '01HZY3A8J8Q8W5K5Z1V0X8Y7Z6', 'ext-0012345678', 'span-00f067aa0ba902b7', '+0530', 'user@host',
  '550e8400-e29b-41d4-a716-446655440000', '12345678-1234-1234-1234-123456789012', 'build 2026.01.15', 'a+b',
];

describe('the rule', () => {
  it('finds every kind it should, in the shapes people write', () => {
    expect(personal.map(([s]) => personalDataIn(s))).toEqual(personal.map(([, kind]) => kind));
  });

  it('passes legitimate ids: fixed shapes and 20,000 random UUIDs and trace ids', () => {
    expect(legitimate.filter((s) => personalDataIn(s))).toEqual([]);
    const random = Array.from({ length: 10_000 }, () => [randomUUID(), randomBytes(16).toString('hex')]).flat();
    expect(random.filter((s) => personalDataIn(s))).toEqual([]);
  });

  it('checks Luhn and issuer lengths', () => {
    expect([luhnValid('4111111111111111'), luhnValid('4111111111111112'), isCardNumber('4111111111111'), isCardNumber('9111111111111111')]).toEqual([true, false, false, false]);
    expect(redactPersonalData('call +1 (415) 555-0132, card 4111 1111 1111 1111, mail a@b.io')).toBe('call [redacted-phone], card [redacted-card], mail [redacted-email]');
  });
});

describe('at ingest', () => {
  const fields = ['event_id', 'run_id', 'parent_run_id', 'trace_id', 'workflow_id', 'customer_id', 'user_id', 'agent_id', 'segment', 'feature', 'retry_of'];
  const leaks = (needle: string) => one<{ n: number }>(t.app, `SELECT
      (SELECT count() FROM cost_events WHERE positionCaseInsensitive(concat(event_id, run_id, parent_run_id, trace_id, workflow_id, customer_id, user_id, agent_id, segment, feature, retry_of, toString(attributes)), {n:String}) > 0)
    + (SELECT count() FROM quarantine WHERE positionCaseInsensitive(concat(payload, event_id, product_line_id, arrayStringConcat(errors, ' ')), {n:String}) > 0) AS n`, { n: needle });

  it('refuses the issue\'s phone and card numbers, naming the field, and stores neither', async () => {
    const res = await post(t.app, [makeEvent({ product_line_id: 'pii', user_id: '+1 (415) 555-0132' }), makeEvent({ product_line_id: 'pii', customer_id: '4111 1111 1111 1111' })]);
    expect(res.statusCode).toBe(207);
    expect(res.json()).toMatchObject({ accepted: 0, rejected: 2 });
    expect(res.json().results.map((r: { reason: string; errors: string[] }) => [r.reason, r.errors])).toEqual([
      ['personal_data', ['user_id: looks like a phone number; send an opaque id (e.g. a hash) instead']],
      ['personal_data', ['customer_id: looks like a payment card number; send an opaque id (e.g. a hash) instead']],
    ]);
    for (const needle of ['555-0132', '4111 1111']) expect((await leaks(needle)).n).toBe(0);
    const stored = await one<{ payload: string }>(t.app, "SELECT payload FROM quarantine FINAL WHERE reason = 'personal_data' AND product_line_id = 'pii' AND positionCaseInsensitive(payload, 'user_id') > 0");
    expect(JSON.parse(stored.payload).user_id).toBe('[redacted-phone]');
  });

  it.each(fields)('%s: refused for each kind, value never stored', async (field) => {
    const values = [['+44 20 7946 0958', 'phone'], ['5555-5555-5555-4444', 'card'], [`${field}.owner@example.com`, 'email']] as const;
    const events = values.map(([v]) => makeEvent({ product_line_id: 'pii-f', [field]: v }));
    const res = await post(t.app, events);
    expect(res.json().results.map((r: { reason: string; errors: string[] }) => [r.reason, r.errors[0]!.split(';')[0]])).toEqual(
      values.map(([, kind]) => ['personal_data', `${field}: looks like ${kind === 'email' ? 'an email address' : kind === 'phone' ? 'a phone number' : 'a payment card number'}`]));
    for (const needle of ['7946 0958', '5555-5555', `${field}.owner@`]) expect((await leaks(needle)).n).toBe(0);
    // The same search does find what is stored: the records themselves, by their product line.
    expect((await leaks('pii-f')).n).toBeGreaterThanOrEqual(3);
  });

  it('looks into attribute values and keys, numbers and nested values', async () => {
    const res = await post(t.app, [
      makeEvent({ product_line_id: 'pii-a', attributes: { contact: 'call 020 7946 0958' } }),
      makeEvent({ product_line_id: 'pii-a', attributes: { 'carol@example.net': 'yes' } }),
      makeEvent({ product_line_id: 'pii-a', customer_id: 4111111111111111 }),
      makeEvent({ product_line_id: 'pii-a', user_id: ['x', { y: '+1 415 555 0199' }] }),
    ]);
    expect(res.json().results.map((r: { reason: string; errors: string[] }) => r.errors[0]!.split(';')[0])).toEqual([
      'attributes.contact: looks like a phone number',
      'attributes (a key): looks like an email address',
      'customer_id: looks like a payment card number',
      'user_id[1].y: looks like a phone number',
    ]);
    for (const needle of ['7946', 'carol@', '4111111111111111', '555 0199']) expect((await leaks(needle)).n).toBe(0);
  });

  it('redacts free text it keeps: a bad NDJSON line, a non-object item, an unknown field name', async () => {
    const body = ['{"event_id": "x", "note": "reach me at +1 415 555 0142" oops', JSON.stringify('card 4012 8888 8888 1881'), JSON.stringify(makeEvent({ product_line_id: 'pii-t', 'dave@example.org': 1 }))].join('\n');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', payload: body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.json().results.map((r: { reason: string }) => r.reason)).toEqual(['invalid_json', 'not_an_object', 'unknown_field']);
    expect(res.json().results[2].errors[0]).toMatch(/^\[redacted-email\]: unknown field/);
    for (const needle of ['555 0142', '4012 8888', 'dave@']) expect((await leaks(needle)).n).toBe(0);
  });

  it('accepts every legitimate id shape in every field', async () => {
    const events = legitimate.flatMap((v) => fields.filter((f) => f !== 'event_id' || /^[A-Za-z0-9._:-]{1,128}$/.test(v)).map((f) => makeEvent({ product_line_id: 'legit', [f]: f === 'event_id' ? `${v}-${randomUUID()}` : v, attributes: { tag: v } })));
    const res = await post(t.app, events);
    expect(res.json()).toMatchObject({ accepted: events.length, rejected: 0 });
  });
});
