// Webhook delivery connects to exactly the address that passed the SSRF check: the host name is
// resolved once per attempt, and a DNS answer that turns private afterwards (rebinding) is never
// connected to; the Host header still names the URL's host.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postPinned } from '../src/webhooks/pinned-post.js';
import { Webhooks } from '../src/webhooks/service.js';
import { resolveWebhookTarget, type Resolver } from '../src/webhooks/ssrf.js';
import { buildTestApp, rows, type TestApp } from './helper.js';

type Hit = { host: string | undefined; local: string | undefined; signature: string | undefined };
async function receiver(address: string, port = 0): Promise<{ server: Server; port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    hits.push({ host: req.headers.host, local: req.socket.localAddress, signature: req.headers['x-ledger-signature'] as string | undefined });
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

let t: TestApp;
let a: Awaited<ReturnType<typeof receiver>>;
let b: Awaited<ReturnType<typeof receiver>>;
beforeAll(async () => {
  t = await buildTestApp({ BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
  a = await receiver('127.0.0.1');
  b = await receiver('127.0.0.2', a.port); // same port, another loopback address
});
afterAll(async () => {
  a?.server.close();
  b?.server.close();
  await t?.close();
});

describe('pinned connection', () => {
  it('connects to the pinned address even where the host name resolves elsewhere, with the URL host in Host', async () => {
    // "localhost" resolves to 127.0.0.1 (receiver a); the check pinned 127.0.0.2 (receiver b).
    const target = { url: new URL(`http://localhost:${a.port}/hook?x=1`), host: 'localhost', address: '127.0.0.2', family: 4 as const };
    const res = await postPinned(target, { 'x-ledger-signature': 'sig' }, '{}', 2000);
    expect(res).toEqual({ status: 204, remoteAddress: '127.0.0.2' });
    expect(a.hits).toHaveLength(0);
    expect(b.hits).toEqual([{ host: `localhost:${a.port}`, local: '127.0.0.2', signature: 'sig' }]);
  });

  it('names the timeout when the receiver does not answer in time', async () => {
    const silent = createServer(() => { /* never answers */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const target = { url: new URL(`http://127.0.0.1:${port}/hook`), host: '127.0.0.1', address: '127.0.0.1', family: 4 as const };
      await expect(postPinned(target, {}, '{}', 150)).rejects.toThrow('no answer within 150 ms (WEBHOOK_TIMEOUT_MS)');
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('needs no resolvable name: a name only the check resolved still reaches the pinned address', async () => {
    const target = { url: new URL(`http://hooks.example.invalid:${a.port}/`), host: 'hooks.example.invalid', address: '127.0.0.1', family: 4 as const };
    expect((await postPinned(target, {}, '{}', 2000)).status).toBe(204);
    expect(a.hits.at(-1)).toMatchObject({ host: `hooks.example.invalid:${a.port}`, local: '127.0.0.1' });
  });

  it('refuses a name whose answer holds any private address, and pins the first public one', async () => {
    // Documentation ranges (203.0.113.0/24, …) are not public either: the public answers are real ones (never connected to here).
    const mixed: Resolver = async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }];
    expect(await resolveWebhookTarget('https://hooks.example.com/x', false, mixed)).toEqual({ problem: expect.stringMatching(/resolves to 10\.0\.0\.5/) });
    const publicOnly: Resolver = async () => [{ address: '93.184.215.14', family: 4 }, { address: '8.8.4.4', family: 4 }];
    expect(await resolveWebhookTarget('https://hooks.example.com/x', false, publicOnly)).toMatchObject({ host: 'hooks.example.com', address: '93.184.215.14', family: 4 });
  });
});

describe('pinned TLS connection', () => {
  it('sends the URL host as SNI and verifies the certificate against it, while connecting to the pinned address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hooks.example.test',
        '-addext', 'subjectAltName=DNS:hooks.example.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'));
      const seen: { servername: string | false | null; host: string | undefined }[] = [];
      const server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
        seen.push({ servername: (req.socket as TLSSocket).servername, host: req.headers.host });
        req.resume();
        req.on('end', () => res.writeHead(204).end());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      try {
        const target = { url: new URL(`https://hooks.example.test:${port}/h`), host: 'hooks.example.test', address: '127.0.0.1', family: 4 as const };
        expect((await postPinned(target, {}, '{}', 2000, { ca: cert })).status).toBe(204);
        expect(seen).toEqual([{ servername: 'hooks.example.test', host: `hooks.example.test:${port}` }]);
        // The certificate is checked against the URL's host, not the address: another name fails.
        const other = { ...target, url: new URL(`https://other.example.test:${port}/h`), host: 'other.example.test' };
        await expect(postPinned(other, {}, '{}', 2000, { ca: cert })).rejects.toThrow(/altnames|does not match|certificate/i);
        expect(seen).toHaveLength(1);
      } finally {
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DNS rebinding during delivery', () => {
  it('never connects to the private address a later lookup returns', async () => {
    // A DNS server that answers public for the registration check and the delivery check, and
    // loopback (where a receiver listens) to any lookup after that.
    // The public answer is in 3ffe::/16 (the returned 6bone block): global unicast to the check, routed nowhere.
    const answers: string[] = [];
    const rebinding: Resolver = async () => {
      const address = answers.length < 2 ? '3ffe::10' : '127.0.0.1';
      answers.push(address);
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    };
    const before = a.hits.length;
    const webhooks = new Webhooks(t.app.engine.client, { allowPrivate: false, timeoutMs: 500, maxAttempts: 1, retryBaseMs: 10, resolve: rebinding }, t.app.log);
    const created = await webhooks.create(`http://rebind.example.com:${a.port}/hook`, 'a-secret-of-16-chars');
    expect(created).toMatchObject({ url: `http://rebind.example.com:${a.port}/hook` });
    const hookId = (created as { id: string }).id;
    webhooks.enqueue({ id: 'n-rebind-1', dedup_key: 'rebind', type: 'budget.threshold', payload: '{"test":true}' });
    let deliveries: { outcome: string; error: string; http_status: number }[] = [];
    for (let i = 0; i < 100 && deliveries.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      deliveries = await rows(t.app, 'SELECT outcome, error, http_status FROM webhook_deliveries WHERE webhook_id = {id:String}', { id: hookId });
    }
    webhooks.close();
    expect(answers).toEqual(['3ffe::10', '3ffe::10']); // one lookup per check, none at connect
    expect(a.hits.length).toBe(before); // the loopback receiver was never reached
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ outcome: 'failed', http_status: 0 });
    expect(deliveries[0]!.error).not.toBe('');
  });

  it('delivers, signed, to a name whose single check passed (private allowed for the local receiver)', async () => {
    let lookups = 0;
    const local: Resolver = async () => {
      lookups++;
      return [{ address: '127.0.0.2', family: 4 }];
    };
    const webhooks = new Webhooks(t.app.engine.client, { allowPrivate: true, timeoutMs: 2000, maxAttempts: 1, retryBaseMs: 10, resolve: local }, t.app.log);
    const created = (await webhooks.create(`http://receiver.example.com:${a.port}/hook`, 'a-secret-of-16-chars')) as { id: string };
    const before = b.hits.length;
    webhooks.enqueue({ id: 'n-local-1', dedup_key: 'local', type: 'budget.threshold', payload: '{"ok":1}' });
    for (let i = 0; i < 100 && b.hits.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    webhooks.close();
    expect(b.hits.at(-1)).toMatchObject({ host: `receiver.example.com:${a.port}`, local: '127.0.0.2', signature: expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/) });
    expect(lookups).toBe(2); // registration + the one delivery attempt
    let outcome: { outcome: string }[] = [];
    for (let i = 0; i < 50 && outcome.length === 0; i++) {
      outcome = await rows(t.app, 'SELECT outcome FROM webhook_deliveries WHERE webhook_id = {id:String}', { id: created.id });
      if (outcome.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(outcome).toEqual([{ outcome: 'delivered' }]);
  });
});
