// The HTTP layer against hostile clients: a browser page on another site or a DNS-rebound name
// driving the no-keys admin API, bodies in media types, charsets and encodings no route reads,
// stalled and aborted uploads, and requests Node's parser refuses, each a problem document.
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, type TestApp } from './helper.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

type Answer = { status: number; headers: Record<string, unknown>; body: string };

function expectProblem(res: Answer, status: number, reason: string) {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(res.body)).toMatchObject({ status, reason, type: `urn:agent-ledger:problem:${reason}` });
}

async function call(t: TestApp, method: string, url: string, headers: Record<string, string> = {}, payload?: string | Buffer): Promise<Answer> {
  const res = await t.app.inject({ method: method as 'GET', url, headers, payload });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

const json = { 'content-type': 'application/json' };
const closedMonths = async (t: TestApp, month: string) =>
  (JSON.parse((await call(t, 'GET', '/api/v1/periods')).body).periods as { month: string; status: string }[]).filter((p) => p.month === month && p.status === 'closed');

describe('no API keys: only loopback names and origins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ LOAD_PRICE_CATALOG: false });
  });
  afterAll(async () => t.close());

  it('refuses a Host that is not loopback (DNS rebinding) with 403 forbidden_host', async () => {
    for (const host of ['evil.example:8080', 'evil.example', '10.0.0.5:8080', 'localhost.evil.example', '127.0.0.1.evil.example', '[::2]:8080']) {
      expectProblem(await call(t, 'GET', '/api/v1/whoami', { host }), 403, 'forbidden_host');
    }
    expectProblem(await call(t, 'POST', '/api/v1/periods/2026-05/close', { host: 'evil.example:8080', ...json }, '{}'), 403, 'forbidden_host');
    expect(await closedMonths(t, '2026-05')).toEqual([]);
    for (const host of ['localhost', 'localhost:8080', 'LOCALHOST:1', '127.0.0.1', '127.0.0.1:8080', '127.8.9.10:80', '[::1]', '[::1]:8080']) {
      const res = await call(t, 'GET', '/api/v1/whoami', { host });
      expect(res.status, host).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ role: 'admin', product_lines: null, keys_configured: false });
    }
  });

  it('refuses a request from a page of another origin with 403 forbidden_origin, and nothing happens', async () => {
    // (the Host is localhost:80 in inject: a page of another local port or name is another origin)
    for (const origin of ['https://evil.example', 'http://evil.example:8080', 'null', 'http://127.0.0.1.evil.example', 'garbage', 'http://localhost:3000', 'http://127.0.0.1:8080']) {
      expectProblem(await call(t, 'POST', '/api/v1/periods/2026-05/close', { origin, 'content-type': 'text/plain' }, 'x'), 403, 'forbidden_origin');
      expectProblem(await call(t, 'POST', '/api/v1/periods/2026-05/close', { origin, ...json }, '{}'), 403, 'forbidden_origin');
      expectProblem(await call(t, 'GET', '/api/v1/whoami', { origin }), 403, 'forbidden_origin');
    }
    expect(await closedMonths(t, '2026-05')).toEqual([]);
  });

  it('serves the dashboard calling from its own loopback origin', async () => {
    for (const [host, origin] of [['127.0.0.1:8080', 'http://127.0.0.1:8080'], ['localhost:3000', 'http://localhost:3000'], ['[::1]:8080', 'http://[::1]:8080']] as const) {
      const put = await call(t, 'PUT', '/api/v1/taxonomy/product-lines/dash-line', { host, origin, ...json }, JSON.stringify({ name: `from ${origin}` }));
      expect(put.status, origin).toBeLessThan(300);
      expect(JSON.parse((await call(t, 'GET', '/api/v1/taxonomy/product-lines/dash-line', { host, origin })).body).name).toBe(`from ${origin}`);
    }
    expect((await call(t, 'GET', '/', { host: '127.0.0.1:8080' })).status).toBe(200);
  });

  it('refuses the cross-site text/plain POST (no CORS preflight) with 415, even without an Origin', async () => {
    const res = await call(t, 'POST', '/api/v1/periods/2026-05/close', { 'content-type': 'text/plain' }, 'x');
    expectProblem(res, 415, 'unsupported_media_type');
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain; charset=utf-8']) {
      expectProblem(await call(t, 'POST', '/api/v1/periods/2026-05/close', { 'content-type': type }, 'a=b'), 415, 'unsupported_media_type');
    }
    expect(await closedMonths(t, '2026-05')).toEqual([]);
  });
});

