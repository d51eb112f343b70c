// Agents: spend by agent with shares (a pie's data), calls, cost per call and per success, the
// consolidation / distillation candidates under a stated rule, and heatmaps of spend by agent ×
// hour of day and agent × day. Spend comes from the narrow rollups (+ raw edges), runs from run_facts.
import type { ClickHouseClient } from '@clickhouse/client';
import { pick } from './definitions.js';
import { eventSums } from './customers.js';
import { numberToDecimalString } from '../pricing/decimal.js';
import { fromUnits, per, ratio, toUnits } from './money.js';
import { inputs, type Filters, type Window } from './params.js';
import { runAggregates } from './runs.js';

export type Thresholds = { consolidate_min_share: number; consolidate_max_calls_per_day: number; distil_min_calls_per_day: number };
const DAY = 86_400_000;

/**
 * num / den against a threshold, exactly (the threshold as the decimal it was written as): −1 below,
 * 0 equal, 1 above. The displayed calls_per_day (2 places) and share (6 places) are rounded;
 * classifying on them would call 7 calls in 31 days (0.2258) "0.23 a day".
 */
export function compareExact(num: bigint, den: bigint, threshold: number): -1 | 0 | 1 {
  if (den < 0n) [num, den] = [-num, -den]; // corrections can make a total negative
  const [int, frac = ''] = numberToDecimalString(threshold).split('.');
  const left = num * 10n ** BigInt(frac.length);
  const right = BigInt(int! + frac) * den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export async function agentsReport(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, t: Thresholds) {
  const [sums, runs] = await Promise.all([
    eventSums(client, window, filters, scope, ['agent', 'type'], { withRuns: false }),
    runAggregates(client, { from: window.from, to: window.to, filters, scope, groupBy: ['agent'] }),
  ]);
  const agents = new Map<string, { cost: bigint; calls: number }>();
  for (const r of sums.rows) {
    const a = agents.get(r.group.agent ?? '') ?? { cost: 0n, calls: 0 };
    a.cost += toUnits(r.cost_usd);
    // Outcome events record a result, not a call.
    if (r.group.type !== 'outcome') a.calls += r.events;
    agents.set(r.group.agent ?? '', a);
  }
  const byRun = new Map(runs.map((r) => [r.key.agent ?? '', r]));
  const total = [...agents.values()].reduce((acc, a) => ({ cost: acc.cost + a.cost, calls: acc.calls + a.calls }), { cost: 0n, calls: 0 });
  const span = window.to - window.from;
  const days = span / DAY;
  const rows = [...agents].map(([agent, a]) => {
    const r = byRun.get(agent);
    const share = ratio(a.cost, total.cost);
    const callsPerDay = Math.round((a.calls / days) * 100) / 100;
    // calls per day = calls · DAY / span; share = cost / total cost (den > 0: share is null otherwise).
    const rate = (threshold: number) => compareExact(BigInt(a.calls) * BigInt(DAY), BigInt(span), threshold);
    const candidate = rate(t.distil_min_calls_per_day) >= 0 ? 'distil' as const
      : share !== null && compareExact(a.cost, total.cost, t.consolidate_min_share) >= 0 && rate(t.consolidate_max_calls_per_day) <= 0 ? 'consolidate' as const : null;
    return {
      agent, cost_usd: fromUnits(a.cost), share, calls: a.calls, cost_per_call: per(a.cost, a.calls), calls_per_day: callsPerDay,
      runs: r?.runs ?? 0, successful_runs: r?.successes ?? 0, run_cost_usd: fromUnits(r?.cost ?? 0n), cost_per_success: r ? per(r.cost, r.successes) : null,
      candidate, _cost: a.cost,
    };
  }).sort((a, b) => (a._cost === b._cost ? (a.agent < b.agent ? -1 : 1) : a._cost > b._cost ? -1 : 1));
  return {
    inputs: inputs(window, filters, {
      thresholds: t,
      definitions: {
        spend: 'cost of the agent\'s events in the window (event agent_id; "" for events without one); share = cost / total cost',
        calls: 'the agent\'s events in the window other than outcome events; calls_per_day = calls / window length in days (2 places)',
        cost_per_success: 'whole cost of the agent\'s runs started in the window / its successful runs (run_cost_usd / successful_runs)',
        consolidate: 'high cost, rarely called: share ≥ consolidate_min_share and calls_per_day ≤ consolidate_max_calls_per_day — fold it into a caller or a cheaper agent',
        distil: 'called very often: calls_per_day ≥ distil_min_calls_per_day — a small distilled model or plain code can replace it (takes precedence over consolidate)',
        comparisons: 'candidates compare the exact calls per day (calls / window days) and share with the thresholds, not the rounded figures shown',
        ...pick('run', 'success', 'rounding'),
      },
    }),
    agents: rows.map(({ _cost: _c, ...r }) => r),
    totals: { cost_usd: fromUnits(total.cost), calls: total.calls, runs: runs.reduce((a, r) => a + r.runs, 0) },
    candidates: { consolidate: rows.filter((r) => r.candidate === 'consolidate').map((r) => r.agent), distil: rows.filter((r) => r.candidate === 'distil').map((r) => r.agent) },
  };
}

const dayFormat = new Map<string, Intl.DateTimeFormat>();
const localDay = (tz: string, ms: number) => {
  let f = dayFormat.get(tz);
  if (!f) dayFormat.set(tz, (f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(new Date(ms));
};

export async function heatmapReport(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, by: 'hour_of_day' | 'day') {
  const sums = await eventSums(client, window, filters, scope, ['agent'], { withRuns: false, granularity: by === 'day' ? 'day' : 'hour' });
  // Buckets are ISO-8601 local times with the zone's offset: the hour and the day are read off them.
  const columns = by === 'hour_of_day'
    ? Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'))
    : [...new Set(Array.from({ length: Math.ceil((window.to - window.from) / DAY) + 1 }, (_, i) => localDay(window.tz, Math.min(window.from + i * DAY, window.to - 1))))];
  const index = new Map(columns.map((c, i) => [c, i]));
  const agents = new Map<string, bigint[]>();
  for (const r of sums.rows) {
    const cells = agents.get(r.group.agent ?? '') ?? columns.map(() => 0n);
    const column = by === 'hour_of_day' ? r.bucket!.slice(11, 13) : r.bucket!.slice(0, 10);
    const i = index.get(column);
    if (i !== undefined) cells[i]! += toUnits(r.cost_usd);
    agents.set(r.group.agent ?? '', cells);
  }
  const rows = [...agents].map(([agent, cells]) => ({ agent, total: cells.reduce((a, b) => a + b, 0n), cells }))
    .sort((a, b) => (a.total === b.total ? (a.agent < b.agent ? -1 : 1) : a.total > b.total ? -1 : 1));
  let hottest: { agent: string; column: string; cost_usd: string; units: bigint } | null = null;
  for (const r of rows) r.cells.forEach((c, i) => {
    if (c > 0n && (!hottest || c > hottest.units)) hottest = { agent: r.agent, column: columns[i]!, cost_usd: fromUnits(c), units: c };
  });
  const h = hottest as { agent: string; column: string; cost_usd: string } | null;
  return {
    inputs: inputs(window, filters, { by, definitions: { cells: `cost of the agent's events per ${by === 'day' ? 'day' : 'hour of the day (00–23)'} in tz; columns cover the window` } }),
    by,
    columns,
    agents: rows.map((r) => ({ agent: r.agent, cost_usd: fromUnits(r.total), cells: r.cells.map(fromUnits) })),
    hottest: h ? { agent: h.agent, column: h.column, cost_usd: h.cost_usd } : null,
  };
}
