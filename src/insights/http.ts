// Caching for insights answers, the /agent-costs way (src/costs/routes.ts): one ResponseCache per
// process, keyed by the caller's scope plus the normalized request, ETag / 304, X-Cache; an insert
// through this process drops the entries whose window and product lines it touches, and every
// entry of a product line where a run got an event.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ResponseCache, etagOf, matchesEtag, type CachedResponse } from '../costs/cache.js';
import { normalizedKey } from '../costs/params.js';

export type Rendered = { body: string; contentType: string; headers?: Record<string, string> };
export type Cached = (request: FastifyRequest, reply: FastifyReply, key: Record<string, unknown>, window: { from: number; to: number }, productLines: string[] | undefined, render: () => Promise<Rendered>) => Promise<FastifyReply>;

export const json = (body: unknown): Rendered => ({ body: JSON.stringify(body), contentType: 'application/json; charset=utf-8' });

export function insightsCache(app: FastifyInstance): Cached {
  const cfg = app.config;
  const cache = new ResponseCache({ maxEntries: cfg.CACHE_MAX_ENTRIES, maxBytes: cfg.CACHE_MAX_BYTES, ttlMs: cfg.CACHE_TTL_MS, closedTtlMs: cfg.CACHE_CLOSED_TTL_MS });
  app.ingestor.onCommitted((c) => cache.invalidate(c));
  // A scoped key's entries are its own; unscoped keys see the same data and share entries.
  const cacheScope = (request: FastifyRequest) => (request.principal?.productLines ? `key:${request.principal.id}` : '*');

  return async (request, reply, key, window, productLines, render) => {
    const cacheKey = normalizedKey({ ...key, scope: cacheScope(request), accept: request.headers.accept ?? '' });
    let entry: CachedResponse | undefined = cache.get(cacheKey);
    const hit = entry !== undefined;
    if (!entry) {
      const r = await render();
      // Insights judge whole runs (their cost, outcome, start): any event of a run may change them.
      entry = { body: r.body, contentType: r.contentType, headers: r.headers ?? {}, etag: etagOf(r.body), from: window.from, to: window.to, scope: productLines, runs: true };
      cache.set(cacheKey, entry);
    }
    reply.header('x-cache', hit ? 'hit' : 'miss').header('etag', entry.etag).header('vary', 'Accept, Authorization')
      .header('cache-control', `private, max-age=${Math.floor(cache.ttlFor(entry.to) / 1000)}`);
    for (const [k, v] of Object.entries(entry.headers)) reply.header(k, v);
    if (matchesEtag(request.headers['if-none-match'], entry.etag)) return reply.code(304).send();
    return reply.type(entry.contentType).send(entry.body);
  };
}