describe('bodies, with API keys', () => {
  let t: TestApp;
  const admin = { authorization: 'Bearer adm-key' };
  const lineUrl = '/api/v1/taxonomy/product-lines/lineA';
  beforeAll(async () => {
    t = await buildTestApp({ LOAD_PRICE_CATALOG: false, API_KEYS: 'admin:adm-key' });
    expect((await call(t, 'PUT', lineUrl, { ...admin, ...json }, JSON.stringify({ name: 'Line A' }))).status).toBeLessThan(300);
  });
  afterAll(async () => t.close());
  const storedName = async () => JSON.parse((await call(t, 'GET', lineUrl, admin)).body).name;

  it('does not check Host or Origin: keys are not ambient credentials', async () => {
    const res = await call(t, 'GET', '/api/v1/whoami', { ...admin, host: 'ledger.example.com', origin: 'https://tools.example.com' });
    expect(res.status).toBe(200);
  });

  it('415 unsupported_media_type for a body that is not JSON, on routes with and without a body schema', async () => {
    expectProblem(await call(t, 'POST', '/api/v1/periods/2026-05/close', { ...admin, 'content-type': 'text/plain' }, 'x'), 415, 'unsupported_media_type');
    expectProblem(await call(t, 'PUT', lineUrl, { ...admin, 'content-type': 'text/plain' }, '{"name":"x"}'), 415, 'unsupported_media_type');
    expectProblem(await call(t, 'PUT', lineUrl, { ...admin, 'content-type': 'application/x-ndjson' }, '{"name":"x"}\n'), 415, 'unsupported_media_type');
    expectProblem(await call(t, 'DELETE', '/api/v1/webhooks/nope', { ...admin, 'content-type': 'text/plain' }, 'x'), 415, 'unsupported_media_type');
    expect(await storedName()).toBe('Line A');
    // No body, no content type needed; application/*+json is JSON.
    expect((await call(t, 'PUT', lineUrl, { ...admin, 'content-type': 'application/merge-patch+json' }, JSON.stringify({ name: 'Line A+' }))).status).toBe(200);
    expect(await storedName()).toBe('Line A+');
  });

  it('415 for a charset other than UTF-8; utf-8 in any spelling is fine', async () => {
    for (const type of ['application/json; charset=utf-16', 'application/json;charset="UTF-16LE"', 'application/json; charset=iso-8859-1']) {
      expectProblem(await call(t, 'PUT', lineUrl, { ...admin, 'content-type': type }, JSON.stringify({ name: 'x' })), 415, 'unsupported_media_type');
    }
    expectProblem(await call(t, 'POST', '/api/v1/events', { ...admin, 'content-type': 'application/x-ndjson; charset=utf-16' }, `${JSON.stringify(makeEvent())}\n`), 415, 'unsupported_media_type');
    for (const [i, type] of ['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json;charset=utf8'].entries()) {
      expect((await call(t, 'PUT', lineUrl, { ...admin, 'content-type': type }, JSON.stringify({ name: `Line A ${i}` }))).status).toBe(200);
      expect(await storedName()).toBe(`Line A ${i}`);
    }
  });

  it('415 unsupported_content_encoding for gzip outside the ingest routes, which still decode it', async () => {
    expectProblem(await call(t, 'PUT', lineUrl, { ...admin, ...json, 'content-encoding': 'gzip' }, gzipSync(JSON.stringify({ name: 'zipped' }))), 415, 'unsupported_content_encoding');
    expectProblem(await call(t, 'POST', '/api/v1/periods/2026-05/close', { ...admin, ...json, 'content-encoding': 'gzip' }, gzipSync('{}')), 415, 'unsupported_content_encoding');
    expect(await storedName()).toBe('Line A 2');
    const ingest = await call(t, 'POST', '/api/v1/events', { ...admin, ...json, 'content-encoding': 'gzip' }, gzipSync(JSON.stringify([makeEvent()])));
    expect(ingest.status).toBe(200);
    expect(JSON.parse(ingest.body)).toMatchObject({ accepted: 1 });
    const ndjson = await call(t, 'POST', '/api/v1/events', { ...admin, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, gzipSync(`${JSON.stringify(makeEvent())}\n`));
    expect(JSON.parse(ndjson.body)).toMatchObject({ accepted: 1 });
  });

  it('400 invalid_json for a JSON body that is not UTF-8, and nothing is stored', async () => {
    const body = Buffer.concat([Buffer.from('{"name":"bad'), Buffer.from([0xff, 0xfe]), Buffer.from('name"}')]);
    const res = await call(t, 'PUT', lineUrl, { ...admin, ...json }, body);
    expectProblem(res, 400, 'invalid_json');
    expect(JSON.parse(res.body).detail).toMatch(/not valid UTF-8/);
    expect(await storedName()).toBe('Line A 2');
    const event = Buffer.concat([Buffer.from(JSON.stringify([makeEvent({ user_id: 'u-' })]).replace('"u-"', '"u-')), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]);
    expectProblem(await call(t, 'POST', '/api/v1/events', { ...admin, ...json }, event), 400, 'invalid_json');
    const lines = Buffer.concat([Buffer.from(`${JSON.stringify(makeEvent({ product_line_id: 'ndjson-utf8' }))}\n{"event_id":"x","note":"bad`), Buffer.from([0xff]), Buffer.from('"}\n')]);
    const ndjson = await call(t, 'POST', '/api/v1/events', { ...admin, 'content-type': 'application/x-ndjson' }, lines);
    expectProblem(ndjson, 400, 'invalid_json');
    expect(JSON.parse(ndjson.body).detail).toMatch(/not valid UTF-8/);
    // Multi-byte UTF-8 is text, of course.
    expect((await call(t, 'PUT', lineUrl, { ...admin, ...json }, Buffer.from(JSON.stringify({ name: 'Ligne Å – 線' })))).status).toBe(200);
    expect(await storedName()).toBe('Ligne Å – 線');
  });
});

/** One raw HTTP exchange: write `head` (and `body` after `pauseMs`), read until the server closes or `waitMs` passes. */
function rawExchange(port: number, head: string | Buffer, opts: { waitMs?: number; abortAfterMs?: number } = {}): Promise<Answer & { elapsedMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = (split < 0 ? text : text.slice(0, split)).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: split < 0 ? '' : text.slice(split + 4), elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 15_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', (err) => (chunks.length ? finish() : reject(err)));
    socket.write(head);
    if (opts.abortAfterMs !== undefined) setTimeout(() => socket.destroy(), opts.abortAfterMs);
  });
}

