// The monthly finance export: FOCUS-aligned rows of an open month (live, pinned to a snapshot)
// or the frozen statement of a closed month, paged by offset over a stable order, rendered by
// ClickHouse's own output formats. Month close freezes the statement with totals and a hash.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { fillSlots, sql } from '../sql.js';
import { lateSources, loadPeriods, type Month, type Period } from './periods.js';
import { toClickHouseTime } from '../clickhouse-time.js';

export const exportOrder = 'ChargePeriodStart, x_ProductLine, x_Environment, ServiceProviderName, ServiceName, SkuId, ConsumedUnit, x_Agent, ChargeClass NULLS FIRST, x_SharedCostId';
const liveRows = () => `${sql('chargeback/export-usage')}\nUNION ALL\n${sql('chargeback/export-allocations')}`;
const statementRows = "SELECT * FROM statement_rows WHERE statement_month = toDate({month_start:DateTime64(3, 'UTC')})";

export type ExportTotals = { rows: number; effective_cost_usd: string; billed_cost_usd: string; list_cost_usd: string; allocated_shared_usd: string; corrections_usd: string };
export type ExportScope = { environment: string; billing_mode: string };

/** The row source and bound parameters for a month: its statement when closed, live rows at `snapshot` otherwise. */
export function monthSource(m: Month, periods: Map<string, Period>, snapshot: number) {
  const closed = periods.get(m.label);
  const params = {
    billing_start: toClickHouseTime(m.start), billing_end: toClickHouseTime(m.end),
    month_start: toClickHouseTime(m.start), month_end: toClickHouseTime(m.end),
    snapshot: toClickHouseTime(snapshot), ...lateSources(m, periods),
  };
  return closed
    ? { closed, rows: statementRows, columns: '* EXCEPT (statement_month, row_no)', order: 'row_no', params }
    : { closed: undefined, rows: liveRows(), columns: '*', order: exportOrder, params };
}

export async function exportTotals(app: FastifyInstance, source: ReturnType<typeof monthSource>, scope: ExportScope): Promise<ExportTotals> {
  const [totals] = await (await app.engine.client.query({
    query: fillSlots(sql('chargeback/export-totals'), { rows: source.rows }),
    query_params: { ...source.params, ...scope },
    format: 'JSONEachRow',
  })).json<ExportTotals>();
  return { ...totals!, rows: Number(totals!.rows) };
}

export function pageQuery(source: ReturnType<typeof monthSource>, scope: ExportScope, limit: number, offset: number) {
  return {
    query: fillSlots(sql('chargeback/export-page'), { rows: source.rows, columns: source.columns, order: source.order }),
    query_params: { ...source.params, ...scope, limit, offset },
  };
}

let closing: Promise<unknown> = Promise.resolve();

/** Freeze a month: its rows as of now go into statement_rows in export order, with totals and a hash. */
export function closeMonth(app: FastifyInstance, m: Month): Promise<Period> {
  const run = closing.then(async () => {
    const { client } = app.engine;
    const periods = await loadPeriods(client);
    if (periods.has(m.label)) throw new ApiError(409, 'period_closed', `${m.label} is already closed`);
    if (m.end > Date.now()) throw new ApiError(409, 'period_not_ended', `${m.label} has not ended yet`);
    const snapshot = app.ingestor.watermark();
    const source = monthSource(m, periods, snapshot);
    await client.command({
      query: `INSERT INTO statement_rows SELECT toDate({month_start:DateTime64(3, 'UTC')}) AS statement_month, row_number() OVER (ORDER BY ${exportOrder}) AS row_no, * FROM (${source.rows})`,
      query_params: source.params,
    });
    const frozen = monthSource(m, new Map([...periods, [m.label, { closed_at: toClickHouseTime(snapshot) } as Period]]), snapshot);
    const all = { environment: 'all', billing_mode: '' };
    const totals = await exportTotals(app, frozen, all);
    const whole = pageQuery(frozen, all, totals.rows, 0);
    const csv = (await client.exec({ query: `${whole.query} FORMAT CSV`, query_params: whole.query_params })).stream;
    const hash = createHash('sha256');
    for await (const chunk of csv) hash.update(chunk as Buffer);
    const period: Period = {
      month: m.date, status: 'closed', closed_at: toClickHouseTime(snapshot), rows: totals.rows,
      effective_cost_usd: totals.effective_cost_usd, billed_cost_usd: totals.billed_cost_usd, list_cost_usd: totals.list_cost_usd,
      content_hash: `sha256:${hash.digest('hex')}`,
    };
    await client.insert({ table: 'periods', values: [period], format: 'JSONEachRow' });
    return { ...period, month: m.label };
  });
  closing = run.catch(() => undefined);
  return run;
}
