// Builds and runs the agent-costs query: picks the hourly rollup when it can answer exactly,
// the raw ledger otherwise (and always when a pagination snapshot is pinned).
import type { ClickHouseClient } from '@clickhouse/client';
import { fillSlots, sql } from '../sql.js';
import { dimensions, type Dimension } from './dimensions.js';
import { wholeHourZone, type Granularity } from './time.js';
import { toClickHouseTime } from '../clickhouse-time.js';

export const metricNames = ['cost_usd', 'events', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'runs', 'failed_cost_usd', 'cost_per_run'] as const;
export type Metrics = {
  cost_usd: string; events: number; input_tokens: number; output_tokens: number; cache_read_tokens: number;
  cache_write_tokens: number; reasoning_tokens: number; runs: number; failed_cost_usd: string; cost_per_run: string | null;
};
export type CostRow = { group: Partial<Record<Dimension, string>>; bucket?: string } & Metrics;

export type CostQuery = {
  from: number;
  to: number;
  tz: string;
  granularity?: Granularity;
  groupBy: Dimension[];
  filters: Partial<Record<Dimension, string[]>>;
  /** Product lines the caller may see; undefined = all. */
  scope?: string[];
  sort: 'cost_usd' | 'events' | 'bucket' | Dimension;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
  /** Only rows received at or before this instant (pins pagination); forces the raw table. */
  snapshot?: number;
};

export type Source = 'raw' | 'rollup';

const HOUR = 3_600_000;

/** The rollup answers exactly when every dimension involved is in it and hours map onto buckets. */
export function canUseRollup(q: CostQuery): boolean {
  const dims = [...q.groupBy, ...(Object.keys(q.filters) as Dimension[])];
  return q.snapshot === undefined
    && dims.every((d) => dimensions[d].rollup)
    && q.from % HOUR === 0 && q.to % HOUR === 0
    && wholeHourZone(q.tz, q.from, q.to);
}

function bucketExpression(g: Granularity, time: string): string {
  const start = {
    hour: `toStartOfHour(${time}, {tz:String})`,
    day: `toStartOfDay(${time}, {tz:String})`,
    week: `toDateTime(toStartOfWeek(${time}, 1, {tz:String}), {tz:String})`,
    month: `toDateTime(toStartOfMonth(${time}, {tz:String}), {tz:String})`,
  }[g];
  // ISO-8601 with the zone's offset at the bucket start, e.g. 2026-03-29T00:00:00+01:00.
  return `replaceRegexpOne(formatDateTime(${start}, '%FT%T%z', {tz:String}), '([+-][0-9][0-9])([0-9][0-9])$', '\\\\1:\\\\2')`;
}

export function buildCostQuery(q: CostQuery, source: Source): { query: string; params: Record<string, unknown> } {
  const time = source === 'raw' ? 'timestamp' : 'hour';
  const params: Record<string, unknown> = { from: toClickHouseTime(q.from), to: toClickHouseTime(q.to), tz: q.tz, limit: q.limit + 1, offset: q.offset };
  const keys = q.groupBy.map((d) => `${dimensions[d].column} AS g_${d}`);
  const aliases = q.groupBy.map((d) => `g_${d}`);
  if (q.granularity) {
    keys.push(`${bucketExpression(q.granularity, time)} AS bucket`);
    aliases.push('bucket');
  }
  const filters: string[] = [];
  for (const [d, values] of Object.entries(q.filters) as [Dimension, string[]][]) {
    filters.push(`AND ${dimensions[d].column} IN {f_${d}:Array(String)}`);
    params[`f_${d}`] = values;
  }
  if (q.scope) {
    filters.push('AND product_line_id IN {scope:Array(String)}');
    params.scope = q.scope;
  }
  if (q.snapshot !== undefined) {
    filters.push("AND received_at <= {snapshot:DateTime64(3, 'UTC')}");
    params.snapshot = toClickHouseTime(q.snapshot);
  }
  const grouped = keys.length > 0;
  const keyOrder = [...q.groupBy.map((d) => `g_${d} ASC`), ...(q.granularity ? ['bucket ASC'] : [])];
  const metricOrder = { cost_usd: 'sum(cost_usd)', events: source === 'raw' ? "countIf(record_type = 'event')" : 'sum(events)' };
  const primary = q.sort === 'cost_usd' || q.sort === 'events' ? `${metricOrder[q.sort]} ${q.order.toUpperCase()}` : `${q.sort === 'bucket' ? 'bucket' : `g_${q.sort}`} ${q.order.toUpperCase()}`;
  const query = fillSlots(sql('costs/agent-costs'), {
    keys: keys.map((k) => `${k},`).join('\n    '),
    metrics: sql(`costs/metrics-${source}`),
    source: source === 'raw' ? 'cost_events' : 'cost_rollup_hourly',
    time,
    filters: filters.join('\n  '),
    group_by: grouped ? `GROUP BY ${aliases.join(', ')}` : '',
    order_by: grouped ? `ORDER BY ${[primary, ...keyOrder].join(', ')}` : '',
  });
  return { query, params };
}

type RawRow = Record<string, unknown>;

function toMetrics(r: RawRow): Metrics {
  return {
    cost_usd: String(r.m_cost_usd), events: Number(r.m_events), input_tokens: Number(r.m_input_tokens), output_tokens: Number(r.m_output_tokens),
    cache_read_tokens: Number(r.m_cache_read_tokens), cache_write_tokens: Number(r.m_cache_write_tokens), reasoning_tokens: Number(r.m_reasoning_tokens),
    runs: Number(r.m_runs), failed_cost_usd: String(r.m_failed_cost_usd), cost_per_run: r.m_cost_per_run == null ? null : String(r.m_cost_per_run),
  };
}

export async function runCostQuery(client: ClickHouseClient, q: CostQuery, source: Source): Promise<{ rows: CostRow[]; totals: Metrics; hasMore: boolean }> {
  const run = async (cq: CostQuery) => {
    const { query, params } = buildCostQuery(cq, source);
    const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<RawRow>();
  };
  const grouped = q.groupBy.length > 0 || q.granularity !== undefined;
  // Totals over every row of the query, not the page: the same filters without grouping.
  const [data, totalsRows] = await Promise.all([run(q), grouped ? run({ ...q, groupBy: [], granularity: undefined, offset: 0 }) : undefined]);
  const rows = data.slice(0, q.limit).map((r) => {
    const group: Partial<Record<Dimension, string>> = {};
    for (const d of q.groupBy) group[d] = String(r[`g_${d}`]);
    return { group, ...(q.granularity ? { bucket: String(r.bucket) } : {}), ...toMetrics(r) };
  });
  return { rows, totals: toMetrics((totalsRows ?? data)[0] ?? {}), hasMore: data.length > q.limit };
}
