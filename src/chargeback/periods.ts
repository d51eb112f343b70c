// Billing months: parsing, open/closed status, and which closed months' late rows an open
// month's export carries as corrections (the closed months right before it).
import type { ClickHouseClient } from '@clickhouse/client';
import { ApiError } from '../errors.js';
import { toClickHouseTime } from '../clickhouse-time.js';
import { sql } from '../sql.js';

export type Month = { label: string; start: number; end: number; date: string };
export type Period = { month: string; status: 'closed'; closed_at: string; rows: number; effective_cost_usd: string; billed_cost_usd: string; list_cost_usd: string; content_hash: string };

export function parseMonth(label: string, parameter = 'month'): Month {
  const m = /^(\d{4})-(\d{2})$/.exec(label);
  const month = m ? Number(m[2]) : 0;
  if (!m || month < 1 || month > 12 || Number(m[1]) < 2000 || Number(m[1]) > 2200) {
    throw new ApiError(400, 'invalid_request', `${parameter}: must be YYYY-MM`, { errors: [{ parameter, message: 'must be YYYY-MM' }] });
  }
  const start = Date.UTC(Number(m[1]), month - 1, 1);
  const end = Date.UTC(Number(m[1]), month, 1);
  return { label, start, end, date: `${label}-01` };
}

export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);
/** The month before `m`: 1999-12 for the first month the ledger takes (2000-01), which holds no events. */
export const previousMonth = (m: Month): Month => {
  const start = Date.UTC(new Date(m.start).getUTCFullYear(), new Date(m.start).getUTCMonth() - 1, 1);
  const label = monthOf(start);
  return { label, start, end: m.start, date: `${label}-01` };
};

export async function loadPeriods(client: ClickHouseClient): Promise<Map<string, Period>> {
  const rows = await (await client.query({
    query: `SELECT toString(month) AS month, status, toString(closed_at) AS closed_at, rows, toString(effective_cost_usd) AS effective_cost_usd,
              toString(billed_cost_usd) AS billed_cost_usd, toString(list_cost_usd) AS list_cost_usd, content_hash
            FROM periods FINAL ORDER BY month`,
    format: 'JSONEachRow',
  })).json<Period>();
  return new Map(rows.map((p) => [p.month.slice(0, 7), p]));
}

/** Closed months whose late rows go into `m`'s export: the unbroken run of closed months before it. */
export function lateSources(m: Month, periods: Map<string, Period>) {
  const starts: string[] = [];
  const ends: string[] = [];
  const closed: string[] = [];
  for (let x = previousMonth(m); periods.has(x.label); x = previousMonth(x)) {
    starts.push(toClickHouseTime(x.start));
    ends.push(toClickHouseTime(x.end));
    closed.push(periods.get(x.label)!.closed_at);
  }
  return { late_starts: starts, late_ends: ends, late_closed: closed };
}

type StatementTotals = { month: string; rows: number; effective_cost_usd: string; billed_cost_usd: string };

/**
 * Months with data or a statement. A key scoped to product lines sees its own lines' ledger and
 * statement totals only; the statement hash (a fingerprint of every line's rows) is left out.
 */
export async function listPeriods(client: ClickHouseClient, scope: string[] | undefined) {
  const [periods, months, scopedStatements] = await Promise.all([
    loadPeriods(client),
    client.query({ query: sql('chargeback/period-ledger'), query_params: { scoped: scope ? 1 : 0, scope: scope ?? [] }, format: 'JSONEachRow' })
      .then((rs) => rs.json<{ month: string; cost_usd: string; events: number }>()),
    scope
      ? client.query({ query: sql('chargeback/period-statement-scoped'), query_params: { scope }, format: 'JSONEachRow' }).then((rs) => rs.json<StatementTotals>())
      : Promise.resolve([]),
  ]);
  const labels = new Set([...months.map((r) => r.month.slice(0, 7)), ...periods.keys()]);
  return {
    periods: [...labels].sort().map((label) => {
      const live = months.find((r) => r.month.startsWith(label));
      const closed = periods.get(label);
      if (!closed) return { month: label, status: 'open', ledger_cost_usd: live?.cost_usd ?? '0', events: live?.events ?? 0 };
      const common = { month: label, status: 'closed', closed_at: closed.closed_at, ledger_cost_usd: live?.cost_usd ?? '0', events: live?.events ?? 0 };
      if (!scope) return { ...common, rows: Number(closed.rows), effective_cost_usd: closed.effective_cost_usd, billed_cost_usd: closed.billed_cost_usd, content_hash: closed.content_hash };
      const own = scopedStatements.find((r) => r.month.startsWith(label));
      return { ...common, rows: Number(own?.rows ?? 0), effective_cost_usd: own?.effective_cost_usd ?? '0', billed_cost_usd: own?.billed_cost_usd ?? '0' };
    }),
  };
}
