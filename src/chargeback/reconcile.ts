// Reconciliation of one month: raw ledger = weekly view = export (+ late corrections shown in
// later months) and shared costs = allocated rows, each difference to the last decimal.
import type { FastifyInstance } from 'fastify';
import { fromUnits, toUnits } from '../pricing/decimal.js';
import { exportTotals, monthSource } from './export.js';
import { loadPeriods, type Month } from './periods.js';
import { toClickHouseTime } from '../clickhouse-time.js';

const scalar = async (app: FastifyInstance, query: string, params: Record<string, unknown>) => {
  const [row] = await (await app.engine.client.query({ query, query_params: params, format: 'JSONEachRow' })).json<{ v: string }>();
  return row?.v ?? '0';
};

export async function reconcile(app: FastifyInstance, m: Month) {
  const periods = await loadPeriods(app.engine.client);
  const snapshot = await app.ingestor.watermark();
  const window = { from: toClickHouseTime(m.start), to: toClickHouseTime(m.end), snapshot: toClickHouseTime(snapshot), month: m.date };
  // A legacy-closed month reconciles against its legacy statement; every other month against FOCUS rows.
  const source = await monthSource(app, m, snapshot, undefined, periods);
  const all = { environment: 'all', billing_mode: '' };
  const [raw, weekly, exported, shared, late] = await Promise.all([
    scalar(app, "SELECT toString(sum(cost_usd)) AS v FROM cost_events WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} AND received_at <= {snapshot:DateTime64(3, 'UTC')}", window),
    scalar(app, 'SELECT toString(sum(total_cost_usd)) AS v FROM weekly_chargeback WHERE month = {month:Date}', window),
    exportTotals(app, source, all),
    scalar(app, 'SELECT toString(sum(amount_usd)) AS v FROM shared_costs FINAL WHERE month = {month:Date}', window),
    // Rows of a closed month that arrived after it closed: in a later month's export as corrections.
    periods.has(m.label)
      ? scalar(app, "SELECT toString(sum(cost_usd)) AS v FROM cost_events WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} AND received_at > {closed:DateTime64(3, 'UTC')} AND received_at <= {snapshot:DateTime64(3, 'UTC')}", { ...window, closed: periods.get(m.label)!.closed_at })
      : Promise.resolve('0'),
  ]);
  const u = toUnits;
  const exportUsage = u(exported.effective_cost_usd) - u(exported.allocated_shared_usd) - u(exported.corrections_usd);
  const differences = {
    raw_minus_weekly: fromUnits(u(raw) - u(weekly)),
    raw_minus_export_and_late: fromUnits(u(raw) - exportUsage - u(late)),
    shared_minus_allocated: fromUnits(u(shared) - u(exported.allocated_shared_usd)),
  };
  return {
    month: m.label,
    status: periods.has(m.label) ? 'closed' : 'open',
    raw_usd: fromUnits(u(raw)),
    weekly_usd: fromUnits(u(weekly)),
    export_usage_usd: fromUnits(exportUsage),
    late_after_close_usd: fromUnits(u(late)),
    corrections_from_earlier_months_usd: fromUnits(u(exported.corrections_usd)),
    shared_costs_usd: fromUnits(u(shared)),
    allocated_shared_usd: fromUnits(u(exported.allocated_shared_usd)),
    differences,
    reconciled: Object.values(differences).every((d) => d === '0'),
  };
}
