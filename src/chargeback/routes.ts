// Finance routes: weekly chargeback, the monthly FOCUS export, shared costs, month close,
// periods and reconciliation.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiError } from '../errors.js';
import { hashOf, normalizedKey } from '../costs/params.js';
import { windowBounds } from '../budgets/windows.js';
import { text } from '../events/schema.js';
import { sql } from '../sql.js';
import { exportTotals, monthSource, pageQuery, closeMonth } from './export.js';
import { loadPeriods, parseMonth } from './periods.js';
import { reconcile } from './reconcile.js';
import { getAllocation, recordSharedCost } from './shared-costs.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const environment = z.enum(['production', 'staging', 'development']);
const plList = z.string().max(4096).optional().describe('comma list of product lines');
const formats = { csv: 'CSVWithNames', parquet: 'Parquet', ndjson: 'JSONEachRow', json: 'JSONEachRow' } as const;
const contentTypes = { csv: 'text/csv; charset=utf-8', parquet: 'application/vnd.apache.parquet', ndjson: 'application/x-ndjson', json: 'application/json; charset=utf-8' } as const;
const cursorSchema = z.object({ v: z.literal(1), h: z.string(), s: z.number(), o: z.number().int().min(0) });
const mondayOf = (ms: number) => new Date(windowBounds('week', ms).start).toISOString().slice(0, 10);

