// Run-level aggregates from run_facts (one row per run, migrations/012): runs started in a window,
// grouped by run attributes or by the models a run used, with the success rule applied in SQL.
// Unit economics, the 5-minute question, customers' revenue, agents and agents-vs-humans read it.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseTime } from '../clickhouse-time.js';
import { dimensions } from '../costs/dimensions.js';
import { bitMask, bitsUsable, namesByBit, withRunBits, type RunBits } from '../costs/run-bits.js';
import { fillSlots, sql } from '../sql.js';
import type { Filters, InsightDimension } from './params.js';
import { fromUnits, per, ratio, toUnits } from './money.js';

export type RunGroupKey = InsightDimension | 'escalated' | 'current';

export type RunQuery = {
  from: number;
  to: number;
  filters: Filters;
  scope?: string[];
  groupBy: RunGroupKey[];
  /** With the key `current`: runs started at or after this instant are 1, earlier ones 0. */
  mid?: number;
};

export type RunAggregate = {
  key: Partial<Record<RunGroupKey, string>>;
  runs: number; successes: number; events: number; retry_events: number; escalated_runs: number; escalated_successes: number; with_outcome: number;
  cost: bigint; failed_cost: bigint; retry_cost: bigint; escalated_cost: bigint; escalation_cost: bigint; revenue: bigint;
};

// Models a run used, without '' (the non-LLM events' empty model) unless it used none.
const MODELS = "if(empty(arrayFilter(m -> m != '', models)), [''], arrayFilter(m -> m != '', models))";

function keyExpression(k: RunGroupKey): string {
  if (k === 'escalated') return "if(escalations > 0, 'yes', 'no')";
  if (k === 'current') return "if(started_at >= {mid:DateTime64(3, 'UTC')}, '1', '0')";
  if (k === 'model') return 'g_model';
  const run = dimensions[k].run;
  return 'attribute' in run ? run.attribute : `g_${k}`;
}

/**
 * Filter clauses on run_facts columns (run attributes; model: any event used it) and the scope. With
 * a registry of run value bits the model filter is a mask of the filtered models' bits; without
 * one (or one that cannot answer, src/costs/run-bits.ts), the runs' model sets.
 */
export function runFilters(filters: Filters, scope: string[] | undefined, registry: RunBits | false = false): { clauses: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = {};
  const out: string[] = [];
  for (const [d, values] of Object.entries(filters) as [InsightDimension, string[]][]) {
    params[`f_${d}`] = values;
    if (d !== 'model') out.push(`AND ${(dimensions[d].run as { attribute: string }).attribute} IN {f_${d}:Array(String)}`);
    else if (registry && bitsUsable(registry, 'model', values)) {
      params.m_model = bitMask(registry.get('model')!, values);
      out.push('AND bitAnd(model_bits, {m_model:UInt64}) != 0');
    } else out.push(`AND hasAny(models, {f_${d}:Array(String)})`);
  }
  if (scope) {
    params.scope = scope;
    out.push('AND product_line_id IN {scope:Array(String)}');
  }
  return { clauses: out.join(' '), params };
}

const SETTINGS = "SETTINGS log_comment = 'insights.run-groups'";

/**
 * The run-groups statement. Grouped by model with a usable registry of bits: runs aggregated per
 * model bit set first, then split by model (sql/insights/run-groups-bits.sql); otherwise one row
 * per (run, model) from the runs' model sets. `opts.total` asks the bit-set statement for the
 * totals too (a row with is_total = 1); `total` in the answer says whether it has them.
 */
export function buildRunQuery(q: RunQuery, registry: RunBits | false = false, opts: { total?: boolean } = {}): { query: string; params: Record<string, unknown>; total: boolean } {
  const bits = registry && bitsUsable(registry, 'model', q.filters.model) ? registry : false;
  const { clauses, params: filterParams } = runFilters(q.filters, q.scope, bits);
  const params: Record<string, unknown> = { from: toClickHouseTime(q.from), to: toClickHouseTime(q.to), ...filterParams };
  if (q.mid !== undefined) params.mid = toClickHouseTime(q.mid);
  const grouped = q.groupBy.includes('model');
  const groupBy = q.groupBy.length ? `GROUP BY ${q.groupBy.map((k) => `k_${k}`).join(', ')}` : '';
  if (grouped && bits) {
    const models = bits.get('model')!;
    Object.assign(params, { n_model: namesByBit(models), k_model: bitMask(models), e_model: bitMask(models, ['']), m_model: bitMask(models, q.filters.model) });
    const others = q.groupBy.filter((k) => k !== 'model');
    const inner = fillSlots(sql('insights/run-groups'), {
      keys: [...others.map((k) => `${keyExpression(k)} AS i_${k},`), 'model_bits AS bits_model,'].join(' '),
      filters: clauses, array_join: '', group_by: `GROUP BY ${[...others.map((k) => `i_${k}`), 'bits_model'].join(', ')}`, settings: '',
    });
    // With the total: every inner row once more under bit 255 with empty keys, so one read of the
    // runs gives the rows and the totals that count each run once (is_total = 1).
    const total = opts.total === true;
    const keyOf = (k: RunGroupKey) => (k === 'model' ? '{n_model:Array(String)}[b_model + 1]' : `i_${k}`);
    const keys = q.groupBy.map((k) => (total ? `if(b_model = 255, '', ${keyOf(k)}) AS k_${k},` : `${keyOf(k)} AS k_${k},`)).join(' ');
    return {
      query: fillSlots(sql('insights/run-groups-bits'), {
        keys: `${total ? 'b_model = 255' : '0'} AS is_total, ${keys}`, inner, total_bit: total ? '[toUInt8(255)]' : "CAST([], 'Array(UInt8)')",
        group_by: `GROUP BY ${['is_total', ...q.groupBy.map((k) => `k_${k}`)].join(', ')}`,
      }),
      params,
      total,
    };
  }
  // Grouped by model with a model filter: keep only the filtered models' rows.
  const arrayJoin = grouped ? `ARRAY JOIN ${MODELS} AS g_model${q.filters.model ? ' WHERE g_model IN {f_model:Array(String)}' : ''}` : '';
  const keys = q.groupBy.map((k) => `${keyExpression(k)} AS k_${k},`).join(' ');
  return { query: fillSlots(sql('insights/run-groups'), { keys, filters: clauses, array_join: arrayJoin, group_by: groupBy, settings: SETTINGS }), params, total: false };
}

