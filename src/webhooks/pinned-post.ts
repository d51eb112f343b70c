// POST to a webhook target over a connection to exactly the address that passed the SSRF check:
// the socket's name lookup is answered with that address, while the Host header and the TLS
// server name (SNI, certificate check) stay the URL's host name. Redirects are not followed.
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { WebhookTarget } from './ssrf.js';

export type PinnedResponse = { status: number; remoteAddress: string | undefined };

/** `tls.ca` adds trust (a private CA, or a test's self-signed certificate); verification is never turned off. */
export function postPinned(target: WebhookTarget, headers: Record<string, string>, body: string, timeoutMs: number, tls: { ca?: string | Buffer } = {}): Promise<PinnedResponse> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    // With autoSelectFamily (Node 20's default) the socket asks for every address: give it one.
    if ((options as { all?: boolean }).all) (callback as unknown as (err: null, all: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const secure = target.url.protocol === 'https:';
  const options: https.RequestOptions = {
    method: 'POST',
    hostname: target.host,
    port: target.url.port || (secure ? 443 : 80),
    path: `${target.url.pathname}${target.url.search}`,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    lookup: pinned,
    agent: false, // no pooled socket that was opened to another address
    signal: AbortSignal.timeout(timeoutMs),
    ...(secure && !isIP(target.host) ? { servername: target.host } : {}),
    ...(secure && tls.ca ? { ca: tls.ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options, (res) => {
      const remoteAddress = res.socket?.remoteAddress;
      res.resume(); // drain: the body is not used
      res.on('end', () => resolve({ status: res.statusCode ?? 0, remoteAddress }));
      res.on('error', reject);
    });
    // An abort by the signal is the timeout: say so, not "The operation was aborted".
    req.on('error', (err) => reject(err.name === 'AbortError' ? new Error(`no answer within ${timeoutMs} ms (WEBHOOK_TIMEOUT_MS)`) : err));
    req.end(body);
  });
}
