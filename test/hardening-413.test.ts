// Oversized bodies: a client still uploading must read its 413 problem document, not EPIPE. Real
// clients (Node's fetch, the curl binary) against the real server in another process, 25 MB batches.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from './helper.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const run = promisify(execFile);
let server: ServerProcess;
const big = JSON.stringify({ events: Array.from({ length: 60_000 }, () => makeEvent({ attributes: { pad: 'x'.repeat(300) } })) });
const file = join(tmpdir(), `agent-ledger-413-${process.pid}.json`);

beforeAll(async () => {
  expect(big.length).toBeGreaterThan(25_000_000);
  writeFileSync(file, big);
  server = await startServerProcess({ API_KEYS: 'ingest:big-key' });
}, 90_000);
afterAll(async () => {
  rmSync(file, { force: true });
  await server?.stop();
});

const headers = { 'content-type': 'application/json', authorization: 'Bearer big-key' };
const expectTooLarge = (status: number, contentType: string | null, body: string) => {
  expect(status).toBe(413);
  expect(contentType).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(body)).toMatchObject({ status: 413, reason: 'body_too_large' });
};

describe('413 reaches the client', () => {
  it('with Node fetch and a Content-Length, five times in a row', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers, body: big });
      expectTooLarge(res.status, res.headers.get('content-type'), await res.text());
    }
  }, 120_000);

  it('with Node fetch streaming a chunked body (no Content-Length)', async () => {
    const bytes = Buffer.from(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 1 << 20) controller.enqueue(bytes.subarray(at, at + (1 << 20)));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
    expectTooLarge(res.status, res.headers.get('content-type'), await res.text());
  }, 60_000);

  it('with curl, with and without Expect: 100-continue', async () => {
    for (const expectHeader of [[], ['-H', 'Expect:']]) {
      const { stdout } = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code} %{content_type}', '-H', 'content-type: application/json', '-H', 'authorization: Bearer big-key', ...expectHeader, '--data-binary', `@${file}`, `${server.url}/api/v1/events`], { maxBuffer: 1 << 20 });
      const [body, last] = [stdout.slice(0, stdout.lastIndexOf('\n')), stdout.slice(stdout.lastIndexOf('\n') + 1)];
      const [code, contentType] = last.split(' ');
      expectTooLarge(Number(code), contentType ?? null, body);
    }
  }, 60_000);

  it('and the server goes on serving: a normal batch right after is accepted', async () => {
    const res = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers, body: JSON.stringify([makeEvent({ product_line_id: 'after-413' })]) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ accepted: 1 });
  });
});
