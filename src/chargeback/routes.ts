// Finance routes: weekly chargeback, the monthly FOCUS export, shared costs, month close,
// periods and reconciliation.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { windowBounds } from '../budgets/windows.js';
import { decimalPattern, text } from '../events/schema.js';
import { sql } from '../sql.js';
import { exportMonth, exportQuery } from './export-route.js';
import { closeMonth, reissueMonth } from './statements.js';
import { listPeriods, parseMonth } from './periods.js';
import { reconcile } from './reconcile.js';
import { getAllocation, recordSharedCost } from './shared-costs.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const environment = z.enum(['production', 'staging', 'development']);
const plList = z.string().max(4096).optional().describe('comma list of product lines');
const mondayOf = (ms: number) => new Date(windowBounds('week', ms).start).toISOString().slice(0, 10);

export const chargebackRoutes: FastifyPluginAsyncZod = async (app) => {
  const { client } = app.engine;

  app.get('/chargeback/weekly', {
    config: { roles: ['read', 'export'], scope: 'filtered' },
    schema: {
      tags: ['chargeback'], operationId: 'getWeeklyChargeback',
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
      tags: ['chargeback'], operationId: 'exportChargeback', produces: ['application/json', 'application/x-ndjson', 'text/csv', 'application/vnd.apache.parquet'], problems: { 400: ['cursor_mismatch'], 409: ['statement_not_reissued'] },
      summary: 'Monthly FOCUS 1.2 / 1.3 chargeback export, cursor-paginated over a stable snapshot, or the whole month as one streamed file',
      description: 'CSV and Parquet come straight from ClickHouse output formats; the FOCUS version is in `X-Focus-Version`; the next page is in `X-Next-Cursor` and `Link` (a cursor is bound to the month, format, version and filters), totals over all pages in `X-Total-*` headers (and `totals` in JSON). `whole_month=true` streams every row in one file; for a closed month its SHA-256 is in `X-Content-SHA256` and equals `sha256sum` of the download. A closed month returns its frozen statement.',
      querystring: exportQuery,
    },
  }, async (request, reply) => exportMonth(app, request, reply));

  app.post('/shared-costs', {
    config: { roles: [] },
    schema: {
      tags: ['chargeback'], operationId: 'recordSharedCost', successStatus: 201, problems: { 400: ['cost_out_of_range'], 409: ['period_closed', 'shared_cost_exists'], 422: ['no_allocation_basis'], 503: ['lock_busy'] },
      summary: 'Record a shared cost for a month and allocate it to product lines (admin)',
      body: z.strictObject({
        month: z.string().max(7),
        name: text(256).min(1),
        // Zero would record a cost that allocates nothing (docs/chargeback.md): refused like any other non-amount.
        amount_usd: z.string()
          .regex(/^\d{1,24}(\.\d{1,2})?$/, { message: 'must be a positive amount with at most 2 decimal places (cents)', abort: true })
          .refine((v) => /[1-9]/.test(v), 'must be a positive amount with at most 2 decimal places (cents)'),
        method: z.enum(['proportional', 'even', 'fixed']),
        basis: z.enum(['cost', 'events', 'tokens', 'requests']).optional().describe('proportional only; requests counts events whose tool or provider is basis_value'),
        basis_value: z.string().max(256).optional(),
        weights: z.record(z.string().max(64), z.string().regex(decimalPattern(24))).optional().describe('fixed only: product line → weight'),
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
    schema: { tags: ['chargeback'], operationId: 'getSharedCostAllocation', problems: { 404: ['unknown_shared_cost'] }, summary: 'A shared cost and its stored allocation (weights, shares, amounts)', params: z.object({ id: z.string().max(64) }) },
  }, async (request) => getAllocation(app, request.params.id));

  app.post('/periods/:month/close', {
    config: { roles: [] },
    schema: { tags: ['chargeback'], operationId: 'closePeriod', successStatus: 201, problems: { 409: ['period_closed', 'period_not_ended'], 503: ['lock_busy'] }, summary: 'Close a month (admin): freeze its statement with totals and a content hash', params: z.object({ month: z.string().max(7) }) },
  }, async (request, reply) => reply.code(201).send(await closeMonth(app, parseMonth(request.params.month))));

  app.post('/periods/:month/reissue', {
    config: { roles: [] },
    schema: {
      tags: ['chargeback'], operationId: 'reissuePeriod', successStatus: 201, problems: { 409: ['period_open', 'statement_current', 'reissue_mismatch'], 503: ['lock_busy'] },
      summary: 'Re-issue a month closed before FOCUS statements existed (admin): the same ledger rows as a FOCUS 1.2 / 1.3 statement with its own hashes; the legacy statement and hash stay',
      params: z.object({ month: z.string().max(7) }),
    },
  }, async (request, reply) => reply.code(201).send(await reissueMonth(app, parseMonth(request.params.month))));

  app.get('/periods', {
    config: { roles: ['read', 'export'], scope: 'filtered' },
    schema: { tags: ['chargeback'], operationId: 'listPeriods', summary: 'Months with data or a statement: status and totals' },
  }, async (request) => listPeriods(client, request.principal?.productLines));

  app.get('/reconciliation', {
    config: { roles: ['read', 'export'] },
    schema: { tags: ['chargeback'], operationId: 'getReconciliation', summary: 'Raw ledger vs weekly view vs export vs allocations for a month, to the last decimal', querystring: z.strictObject({ month: z.string().max(7).describe('YYYY-MM') }) },
  }, async (request) => reconcile(app, parseMonth(request.query.month)));
};