describe('the real server, raw sockets', () => {
  let server: ServerProcess;
  let log = '';
  beforeAll(async () => {
    server = await startServerProcess({ HTTP_REQUEST_TIMEOUT_MS: '1500' });
    server.child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  }, 90_000);
  afterAll(async () => server?.stop());
  const logLines = () => log.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) as { level: number; msg: string }; } catch { return { level: 0, msg: l }; } });
  const engineAlarms = () => logLines().filter((l) => /ClickHouse|nothing of this request was acknowledged, retry/.test(l.msg));
  const head = (port: number, extra = '') => `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n${extra}\r\n{"events":[`;

  it('answers a stalled body with 408 request_timeout within HTTP_REQUEST_TIMEOUT_MS, and logs no engine fault', async () => {
    const res = await rawExchange(server.port, head(server.port));
    expectProblem(res, 408, 'request_timeout');
    expect(res.elapsedMs).toBeGreaterThanOrEqual(1400);
    expect(res.elapsedMs).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(engineAlarms()).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 30_000);

  it('logs a client that disconnects mid-body as a client abort at info, not as ClickHouse unreachable', async () => {
    const before = log.length;
    await rawExchange(server.port, head(server.port), { abortAfterMs: 200 });
    const deadline = Date.now() + 5000;
    while (!log.slice(before).includes('connection closed before the request body was complete') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(engineAlarms()).toEqual([]);
    const line = logLines().find((l) => l.msg.startsWith('the connection closed before the request body was complete'));
    expect(line?.level).toBe(30);
  }, 30_000);

  it('answers headers over 16 KiB with 431 header_too_large as a problem document', async () => {
    const res = await rawExchange(server.port, `GET /api/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectProblem(res, 431, 'header_too_large');
  });

  it('answers a NUL byte in a header with 400 bad_request as a problem document', async () => {
    const res = await rawExchange(server.port, `GET /api/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Bad: a\0b\r\n\r\n`);
    expectProblem(res, 400, 'bad_request');
  });

  it('refuses a rebound Host over a real socket', async () => {
    const res = await rawExchange(server.port, 'GET /api/v1/whoami HTTP/1.1\r\nHost: evil.example:8080\r\nConnection: close\r\n\r\n');
    expectProblem(res, 403, 'forbidden_host');
    const ok = await rawExchange(server.port, `GET /api/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
    expect(ok.status).toBe(200);
  });
});