type Raw = Record<string, string | number>;

const aggregateOf = (groupBy: RunGroupKey[], r: Raw): RunAggregate => ({
  key: Object.fromEntries(groupBy.map((k) => [k, String(r[`k_${k}`])])),
  runs: Number(r.runs), successes: Number(r.successes), events: Number(r.events), retry_events: Number(r.retry_events),
  escalated_runs: Number(r.escalated_runs), escalated_successes: Number(r.escalated_successes), with_outcome: Number(r.with_outcome),
  cost: toUnits(String(r.cost)), failed_cost: toUnits(String(r.failed_cost)), retry_cost: toUnits(String(r.retry_cost)),
  escalated_cost: toUnits(String(r.escalated_cost)), escalation_cost: toUnits(String(r.escalation_cost)), revenue: toUnits(String(r.revenue)),
});

async function readRuns(client: ClickHouseClient, q: RunQuery, total: boolean): Promise<{ rows: RunAggregate[]; total?: RunAggregate }> {
  const { raw, withTotal } = await withRunBits(client, q.filters, async (registry) => {
    const built = buildRunQuery(q, registry, { total });
    const rs = await client.query({ query: built.query, query_params: built.params, format: 'JSONEachRow' });
    return { raw: await rs.json<Raw>(), withTotal: built.total };
  });
  const rows = raw.filter((r) => Number(r.is_total ?? 0) === 0 && Number(r.runs) > 0).map((r) => aggregateOf(q.groupBy, r));
  if (!withTotal) return { rows };
  const t = raw.find((r) => Number(r.is_total) === 1);
  return { rows, total: t ? aggregateOf([], t) : addAggregates([]) };
}

export async function runAggregates(client: ClickHouseClient, q: RunQuery): Promise<RunAggregate[]> {
  return (await readRuns(client, q, false)).rows;
}

/**
 * The groups and the totals (each run once). Grouped by run attributes alone the rows add up to the
 * totals; by model a run is in a row per model it used, so the totals come from the same read of
 * the runs (bit sets, sql/insights/run-groups-bits.sql) or, without usable bits, a second statement.
 */
export async function runAggregatesWithTotal(client: ClickHouseClient, q: RunQuery): Promise<{ rows: RunAggregate[]; total: RunAggregate }> {
  if (!q.groupBy.length) {
    const rows = await runAggregates(client, q);
    return { rows: [], total: rows[0] ?? addAggregates([]) };
  }
  if (!q.groupBy.includes('model')) {
    const rows = await runAggregates(client, q);
    return { rows, total: addAggregates(rows) };
  }
  const read = await readRuns(client, q, true);
  if (read.total) return { rows: read.rows, total: read.total };
  const [total] = await runAggregates(client, { ...q, groupBy: [] });
  return { rows: read.rows, total: total ?? addAggregates([]) };
}

/** Aggregates added together (for totals and "everything else" rows). */
export function addAggregates(rows: RunAggregate[]): RunAggregate {
  const zero: RunAggregate = { key: {}, runs: 0, successes: 0, events: 0, retry_events: 0, escalated_runs: 0, escalated_successes: 0, with_outcome: 0, cost: 0n, failed_cost: 0n, retry_cost: 0n, escalated_cost: 0n, escalation_cost: 0n, revenue: 0n };
  return rows.reduce((acc, r) => ({
    key: {}, runs: acc.runs + r.runs, successes: acc.successes + r.successes, events: acc.events + r.events, retry_events: acc.retry_events + r.retry_events,
    escalated_runs: acc.escalated_runs + r.escalated_runs, escalated_successes: acc.escalated_successes + r.escalated_successes, with_outcome: acc.with_outcome + r.with_outcome,
    cost: acc.cost + r.cost, failed_cost: acc.failed_cost + r.failed_cost, retry_cost: acc.retry_cost + r.retry_cost,
    escalated_cost: acc.escalated_cost + r.escalated_cost, escalation_cost: acc.escalation_cost + r.escalation_cost, revenue: acc.revenue + r.revenue,
  }), zero);
}

/** The unit-economics figures of one aggregate, money as exact decimal strings. */
export function unitEconomics(a: RunAggregate) {
  return {
    runs: a.runs,
    successful_runs: a.successes,
    failed_runs: a.runs - a.successes,
    success_rate: ratio(a.successes, a.runs),
    cost_usd: fromUnits(a.cost),
    cost_per_run: per(a.cost, a.runs),
    cost_per_success: per(a.cost, a.successes),
    failed_run_cost_usd: fromUnits(a.failed_cost),
    retry_cost_usd: fromUnits(a.retry_cost),
    retry_cost_share: ratio(a.retry_cost, a.cost),
    retry_events: a.retry_events,
    runs_with_outcome: a.with_outcome,
  };
}
