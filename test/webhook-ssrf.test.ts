// The webhook SSRF check, address by address: every block of the IANA special-purpose registries
// that is not globally reachable is refused, at both edges, and the addresses just outside pass;
// IPv6 forms that embed IPv4 (mapped, NAT64, 6to4) are judged by their IPv4 address. Then the same
// through the API: literal URLs, and host names whose DNS answer is special (lookup mocked).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { isForbiddenAddress, resolveWebhookTarget, type Resolver } from '../src/webhooks/ssrf.js';
import { buildTestApp, type TestApp } from './helper.js';

// Host names under .ssrf.test answer what this table says; everything else goes to the real lookup.
const DNS: Record<string, string[]> = {
  'nat64-loopback.ssrf.test': ['64:ff9b::7f00:1'],
  'nat64-metadata.ssrf.test': ['64:ff9b::a9fe:a9fe'],
  'docs.ssrf.test': ['2001:db8::1'],
  'mixed.ssrf.test': ['2606:4700:4700::1111', '2002:a00:1::1'],
  'public.ssrf.test': ['64:ff9b::808:808', '2606:4700:4700::1111'],
};
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = (async (host: string, options: unknown) => {
    const answer = DNS[host];
    if (!answer) return real.lookup(host, options as never);
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }) as typeof real.lookup;
  return { ...real, lookup, default: { ...real, lookup } };
});

