// GET /exports/chargeback: query schema and handler. Pages walk a pinned snapshot with a cursor
// bound to every parameter that shapes the rows (month, format, FOCUS version, filters, limit);
// whole_month=true streams the month as one file, whose SHA-256 a closed month has on record.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeCursor, encodeCursor, snapshotFits } from '../cursor.js';
import { ApiError } from '../errors.js';
import { exportTotals, monthSource, pageQuery } from './export.js';
import { FOCUS_VERSIONS } from './focus.js';
import { parseMonth } from './periods.js';

const formats = { csv: 'CSVWithNames', parquet: 'Parquet', ndjson: 'JSONEachRow', json: 'JSONEachRow' } as const;
const contentTypes = { csv: 'text/csv; charset=utf-8', parquet: 'application/vnd.apache.parquet', ndjson: 'application/x-ndjson', json: 'application/json; charset=utf-8' } as const;
const cursorSchema = z.object({ v: z.literal(2), h: z.string(), s: z.number(), o: z.number().int().min(0) });

export const exportQuery = z.strictObject({
  month: z.string().max(7).describe('YYYY-MM'),
  format: z.enum(['csv', 'parquet', 'ndjson', 'json']).default('json'),
  focus_version: z.enum(FOCUS_VERSIONS).optional().describe('FOCUS version of the columns: 1.3 (default) or 1.2. A month closed before FOCUS statements existed serves its legacy statement when this is omitted.'),
  environment: z.enum(['production', 'staging', 'development', 'all']).default('all'),
  billing_mode: z.enum(['chargeback', 'showback']).optional().describe('showback: the showback-only report'),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  cursor: z.string().max(512).optional(),
  whole_month: z.enum(['true', 'false']).default('false').describe('true: every row of the month in one streamed file (no pages, no cursor)'),
});
type Query = z.infer<typeof exportQuery>;

export async function exportMonth(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  if (request.principal?.productLines) throw new ApiError(403, 'forbidden_scope', 'the finance export covers every product line; a scoped key cannot read it');
  const q = request.query as Query;
  const whole = q.whole_month === 'true';
  if (whole && (q.cursor || new URL(request.url, 'http://ledger.invalid').searchParams.has('limit'))) {
    throw new ApiError(400, 'invalid_request', 'whole_month: streams the whole month; it takes no cursor or limit', { errors: [{ parameter: 'whole_month', message: 'no cursor or limit with whole_month=true' }] });
  }
  const m = parseMonth(q.month);
  const scope = { environment: q.environment, billing_mode: q.billing_mode ?? '' };
  const hash = createHash('sha256').update(JSON.stringify([m.label, q.format, q.focus_version ?? 'default', scope.environment, scope.billing_mode, q.limit])).digest('base64url').slice(0, 22);
  const c = q.cursor ? decodeCursor(q.cursor, cursorSchema) : undefined;
  if (c && c.h !== hash) throw new ApiError(400, 'cursor_mismatch', 'cursor: it belongs to an export with other parameters (month, format, focus_version, filters or limit)');
  if (c && !snapshotFits(c.s)) throw new ApiError(400, 'invalid_cursor', 'cursor: not a cursor issued by this endpoint');
  const snapshot = c?.s ?? (await app.ingestor.watermark());
  const offset = c?.o ?? 0;
  const source = await monthSource(app, m, snapshot, q.focus_version);
  const totals = await exportTotals(app, source, scope);
  const limit = whole ? Math.max(totals.rows, 1) : q.limit;
  const next = !whole && offset + limit < totals.rows ? encodeCursor({ v: 2, h: hash, s: snapshot, o: offset + limit }) : null;
  reply.header('x-total-rows', String(totals.rows)).header('x-total-effective-cost', totals.effective_cost_usd)
    .header('x-total-billed-cost', totals.billed_cost_usd).header('x-total-list-cost', totals.list_cost_usd)
    .header('x-period-status', source.closed ? 'closed' : 'open').header('x-focus-version', source.version);
  if (source.issue) reply.header('x-statement-issue', source.issue);
  // The stored hash covers exactly this file: the whole month, all environments, CSV of this version.
  const file = source.files.find((f) => f.focus_version === source.version && f.format === q.format);
  if (whole && file && scope.environment === 'all' && !scope.billing_mode) reply.header('x-content-sha256', file.sha256);
  if (next) {
    const url = new URL(request.url, 'http://ledger.invalid');
    url.searchParams.set('cursor', next);
    reply.header('x-next-cursor', next).header('link', `<${url.pathname}${url.search}>; rel="next"`);
  }
  const page = pageQuery(source, scope, limit, offset);
  if (q.format === 'json') {
    const rows = await (await app.engine.client.query({ ...page, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    return reply.type(contentTypes.json).send({ month: m.label, status: source.closed ? 'closed' : 'open', focus_version: source.version, totals, rows, next_cursor: next });
  }
  const result = await app.engine.client.exec({ query: `${page.query} FORMAT ${formats[q.format]}`, query_params: page.query_params });
  const version = source.version === 'legacy' ? 'legacy' : `focus-${source.version}`;
  const part = whole || (offset === 0 && !next) ? '' : `-rows-${offset + 1}-${offset + limit}`;
  reply.header('content-disposition', `attachment; filename="chargeback-${m.label}-${version}${part}.${q.format}"`);
  return reply.type(contentTypes[q.format]).send(result.stream);
}
