// Webhook targets must be public: loopback, private, link-local, CGNAT, multicast and other
// special addresses are refused (SSRF), unless WEBHOOK_ALLOW_PRIVATE=true.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) blocked.addSubnet(net, bits, 'ipv6');

export function isForbiddenAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

export type ResolvedAddress = { address: string; family: number };
/** Name resolution, injectable so tests can play a DNS server that changes its answer. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;
export const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

/** A webhook URL resolved once: deliveries connect to `address` and nothing else. */
export type WebhookTarget = { url: URL; host: string; address: string; family: 4 | 6 };

/**
 * Check a URL and resolve its host exactly once. Every address the name resolves to must be
 * public (unless allowPrivate); the first one is returned for the caller to connect to, so a DNS
 * answer that changes between the check and the connection (rebinding) cannot redirect it.
 */
export async function resolveWebhookTarget(raw: string, allowPrivate: boolean, resolve: Resolver = systemResolver): Promise<WebhookTarget | { problem: string }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'only http and https URLs' };
  if (url.username || url.password) return { problem: 'credentials in the URL are not allowed; use the secret' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: ResolvedAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  } catch {
    return { problem: `cannot resolve ${host}` };
  }
  if (addresses.length === 0) return { problem: `cannot resolve ${host}` };
  const bad = allowPrivate ? undefined : addresses.find((a) => isForbiddenAddress(a.address));
  if (bad) return { problem: `${host} resolves to ${bad.address}, a loopback or private address (set WEBHOOK_ALLOW_PRIVATE=true to allow)` };
  const first = addresses[0]!;
  return { url, host, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** Why a URL may not be a webhook target, or undefined when it may. Resolves the host name. */
export async function webhookUrlProblem(raw: string, allowPrivate: boolean, resolve?: Resolver): Promise<string | undefined> {
  const target = await resolveWebhookTarget(raw, allowPrivate, resolve);
  return 'problem' in target ? target.problem : undefined;
}
