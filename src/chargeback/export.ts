// The monthly finance export: which rows a month serves (live FOCUS rows at a snapshot, a closed
// month's frozen FOCUS statement, or the legacy statement of a month closed before FOCUS
// statements existed), their totals over all pages, and one page (or the whole month) rendered by
// ClickHouse's own output formats.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { fillSlots, sql } from '../sql.js';
import { loadPeriods, type Month, type Period } from './periods.js';
import { currentIssue, frozenSource, legacySource, liveSource, statementFiles, type FocusVersion, type Source, type StatementFile } from './focus.js';

export type ExportTotals = { rows: number; effective_cost_usd: string; billed_cost_usd: string; list_cost_usd: string; allocated_shared_usd: string; corrections_usd: string };
export type ExportScope = { environment: string; billing_mode: string };
export const ALL: ExportScope = { environment: 'all', billing_mode: '' };

/**
 * The rows a month serves for `version` (undefined: the default). A month closed before FOCUS
 * statements existed serves its legacy statement unless a version is asked for; then its
 * re-issued FOCUS statement, or 409 statement_not_reissued.
 */
export async function monthSource(app: FastifyInstance, m: Month, snapshot: number, version: FocusVersion | undefined, periods?: Map<string, Period>): Promise<Source & { files: StatementFile[] }> {
  const all = periods ?? await loadPeriods(app.engine.client);
  const closed = all.get(m.label);
  if (!closed) return { ...await liveSource(app, m, all, snapshot, version ?? '1.3'), files: [] };
  const files = await statementFiles(app, m);
  const issue = currentIssue(files);
  // A legacy month (no FOCUS close statement) keeps serving its legacy statement by default, re-issued or not.
  const legacy = !files.some((f) => f.kind === 'close');
  if (legacy && !version) return { ...legacySource(m, closed), files: [] };
  if (!issue) {
    throw new ApiError(409, 'statement_not_reissued', `${m.label} was closed before FOCUS statements existed; POST /api/v1/periods/${m.label}/reissue issues one (omit focus_version for the legacy statement)`);
  }
  return { ...frozenSource(m, closed, issue, version ?? '1.3'), files: files.filter((f) => f.issue_id === issue) };
}

export async function exportTotals(app: FastifyInstance, source: Source, scope: ExportScope): Promise<ExportTotals> {
  const [totals] = await (await app.engine.client.query({
    query: fillSlots(sql('chargeback/export-totals'), { rows: source.rows }),
    query_params: { ...source.params, ...scope },
    format: 'JSONEachRow',
  })).json<ExportTotals>();
  return { ...totals!, rows: Number(totals!.rows) };
}

export function pageQuery(source: Source, scope: ExportScope, limit: number, offset: number) {
  return {
    query: fillSlots(sql('chargeback/export-page'), { rows: source.rows, columns: source.columns, order: source.order }),
    query_params: { ...source.params, ...scope, limit, offset },
  };
}
