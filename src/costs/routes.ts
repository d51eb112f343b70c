// GET /api/v1/agent-costs and /agent-costs/dimensions/{dimension}: cost by any slice, cached.
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { ResponseCache, etagOf, matchesEtag, type CachedResponse } from './cache.js';
import { prefersCsv } from '../accept.js';
import { toCsv } from './csv.js';
import { canonicalDimension, dimensionNames } from './dimensions.js';
import { agentCostsQuerystring, dimensionValuesQuerystring, normalizedKey, parseFilters, parseGroupBy, parseSort, parseWindow, type ParsedWindow } from './params.js';
import { costPage, scopedQuery } from './service.js';
import { windowIdentity } from './time.js';

const money = z.string().describe('USD as an exact decimal string');
const metrics = {
  cost_usd: money,
  events: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cache_read_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  runs: z.number().int().describe('runs started in the window that match the row (docs/analytics.md: run attributes: the greatest value the run\'s events carry; event-level dimensions: when any event used the value)'),
  failed_cost_usd: money.describe('cost of events whose status is not success'),
  cost_per_run: money.nullable().describe('cost_usd / runs, truncated to 12 decimals; null without runs'),
};
const agentCostsResponse = z.object({
  from: z.string(),
  to: z.string(),
  tz: z.string(),
  granularity: z.string().nullable(),
  group_by: z.array(z.string()),
  source: z.enum(['raw', 'rollup']).describe('rollup: whole hours from a narrow hourly rollup and the ragged edges from raw events; raw: cost_events alone'),
  rows: z.array(z.object({ group: z.record(z.string(), z.string()), bucket: z.string().optional(), ...metrics })),
  totals: z.object(metrics).describe('over all rows of the query, not just this page'),
  next_cursor: z.string().nullable(),
});
const dimensionValuesResponse = z.object({
  dimension: z.string(),
  from: z.string(),
  to: z.string(),
  values: z.array(z.object({ value: z.string(), cost_usd: money, events: z.number().int() })),
  next_cursor: z.string().nullable(),
});

const iso = (ms: number) => new Date(ms).toISOString();

type Rendered = { body: string; contentType: string; headers: Record<string, string> };

