// Hourly anomaly detection: a value's cost in an hour against its baseline for the same hour of
// day; flagged at ≥ ratio × baseline and ≥ a minimum spend. For features, also the cost per event,
// so a feature that got dearer per task is caught even when traffic falls.
import type { ClickHouseClient } from '@clickhouse/client';
import { ApiError } from '../errors.js';
import { divRound, fromUnits, toUnits } from '../pricing/decimal.js';
import { fillSlots, sql } from '../sql.js';
import { isoFromClickHouseTime, toClickHouseTime } from '../clickhouse-time.js';
import { sliceTotals } from '../costs/query.js';
import { dimensions, rollupTables, type Dimension } from '../costs/dimensions.js';

export const anomalyDimensions = ['user', 'feature', 'customer', 'agent', 'model'] as const satisfies readonly Dimension[];
export type AnomalyDimension = (typeof anomalyDimensions)[number];

export function parseWindow(value: string, parameter = 'window'): number {
  const m = /^(\d{1,3})(h|d)$/.exec(value);
  const ms = m ? Number(m[1]) * (m[2] === 'h' ? 3_600_000 : 86_400_000) : 0;
  if (!m || ms <= 0 || ms > 31 * 86_400_000) throw new ApiError(400, 'invalid_request', `${parameter}: must be like 24h or 7d, at most 31d`, { errors: [{ parameter, message: 'bad window' }] });
  return ms;
}

type Row = { value: string; hour: string; cost_usd: string; events: number | string; baseline_week_cost_usd: string; baseline_week_events: number | string };
export type Anomaly = { dimension: string; value: string; hour: string; kind: 'spend' | 'cost_per_event'; cost_usd: string; baseline_cost_usd: string; ratio: number | null; events: number; cost_per_event: string | null; baseline_cost_per_event: string | null };

const BASELINE_DAYS = 7n;
/** A quotient of money units rounded half to even at 12 places (the unit), as a decimal string. */
const perUnit = (units: bigint, by: bigint) => (by === 0n ? null : fromUnits(divRound(units, by)));
/** numerator / denominator rounded half to even at 3 places, as a number. */
const ratioOf = (numerator: bigint, denominator: bigint) => (denominator === 0n ? null : Number(divRound(numerator * 1000n, denominator)) / 1000);

const HOUR = 3_600_000;
const hourParam = (ms: number) => toClickHouseTime(ms).slice(0, 19);

export async function detectAnomalies(client: ClickHouseClient, q: { dimension: AnomalyDimension; to: number; windowMs: number; ratio: number; minSpend: string; scope?: string[] }): Promise<Anomaly[]> {
  const from = Math.floor((q.to - q.windowMs) / HOUR) * HOUR;
  const { column, rollups } = dimensions[q.dimension];
  // The first (smallest) rollup that carries the dimension, as /agent-costs would choose; user has none.
  const rollup = rollups[0] && rollupTables[rollups[0]].hourly;
  const rows = await (await client.query({
    query: fillSlots(sql('anomalies/hourly'), rollup
      ? { column, raw_column: column, source: rollup, hour: 'hour', events: 'sum(events)' }
      : { column, raw_column: column, source: 'cost_events', hour: 'toStartOfHour(timestamp)', events: "countIf(record_type = 'event')" }),
    query_params: {
      from: hourParam(from), to: toClickHouseTime(q.to), whole_to: hourParam(Math.floor(q.to / HOUR) * HOUR), base_from: hourParam(from - 7 * 86_400_000),
      scoped: q.scope ? 1 : 0, scope: q.scope ?? [],
    },
    format: 'JSONEachRow',
  })).json<Row>();
  const min = toUnits(q.minSpend);
  const threshold = BigInt(Math.round(q.ratio * 1000));
  const out: Anomaly[] = [];
  for (const r of rows) {
    const cost = toUnits(r.cost_usd);
    if (cost < min) continue;
    const events = BigInt(r.events);
    const weekCost = toUnits(r.baseline_week_cost_usd);
    const weekEvents = BigInt(r.baseline_week_events);
    const common = {
      dimension: q.dimension, value: r.value, hour: isoFromClickHouseTime(r.hour), cost_usd: r.cost_usd, baseline_cost_usd: perUnit(weekCost, BASELINE_DAYS)!, events: Number(events),
      cost_per_event: perUnit(cost, events), baseline_cost_per_event: perUnit(weekCost, weekEvents),
    };
    // Judged on the exact figures: cost ≥ ratio × week / 7, i.e. cost × 7 ≥ ratio × week.
    if (weekCost > 0n && cost * BASELINE_DAYS * 1000n >= weekCost * threshold) out.push({ ...common, kind: 'spend', ratio: ratioOf(cost * BASELINE_DAYS, weekCost) });
    // A feature's cost per event is judged on its own: an hour may be anomalous in both ways.
    // cost / events ≥ ratio × week / weekEvents, i.e. cost × weekEvents ≥ ratio × week × events.
    if (q.dimension === 'feature' && events > 0n && weekEvents > 0n && weekCost > 0n
      && cost * weekEvents * 1000n >= weekCost * events * threshold) {
      out.push({ ...common, kind: 'cost_per_event', ratio: ratioOf(cost * weekEvents, weekCost * events) });
    }
  }
  return out;
}

export async function topSpenders(client: ClickHouseClient, q: { dimension: AnomalyDimension; to: number; windowMs: number; limit: number; scope?: string[] }) {
  // The costs read path (rollup for whole hours, raw edges); one extra row in case '' is among the top.
  const { rows } = await sliceTotals(client, { from: q.to - q.windowMs, to: q.to, filters: {}, groupBy: [q.dimension], limit: q.limit + 1, scope: q.scope });
  return rows.filter((r) => r.group[q.dimension] !== '').slice(0, q.limit).map((r) => ({ value: r.group[q.dimension]!, cost_usd: r.cost_usd, events: r.events }));
}
