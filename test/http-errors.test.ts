// Every failure path of the HTTP layer answers application/problem+json with a reason.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { buildTestApp, makeEvent, one, post, type TestApp } from './helper.js';

const KEYS = 'admin:adm-key-1,ingest:ing-key-2,read:read-key-3,export:exp-key-4';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, MAX_BODY_BYTES: 64 * 1024, MAX_BATCH_EVENTS: 50 });
});
afterAll(async () => t.close());

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json: () => Record<string, unknown> }, status: number, reason: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status, reason, type: `urn:agent-ledger:problem:${reason}` });
}

describe('authentication and roles', () => {
  it('401 without a key or with a wrong one', async () => {
    expectProblem(await post(t.app, [makeEvent()]), 401, 'missing_api_key');
    expectProblem(await post(t.app, [makeEvent()], auth('wrong')), 401, 'invalid_api_key');
    expectProblem(await post(t.app, [makeEvent()], { authorization: 'Basic YWRtaW46YWRtaW4=' }), 401, 'invalid_api_key');
    expectProblem(await post(t.app, [makeEvent()], { authorization: 'Bearer ' }), 401, 'invalid_api_key');
    expectProblem(await post(t.app, [makeEvent()], auth('adm-key-1x')), 401, 'invalid_api_key');
  });

  it('403 for a key whose role does not fit the route, and admin may do everything', async () => {
    expectProblem(await post(t.app, [makeEvent()], auth('read-key-3')), 403, 'forbidden_role');
    expectProblem(await post(t.app, [makeEvent()], auth('exp-key-4')), 403, 'forbidden_role');
    expectProblem(await t.app.inject({ url: '/api/v1/quarantine', headers: auth('read-key-3') }), 403, 'forbidden_role');
    expect((await post(t.app, [makeEvent({ product_line_id: 'auth' })], auth('ing-key-2'))).statusCode).toBe(200);
    expect((await post(t.app, [makeEvent({ product_line_id: 'auth' })], auth('adm-key-1'))).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/quarantine', headers: auth('ing-key-2') })).statusCode).toBe(200);
    expect((await one<{ n: number }>(t.app, "SELECT count() AS n FROM cost_events WHERE product_line_id = 'auth'")).n).toBe(2);
  });

  it('keeps health, readiness, metrics and docs public', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', engine: 'embedded' });
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/agent_ledger_events_total\{status="accepted"\} 2/);
    expect((await t.app.inject({ url: '/docs/json' })).json().openapi).toBe('3.1.0');
  });

  it('never puts a key into a response or the metrics', async () => {
    const res = await post(t.app, [makeEvent()], auth('adm-key-1-but-wrong'));
    expect(res.body).not.toContain('adm-key-1');
    expect((await t.app.inject({ url: '/metrics' })).body).not.toMatch(/key-\d/);
  });
});

