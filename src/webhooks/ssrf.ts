// Webhook targets must be public: loopback, private, link-local, CGNAT, multicast, documentation
// and other special addresses (special-addresses.ts) are refused (SSRF), unless WEBHOOK_ALLOW_PRIVATE=true.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { specialAddressClass } from './special-addresses.js';

export { isForbiddenAddress, specialAddressClass } from './special-addresses.js';

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
  // Every answer is checked, not just the one pinned: a name must not lead anywhere private.
  for (const { address } of allowPrivate ? [] : addresses) {
    const special = specialAddressClass(address);
    if (special) return { problem: `${host} resolves to ${address}, not a public address (${special}); set WEBHOOK_ALLOW_PRIVATE=true to allow` };
  }
  const first = addresses[0]!;
  return { url, host, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** Why a URL may not be a webhook target, or undefined when it may. Resolves the host name. */
export async function webhookUrlProblem(raw: string, allowPrivate: boolean, resolve?: Resolver): Promise<string | undefined> {
  const target = await resolveWebhookTarget(raw, allowPrivate, resolve);
  return 'problem' in target ? target.problem : undefined;
}