export const chargebackRoutes: FastifyPluginAsyncZod = async (app) => {
  const { client } = app.engine;

  app.get('/chargeback/weekly', {
    config: { roles: ['read', 'export'] },
    schema: {
      tags: ['chargeback'],
      summary: 'Weekly chargeback per product line and environment (ISO weeks, Monday start, UTC), from a materialized view',
      querystring: z.strictObject({
        from: day.optional().describe('weeks whose Monday is on or after this day; default: 12 weeks ago'),
        to: day.optional().describe('weeks whose Monday is before this day; default: next Monday'),
        environment: environment.default('production').describe('production by default; staging and development are reported separately, never mixed in'),
        product_line: plList,
      }),
      response: {
        200: z.object({
          environment: z.string(), week_start: z.literal('monday'),
          rows: z.array(z.object({
            product_line_id: z.string(), environment: z.string(), week: z.string(), token_cost_usd: z.string(), compute_cost_usd: z.string(),
            tool_cost_usd: z.string(), other_cost_usd: z.string(), total_cost_usd: z.string(), total_tokens: z.number(), events: z.number(),
          })),
        }),
      },
    },
  }, async (request) => {
    const q = request.query;
    const to = q.to ?? mondayOf(Date.now() + 7 * 86_400_000);
    const from = q.from ?? mondayOf(Date.now() - 12 * 7 * 86_400_000);
    if (from >= to) throw new ApiError(400, 'invalid_request', 'from: must be before to', { errors: [{ parameter: 'from', message: 'from ≥ to' }] });
    const scope = request.principal?.productLines;
    const rows = await (await client.query({
      query: sql('chargeback/weekly'),
      query_params: { from, to, environment: q.environment, product_lines: q.product_line ? q.product_line.split(',') : [], scoped: scope ? 1 : 0, scope: scope ?? [] },
      format: 'JSONEachRow',
    })).json<{ product_line_id: string; environment: string; week: string; token_cost_usd: string; compute_cost_usd: string; tool_cost_usd: string; other_cost_usd: string; total_cost_usd: string; total_tokens: number; events: number }>();
    return { environment: q.environment, week_start: 'monday' as const, rows };
  });

  app.get('/exports/chargeback', {
    config: { roles: ['export'] },
    schema: {
      tags: ['chargeback'],
      summary: 'Monthly FOCUS-aligned chargeback export, cursor-paginated over a stable snapshot',
      description: 'CSV and Parquet come straight from ClickHouse output formats; the next page is in `X-Next-Cursor` and `Link`, totals over all pages in `X-Total-*` headers (and `totals` in JSON). A closed month returns its frozen statement.',
      querystring: z.strictObject({
        month: z.string().max(7).describe('YYYY-MM'),
        format: z.enum(['csv', 'parquet', 'ndjson', 'json']).default('json'),
        environment: z.enum(['production', 'staging', 'development', 'all']).default('all'),
        billing_mode: z.enum(['chargeback', 'showback']).optional().describe('showback: the showback-only report'),
        limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
        cursor: z.string().max(512).optional(),
      }),
    },
  }, async (request, reply) => {
    if (request.principal?.productLines) throw new ApiError(403, 'forbidden_scope', 'the finance export covers every product line; a scoped key cannot read it');
    const q = request.query;
    const m = parseMonth(q.month);
    const scope = { environment: q.environment, billing_mode: q.billing_mode ?? '' };
    const hash = hashOf(normalizedKey({ month: m.label, ...scope, limit: q.limit }));
    const c = q.cursor ? decodeCursor(q.cursor, cursorSchema) : undefined;
    if (c && c.h !== hash) throw new ApiError(400, 'cursor_mismatch', 'cursor: it belongs to an export with other parameters');
    const snapshot = c?.s ?? app.ingestor.watermark();
    const offset = c?.o ?? 0;
    const source = monthSource(m, await loadPeriods(client), snapshot);
    const totals = await exportTotals(app, source, scope);
    const next = offset + q.limit < totals.rows ? encodeCursor({ v: 1, h: hash, s: snapshot, o: offset + q.limit }) : null;
    reply.header('x-total-rows', String(totals.rows)).header('x-total-effective-cost', totals.effective_cost_usd)
      .header('x-total-billed-cost', totals.billed_cost_usd).header('x-total-list-cost', totals.list_cost_usd)
      .header('x-period-status', source.closed ? 'closed' : 'open');
    if (next) {
      const url = new URL(request.url, 'http://ledger.invalid');
      url.searchParams.set('cursor', next);
      reply.header('x-next-cursor', next).header('link', `<${url.pathname}${url.search}>; rel="next"`);
    }
    const page = pageQuery(source, scope, q.limit, offset);
    if (q.format === 'json') {
      const rows = await (await client.query({ ...page, format: 'JSONEachRow' })).json<Record<string, unknown>>();
      return reply.type(contentTypes.json).send({ month: m.label, status: source.closed ? 'closed' : 'open', totals, rows, next_cursor: next });
    }
    const result = await client.exec({ query: `${page.query} FORMAT ${formats[q.format]}`, query_params: page.query_params });
    if (q.format !== 'parquet') reply.header('content-disposition', `attachment; filename="chargeback-${m.label}.${q.format}"`);
    else reply.header('content-disposition', `attachment; filename="chargeback-${m.label}.parquet"`);
    return reply.type(contentTypes[q.format]).send(result.stream);
  });

  app.post('/shared-costs', {
    config: { roles: [] },
    schema: {
      tags: ['chargeback'],
      summary: 'Record a shared cost for a month and allocate it to product lines (admin)',
      body: z.strictObject({
        month: z.string().max(7),
        name: text(256).min(1),
        amount_usd: z.string().regex(/^\d{1,24}(\.\d{1,2})?$/, 'must be a positive amount with at most 2 decimal places (cents)'),
        method: z.enum(['proportional', 'even', 'fixed']),
        basis: z.enum(['cost', 'events', 'tokens', 'requests']).optional().describe('proportional only; requests counts events whose tool or provider is basis_value'),
        basis_value: z.string().max(256).optional(),
        weights: z.record(z.string().max(64), z.string().regex(/^\d{1,24}(\.\d{1,12})?$/)).optional().describe('fixed only: product line → weight'),
        product_lines: z.array(z.string().max(64)).max(10_000).optional().describe('proportional/even: only these product lines'),
      }).superRefine((b, ctx) => {
        if (b.method === 'fixed' && !b.weights) ctx.addIssue({ code: 'custom', path: ['weights'], message: 'fixed allocation needs weights' });
        if (b.method !== 'fixed' && b.weights) ctx.addIssue({ code: 'custom', path: ['weights'], message: 'weights are only for method fixed' });
        if (b.basis === 'requests' && !b.basis_value) ctx.addIssue({ code: 'custom', path: ['basis_value'], message: 'requests basis needs the tool or provider in basis_value' });
        if (b.basis && b.method !== 'proportional') ctx.addIssue({ code: 'custom', path: ['basis'], message: 'basis is only for method proportional' });
      }),
    },
  }, async (request, reply) => reply.code(201).send(await recordSharedCost(app, request.body)));

  app.get('/shared-costs/:id/allocation', {
    config: { roles: ['read', 'export'] },
    schema: { tags: ['chargeback'], summary: 'A shared cost and its stored allocation (weights, shares, amounts)', params: z.object({ id: z.string().max(64) }) },
  }, async (request) => getAllocation(app, request.params.id));

  app.post('/periods/:month/close', {
    config: { roles: [] },
    schema: { tags: ['chargeback'], summary: 'Close a month (admin): freeze its statement with totals and a content hash', params: z.object({ month: z.string().max(7) }) },
  }, async (request, reply) => reply.code(201).send(await closeMonth(app, parseMonth(request.params.month))));

  app.get('/periods', {
    config: { roles: ['read', 'export'] },
    schema: { tags: ['chargeback'], summary: 'Months with data or a statement: status and totals' },
  }, async () => {
    const periods = await loadPeriods(client);
    const months = await (await client.query({
      query: "SELECT toString(toStartOfMonth(timestamp)) AS month, toString(sum(cost_usd)) AS cost_usd, countIf(record_type = 'event') AS events FROM cost_events GROUP BY month ORDER BY month SETTINGS prefer_column_name_to_alias = 0",
      format: 'JSONEachRow',
    })).json<{ month: string; cost_usd: string; events: number }>();
    const labels = new Set([...months.map((r) => r.month.slice(0, 7)), ...periods.keys()]);
    return {
      periods: [...labels].sort().map((label) => {
        const live = months.find((r) => r.month.startsWith(label));
        const closed = periods.get(label);
        return closed
          ? { month: label, status: 'closed', closed_at: closed.closed_at, rows: Number(closed.rows), effective_cost_usd: closed.effective_cost_usd, billed_cost_usd: closed.billed_cost_usd, content_hash: closed.content_hash, ledger_cost_usd: live?.cost_usd ?? '0' }
          : { month: label, status: 'open', ledger_cost_usd: live?.cost_usd ?? '0', events: live?.events ?? 0 };
      }),
    };
  });

  app.get('/reconciliation', {
    config: { roles: ['read', 'export'] },
    schema: { tags: ['chargeback'], summary: 'Raw ledger vs weekly view vs export vs allocations for a month, to the last decimal', querystring: z.strictObject({ month: z.string().max(7).describe('YYYY-MM') }) },
  }, async (request) => reconcile(app, parseMonth(request.query.month)));
};