/** Not public: [address, what it is]. */
const REFUSED: [string, string][] = [
  ['0.0.0.0', 'this network'], ['0.255.255.255', 'this network'],
  ['10.0.0.0', 'private'], ['10.255.255.255', 'private'],
  ['100.64.0.0', 'CGNAT'], ['100.127.255.255', 'CGNAT'],
  ['127.0.0.1', 'loopback'], ['127.255.255.255', 'loopback'],
  ['169.254.0.0', 'link-local'], ['169.254.169.254', 'cloud metadata'], ['169.254.255.255', 'link-local'],
  ['172.16.0.0', 'private'], ['172.31.255.255', 'private'],
  ['192.0.0.0', 'IETF protocol assignments'], ['192.0.0.170', 'NAT64 discovery'], ['192.0.0.255', 'IETF protocol assignments'],
  ['192.0.2.0', 'TEST-NET-1'], ['192.0.2.255', 'TEST-NET-1'],
  ['192.88.99.1', '6to4 relay anycast'],
  ['192.168.0.0', 'private'], ['192.168.255.255', 'private'],
  ['198.18.0.0', 'benchmarking'], ['198.19.255.255', 'benchmarking'],
  ['198.51.100.0', 'TEST-NET-2'], ['198.51.100.255', 'TEST-NET-2'],
  ['203.0.113.0', 'TEST-NET-3'], ['203.0.113.255', 'TEST-NET-3'],
  ['224.0.0.1', 'multicast'], ['239.255.255.255', 'multicast'],
  ['240.0.0.0', 'reserved'], ['255.255.255.255', 'broadcast'],
  ['::', 'unspecified'], ['0:0:0:0:0:0:0:0', 'unspecified'], ['::1', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::2', 'IPv4-compatible'], ['::a00:1', 'IPv4-compatible'], ['::8.8.8.8', 'IPv4-compatible'],
  ['::ffff:127.0.0.1', 'mapped loopback'], ['::FFFF:127.0.0.1', 'mapped loopback'], ['::ffff:7f00:1', 'mapped loopback'],
  ['::ffff:10.1.2.3', 'mapped private'], ['::ffff:a9fe:a9fe', 'mapped metadata'], ['::ffff:0:0', 'mapped 0.0.0.0'],
  ['::ffff:0:808:808', 'IPv4-translated (SIIT)'],
  ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1'], ['64:ff9b::127.0.0.1', 'NAT64 of 127.0.0.1'], ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 of 169.254.169.254'], ['64:ff9b::c0a8:1', 'NAT64 of 192.168.0.1'], ['64:ff9b::', 'NAT64 of 0.0.0.0'],
  ['64:ff9b::e000:1', 'NAT64 of multicast'], ['64:ff9b::1:808:808', 'next to the NAT64 /96, outside 2000::/3'],
  ['64:ff9b:1::7f00:1', 'local-use NAT64, /96 reading 127.0.0.1'], ['64:ff9b:1:7f00:0:100::', 'local-use NAT64, /48 reading 127.0.0.1'],
  ['64:ff9b:1:a:a:a:808:808', 'local-use NAT64, /48 reading 0.10.10.0'], ['64:ff9b:1:808:8:800::', 'local-use NAT64, /96 reading 0.0.0.0'],
  ['100::', 'discard-only'], ['100::ffff:ffff:ffff:ffff', 'discard-only'], ['100:0:0:1::1', 'dummy prefix'],
  ['2001::', 'Teredo'], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'], ['2001:1::1', 'PCP anycast'],
  ['2001:2::1', 'benchmarking'], ['2001:10::1', 'ORCHID'], ['2001:20::1', 'ORCHIDv2'], ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'end of 2001::/23'],
  ['2001:db8::', 'documentation'], ['2001:db8::1', 'documentation'], ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
  ['2002:7f00:1::1', '6to4 of 127.0.0.1'], ['2002:a00:1::', '6to4 of 10.0.0.1'], ['2002:a9fe:a9fe::1', '6to4 of 169.254.169.254'], ['2002::1', '6to4 of 0.0.0.0'],
  ['3fff::1', 'documentation (RFC 9637)'], ['3fff:fff:ffff::1', 'documentation (RFC 9637)'],
  ['fc00::1', 'unique local'], ['fd12:3456:789a::1', 'unique local'], ['fdff:ffff::1', 'unique local'],
  ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local with a zone'], ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'site-local'], ['ff00::', 'multicast'], ['ff02::1', 'multicast'], ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'below 2000::/3'], ['4000::1', 'above 2000::/3'], ['5f00::1', 'segment routing SIDs'],
  ['', 'empty'], ['localhost', 'not an address'], ['127.1', 'not a dotted quad'], ['1::2::3', 'malformed'], ['::ffff:999.0.0.1', 'malformed'],
];
/** Public, often right next to a refused block. */
const ALLOWED: [string, string][] = [
  ['1.1.1.1', 'public'], ['8.8.8.8', 'public'], ['93.184.215.14', 'public'], ['9.255.255.255', 'before 10/8'], ['11.0.0.0', 'after 10/8'],
  ['100.63.255.255', 'before CGNAT'], ['100.128.0.0', 'after CGNAT'], ['126.255.255.255', 'before loopback'], ['128.0.0.0', 'after loopback'],
  ['169.253.255.255', 'before link-local'], ['169.255.0.0', 'after link-local'], ['172.15.255.255', 'before 172.16/12'], ['172.32.0.0', 'after 172.16/12'],
  ['192.0.1.0', 'between 192.0.0/24 and TEST-NET-1'], ['192.0.3.0', 'after TEST-NET-1'], ['192.31.196.1', 'AS112 (reachable)'],
  ['192.52.193.1', 'AMT (reachable)'], ['192.88.98.255', 'before 6to4 relay'], ['192.88.100.0', 'after 6to4 relay'], ['192.167.255.255', 'before 192.168/16'],
  ['192.169.0.0', 'after 192.168/16'], ['192.175.48.1', 'AS112 direct delegation (reachable)'], ['198.17.255.255', 'before benchmarking'], ['198.20.0.0', 'after benchmarking'],
  ['198.51.99.255', 'before TEST-NET-2'], ['198.51.101.0', 'after TEST-NET-2'], ['203.0.112.255', 'before TEST-NET-3'], ['203.0.114.0', 'after TEST-NET-3'],
  ['223.255.255.255', 'before multicast'],
  ['::ffff:8.8.8.8', 'mapped public'], ['::ffff:808:808', 'mapped public'],
  ['64:ff9b::808:808', 'NAT64 of 8.8.8.8'], ['64:ff9b::8.8.8.8', 'NAT64 of 8.8.8.8'], ['64:ff9b::5db8:d70e', 'NAT64 of 93.184.215.14'],
  ['64:ff9b:1:808:8:808:808:808', 'local-use NAT64 that reads 8.8.8.8 at every prefix length'],
  ['2002:808:808::1', '6to4 of 8.8.8.8'],
  ['2000::1', 'start of 2000::/3'], ['2001:200::1', 'after 2001::/23'], ['2001:db7:ffff::1', 'before 2001:db8::/32'], ['2001:db9::1', 'after 2001:db8::/32'],
  ['2001:4860:4860::8888', 'public'], ['2003::1', 'after 2002::/16'], ['2606:4700:4700::1111', 'public'], ['2a00:1450:4001:82a::200e', 'public'],
  ['3ffe::1', 'below 3fff::/20'], ['3fff:1000::1', 'after 3fff::/20'], ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'end of 2000::/3'],
];

describe('address classifier', () => {
  it.each(REFUSED)('refuses %s (%s)', (address) => expect(isForbiddenAddress(address)).toBe(true));
  it.each(ALLOWED)('allows %s (%s)', (address) => expect(isForbiddenAddress(address)).toBe(false));
});