export const costRoutes: FastifyPluginAsyncZod = async (app) => {
  const cfg = app.config;
  const cache = new ResponseCache({ maxEntries: cfg.CACHE_MAX_ENTRIES, maxBytes: cfg.CACHE_MAX_BYTES, ttlMs: cfg.CACHE_TTL_MS, closedTtlMs: cfg.CACHE_CLOSED_TTL_MS });
  app.ingestor.onCommitted((c) => cache.invalidate(c));

  // A scoped key's entries are its own; unscoped keys see the same data and share entries.
  const cacheScope = (request: FastifyRequest) => (request.principal?.productLines ? `key:${request.principal.id}` : '*');
  const rawKey = (request: FastifyRequest) => `raw|${cacheScope(request)}|${prefersCsv(request.headers.accept) ? 'csv' : 'json'}|${request.url}`;

  function serve(request: FastifyRequest, reply: FastifyReply, entry: CachedResponse, hit: boolean) {
    reply.header('x-cache', hit ? 'hit' : 'miss').header('etag', entry.etag).header('vary', 'Accept, Authorization')
      .header('cache-control', `private, max-age=${Math.floor(cache.ttlFor(entry.to) / 1000)}`);
    for (const [k, v] of Object.entries(entry.headers)) reply.header(k, v);
    if (matchesEtag(request.headers['if-none-match'], entry.etag)) return reply.code(304).send();
    return reply.type(entry.contentType).send(entry.body);
  }

  /**
   * Fast path, before validation: a request whose exact URL was answered for this scope and
   * format is served from the cache without parsing anything again.
   */
  const fromCacheByUrl = async (request: FastifyRequest, reply: FastifyReply) => {
    const entry = cache.get(rawKey(request));
    if (entry) return serve(request, reply, entry, true);
  };

  /** Serve from the cache (keyed by scope + normalized query), with ETag / 304 and X-Cache. */
  async function cached(request: FastifyRequest, reply: FastifyReply, key: Record<string, unknown>, window: ParsedWindow, productLines: string[] | undefined, runs: boolean, render: () => Promise<Rendered>) {
    const cacheKey = normalizedKey({ ...key, scope: cacheScope(request) });
    let entry = cache.get(cacheKey);
    const hit = entry !== undefined;
    if (!entry) {
      const r = await render();
      entry = { ...r, etag: etagOf(r.body), from: window.from, to: window.to, scope: productLines, runs };
      cache.set(cacheKey, entry);
    }
    cache.set(rawKey(request), entry);
    return serve(request, reply, entry, hit);
  }

  app.get('/agent-costs', {
    config: { roles: ['read'], scope: 'filtered' },
    preValidation: fromCacheByUrl,
    schema: {
      tags: ['analytics'], operationId: 'queryAgentCosts', problems: { 400: ['cursor_mismatch'], 409: ['rollup_changed'] },
      summary: 'Cost by any slice: filters, group_by, time buckets, totals, pagination',
      description: 'Send `Accept: text/csv` for the same rows as CSV (next page in `X-Next-Cursor` / `Link`). Responses carry `ETag` and `X-Cache`; `If-None-Match` gives 304.',
      querystring: agentCostsQuerystring,
      response: { 200: agentCostsResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const window = parseWindow(q);
    const groupBy = parseGroupBy(q.group_by);
    const filters = parseFilters(q);
    const { sort, order } = parseSort(q.sort, q.order, groupBy, q.granularity);
    const csv = prefersCsv(request.headers.accept);
    const identity = { path: 'agent-costs', window: windowIdentity(window), tz: window.tz, granularity: q.granularity ?? null, groupBy, filters, sort, order, limit: q.limit, source: q.source };
    const productLines = scopedQuery(request.principal, filters).filters.product_line ?? request.principal?.productLines;
    return cached(request, reply, { identity, resolved: [window.from, window.to], cursor: q.cursor ?? null, csv }, window, productLines, true, async () => {
      const page = await costPage(app, request.principal, { window, base: { groupBy, filters, granularity: q.granularity, sort, order, limit: q.limit }, source: q.source, cursor: q.cursor, identity });
      const headers: Record<string, string> = { 'x-ledger-source': page.source };
      if (page.next_cursor) {
        headers['x-next-cursor'] = page.next_cursor;
        const next = new URL(request.url, 'http://ledger.invalid');
        next.searchParams.set('cursor', page.next_cursor);
        headers.link = `<${next.pathname}${next.search}>; rel="next"`;
      }
      if (csv) return { body: toCsv(page.rows, groupBy, !!q.granularity), contentType: 'text/csv; charset=utf-8', headers };
      const body = { from: iso(page.from), to: iso(page.to), tz: window.tz, granularity: q.granularity ?? null, group_by: groupBy, source: page.source, rows: page.rows, totals: page.totals, next_cursor: page.next_cursor };
      return { body: JSON.stringify(body), contentType: 'application/json; charset=utf-8', headers };
    });
  });

  app.get('/agent-costs/dimensions/:dimension', {
    config: { roles: ['read'], scope: 'filtered' },
    preValidation: fromCacheByUrl,
    schema: {
      tags: ['analytics'], operationId: 'listDimensionValues', problems: { 400: ['cursor_mismatch'] },
      summary: 'Distinct values of a dimension with their cost in the window (for filter pickers)',
      params: z.object({ dimension: z.string().max(64).describe(dimensionNames.join(' | ')) }),
      querystring: dimensionValuesQuerystring,
      response: { 200: dimensionValuesResponse },
    },
  }, async (request, reply) => {
    const dimension = canonicalDimension(request.params.dimension);
    if (!dimension) throw new ApiError(400, 'invalid_request', `dimension: unknown dimension; use ${dimensionNames.join(', ')}`, { errors: [{ parameter: 'dimension', message: 'unknown dimension' }] });
    const q = request.query;
    const window = parseWindow(q);
    const filters = parseFilters(q);
    const identity = { path: 'dimensions', dimension, window: windowIdentity(window), tz: window.tz, filters, limit: q.limit };
    const productLines = scopedQuery(request.principal, filters).filters.product_line ?? request.principal?.productLines;
    return cached(request, reply, { identity, resolved: [window.from, window.to], cursor: q.cursor ?? null }, window, productLines, false, async () => {
      const page = await costPage(app, request.principal, { window, base: { groupBy: [dimension], filters, sort: 'cost_usd', order: 'desc', limit: q.limit, withRuns: false }, source: 'auto', cursor: q.cursor, identity });
      const values = page.rows.map((r) => ({ value: r.group[dimension]!, cost_usd: r.cost_usd, events: r.events }));
      const body = { dimension, from: iso(page.from), to: iso(page.to), values, next_cursor: page.next_cursor };
      const headers: Record<string, string> = page.next_cursor ? { 'x-next-cursor': page.next_cursor } : {};
      return { body: JSON.stringify(body), contentType: 'application/json; charset=utf-8', headers };
    });
  });
};
