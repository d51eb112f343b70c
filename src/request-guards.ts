// Checks every request passes before its body is read: with no API keys (every caller is admin),
// only loopback Host and Origin headers, so neither a page on another site nor a DNS-rebound name
// can drive the API from a browser; and in every mode, a body in a media type, charset and
// encoding its route reads. A text/plain POST needs no CORS preflight, so it must not be accepted.
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { isLoopback } from './auth.js';
import { ApiError } from './errors.js';
import { jsonSuffixType } from './json-body.js';

/** A host name as written in a Host header or URL: lower case, an IPv6 address without brackets. */
const bare = (name: string) => name.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** A Host header naming this machine's loopback (localhost, 127.x.x.x, [::1]), with any port. */
export function isLoopbackHost(host: string): boolean {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(host);
  return m !== null && isLoopback(bare(m[1]!));
}

/**
 * An Origin header of this server itself: a loopback host with the Host header's name and port (a
 * page served by another local program, e.g. a dev server on another port, is another origin);
 * "null" (sandboxed frames, file: pages) is not.
 */
export function isOwnLoopbackOrigin(origin: string, host: string): boolean {
  try {
    const url = new URL(origin);
    return isLoopback(bare(url.hostname)) && url.host.toLowerCase() === new URL(`${url.protocol}//${host}`).host.toLowerCase();
  } catch {
    return false;
  }
}

/** With no API keys: refuse requests addressed to another name, or sent by a page of another origin. */
export function registerLoopbackGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const { host, origin } = request.headers;
    if (host === undefined || !isLoopbackHost(host)) {
      return done(new ApiError(403, 'forbidden_host', 'with no API keys configured only requests addressed to localhost, 127.x.x.x or [::1] are served (another name may be DNS rebinding); set API_KEYS to serve other names'));
    }
    if (origin !== undefined && !isOwnLoopbackOrigin(origin, host)) {
      return done(new ApiError(403, 'forbidden_origin', 'with no API keys configured only pages this server serves (its own loopback origin) may call the API; set API_KEYS to allow other callers'));
    }
    done();
  });
}

/** What a route's body may be beyond JSON: more media types, and gzip (decoded by the route itself). */
export type BodyFormat = { types: readonly string[]; gzip: boolean };

const bodyMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const clip = (s: string) => (s.length > 64 ? `${s.slice(0, 64)}…` : s);

function charsetOf(params: string[]): string | undefined {
  for (const param of params) {
    const at = param.indexOf('=');
    if (at > 0 && param.slice(0, at).trim().toLowerCase() === 'charset') return param.slice(at + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
  }
  return undefined;
}

function bodyProblem(request: FastifyRequest, format: BodyFormat | undefined): ApiError | undefined {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && !format?.gzip) {
    return new ApiError(415, 'unsupported_content_encoding', `Content-Encoding ${clip(encoding)} is not accepted here (only POST /api/v1/events and POST /v1/traces take gzip); send the body uncompressed`);
  }
  const [mediaType = '', ...params] = (request.headers['content-type'] ?? '').split(';');
  const type = mediaType.trim().toLowerCase();
  if (type !== 'application/json' && !jsonSuffixType.test(type) && !format?.types.includes(type)) {
    const accepted = ['application/json', ...(format?.types ?? [])].join(', ');
    return new ApiError(415, 'unsupported_media_type', `${type ? `Content-Type ${clip(type)}` : 'a body without a Content-Type'} is not accepted here; send ${accepted}`);
  }
  const charset = charsetOf(params);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return new ApiError(415, 'unsupported_media_type', `charset ${clip(charset)} is not accepted; request bodies are UTF-8`);
  }
  return undefined;
}

/**
 * Every POST/PUT/PATCH/DELETE carrying a body must be JSON (application/json or application/*+json,
 * UTF-8, uncompressed) unless its route is listed in `formats` ("POST /api/v1/events").
 */
export function registerBodyGuard(app: FastifyInstance, formats: Record<string, BodyFormat>): void {
  // A hook on the routes that take bodies only: the reads (and their cached answers) pay nothing.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!methods.some((m) => bodyMethods.has(m))) return;
    const guard: onRequestHookHandler = (request, _reply, done) => {
      const { 'content-length': length, 'transfer-encoding': chunked } = request.headers;
      const hasBody = chunked !== undefined || (length !== undefined && length !== '0');
      if (!hasBody || !bodyMethods.has(request.method)) return done();
      done(bodyProblem(request, formats[`${request.method} ${route.url}`]));
    };
    route.onRequest = [guard, ...[route.onRequest ?? []].flat()];
  });
}