describe('resolved addresses', () => {
  const answering = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses a name when any answer is special, naming the address and why', async () => {
    expect(await resolveWebhookTarget('https://hooks.example.com/x', false, answering('64:ff9b::7f00:1'))).toEqual({ problem: expect.stringMatching(/^hooks\.example\.com resolves to 64:ff9b::7f00:1, .*127\.0\.0\.1.*loopback/) });
    expect(await resolveWebhookTarget('https://hooks.example.com/x', false, answering('8.8.8.8', '2001:db8::5'))).toEqual({ problem: expect.stringMatching(/resolves to 2001:db8::5, .*documentation/) });
    expect(await resolveWebhookTarget('https://hooks.example.com/x', false, answering('2606:4700:4700::1111', '2002:c0a8:101::1'))).toEqual({ problem: expect.stringMatching(/resolves to 2002:c0a8:101::1, .*192\.168\.1\.1/) });
  });

  it('pins the first answer when every answer is public', async () => {
    expect(await resolveWebhookTarget('https://hooks.example.com/x', false, answering('64:ff9b::808:808', '8.8.4.4'))).toMatchObject({ host: 'hooks.example.com', address: '64:ff9b::808:808', family: 6 });
  });

  it('takes special addresses with allowPrivate', async () => {
    expect(await resolveWebhookTarget('http://[64:ff9b::7f00:1]:8080/x', true)).toMatchObject({ host: '64:ff9b::7f00:1', address: '64:ff9b::7f00:1', family: 6 });
    expect(await resolveWebhookTarget('https://hooks.example.com/x', true, answering('2001:db8::1'))).toMatchObject({ address: '2001:db8::1', family: 6 });
  });
});

describe('POST /api/v1/webhooks', () => {
  const secret = 'a-secret-of-16-chars';
  let t: TestApp;
  let strict: FastifyInstance;
  let lenient: FastifyInstance; // WEBHOOK_ALLOW_PRIVATE=true, on the same engine
  beforeAll(async () => {
    t = await buildTestApp({ BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0 });
    strict = t.app;
    lenient = await buildApp(configWith({ DATA_DIR: t.dir, LOG_LEVEL: 'silent', MIGRATE_ON_START: false, BUDGET_EVAL_INTERVAL_MS: 0, BUDGET_SYNC_MS: 0, WEBHOOK_ALLOW_PRIVATE: true }), { engine: t.app.engine });
  });
  afterAll(async () => {
    await lenient?.close();
    await t?.close();
  });
  const register = (app: FastifyInstance, url: string) => app.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url, secret } });

  it.each([
    'http://[64:ff9b::7f00:1]/', 'http://[64:ff9b::127.0.0.1]:8080/x', 'http://[64:ff9b::a9fe:a9fe]/latest/meta-data', 'http://[64:ff9b:1::a00:1]/',
    'http://[2001:db8::1]/', 'http://[2001::1]/', 'http://[2002:7f00:1::1]/', 'http://[100::1]/', 'http://[::ffff:7f00:1]/', 'http://[fd00::1]/',
    'http://[fe80::1]/', 'http://[ff02::1]/', 'http://[::]/', 'http://[3fff::1]/', 'http://192.0.2.1/', 'http://203.0.113.9/', 'http://198.51.100.7/',
    'http://nat64-loopback.ssrf.test/hook', 'http://nat64-metadata.ssrf.test/hook', 'https://docs.ssrf.test/hook', 'https://mixed.ssrf.test/hook',
  ])('refuses %s with 400 webhook_url_forbidden', async (url) => {
    const res = await register(strict, url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ reason: 'webhook_url_forbidden', errors: [{ parameter: 'url', message: expect.stringMatching(/resolves to .*not a public address/) }] });
  });

  it('registers public targets, also NAT64 and 6to4 forms of public IPv4 addresses and names that resolve to them', async () => {
    for (const url of ['http://[64:ff9b::808:808]/hook', 'http://[2002:808:808::1]/hook', 'https://public.ssrf.test/hook']) {
      const res = await register(strict, url);
      expect(res.statusCode, url).toBe(201);
      expect(res.json()).toMatchObject({ url });
    }
  });

  it('registers special addresses when WEBHOOK_ALLOW_PRIVATE is set', async () => {
    for (const url of ['http://[64:ff9b::7f00:1]/', 'http://[2001:db8::1]/', 'https://nat64-loopback.ssrf.test/hook']) {
      expect((await register(lenient, url)).statusCode, url).toBe(201);
    }
  });
});