describe('bodies and limits', () => {
  const admin = auth('adm-key-1');
  const raw = (payload: string | Buffer, headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/api/v1/events', payload, headers: { ...admin, ...headers } });

  it('400 for bodies that are not a batch', async () => {
    expectProblem(await raw('{"events":', { 'content-type': 'application/json' }), 400, 'invalid_json');
    expectProblem(await raw('{"events":{"a":1}}', { 'content-type': 'application/json' }), 400, 'not_a_batch');
    expectProblem(await raw('"hello"', { 'content-type': 'application/json' }), 400, 'not_a_batch');
    expectProblem(await raw('42', { 'content-type': 'application/json' }), 400, 'not_a_batch');
    expectProblem(await raw('null', { 'content-type': 'application/json' }), 400, 'not_a_batch');
    expectProblem(await raw('', { 'content-type': 'application/json' }), 400, 'empty_body');
    expectProblem(await raw('not gzip at all', { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400, 'invalid_gzip');
  });

  it('415 for other media types and encodings', async () => {
    expectProblem(await raw('<events/>', { 'content-type': 'application/xml' }), 415, 'unsupported_media_type');
    expectProblem(await raw('[]', { 'content-type': 'application/json', 'content-encoding': 'br' }), 415, 'unsupported_content_encoding');
  });

  it('413 over the body size, also when only the decompressed body is too big, and over the event count', async () => {
    const big = JSON.stringify([makeEvent({ attributes: { pad: 'x'.repeat(1000) } })]).repeat(1) + ' '.repeat(70 * 1024);
    expectProblem(await raw(big, { 'content-type': 'application/json' }), 413, 'body_too_large');
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expectProblem(await raw(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 413, 'body_too_large');
    const many = Array.from({ length: 51 }, () => makeEvent({ product_line_id: 'too-many' }));
    const res = await raw(JSON.stringify(many), { 'content-type': 'application/json' });
    expectProblem(res, 413, 'too_many_events');
    expect(res.json().detail).toMatch(/at most 50 events; this one has 51/);
    expect((await one<{ n: number }>(t.app, "SELECT count() AS n FROM cost_events WHERE product_line_id = 'too-many'")).n).toBe(0);
  });

  it('404 as problem+json for unknown routes', async () => {
    expectProblem(await t.app.inject({ url: '/api/v1/nope', headers: admin }), 404, 'not_found');
  });
});

describe('rate limiting per key', () => {
  it('429 with Retry-After once a key spends its budget; other keys are unaffected', async () => {
    const limited = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', API_KEYS: KEYS, RATE_LIMIT_MAX: 3, RATE_LIMIT_WINDOW_MS: 60_000, MIGRATE_ON_START: false }), { engine: t.app.engine });
    try {
      const call = (key: string) => limited.inject({ url: '/api/v1/quarantine?limit=1', headers: auth(key) });
      for (let i = 0; i < 3; i++) expect((await call('ing-key-2')).statusCode).toBe(200);
      const res = await call('ing-key-2');
      expectProblem(res, 429, 'rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect((await call('adm-key-1')).statusCode).toBe(200);
      expect((await limited.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('counts cache hits, says what is left in x-ratelimit-* headers, and opens again with the next window', async () => {
    const limited = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', API_KEYS: KEYS, RATE_LIMIT_MAX: 2, RATE_LIMIT_WINDOW_MS: 400, MIGRATE_ON_START: false }), { engine: t.app.engine });
    try {
      const call = () => limited.inject({ url: '/api/v1/agent-costs?date_range=2026-01-01,2026-01-02', headers: auth('adm-key-1') });
      const first = await call();
      expect(first.statusCode).toBe(200);
      expect([first.headers['x-ratelimit-limit'], first.headers['x-ratelimit-remaining'], first.headers['x-ratelimit-reset']]).toEqual(['2', '1', '1']);
      const second = await call();
      expect([second.statusCode, second.headers['x-cache'], second.headers['x-ratelimit-remaining']]).toEqual([200, 'hit', '0']);
      const third = await call();
      expectProblem(third, 429, 'rate_limited');
      expect([third.headers['retry-after'], third.headers['x-ratelimit-remaining']]).toEqual(['1', '0']);
      await new Promise((r) => setTimeout(r, 450));
      const later = await call();
      expect([later.statusCode, later.headers['x-ratelimit-remaining']]).toEqual([200, '1']);
      // probes are never counted, so never refused
      for (let i = 0; i < 4; i++) expect((await limited.inject({ url: '/healthz' })).headers['x-ratelimit-limit']).toBeUndefined();
    } finally {
      await limited.close();
    }
  });
});

describe('startup safety', () => {
  it('refuses to listen beyond loopback without keys, naming the variable', async () => {
    await expect(buildApp(configWith({ HOST: '0.0.0.0', DATA_DIR: t.dir, LOG_LEVEL: 'silent' }), { engine: t.app.engine })).rejects.toThrow(/API_KEYS: required when HOST \(0\.0\.0\.0\) is not a loopback address/);
  });

  it('serves everything as admin on loopback when no keys are configured', async () => {
    const open = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', MIGRATE_ON_START: false }), { engine: t.app.engine });
    try {
      expect((await post(open, [makeEvent({ product_line_id: 'open' })])).statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});
