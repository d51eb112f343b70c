// The 5-minute question: cost per task now vs the previous window of equal length, and the groups
// that drove the change, each split into a volume effect and a unit-cost effect:
//   ΔC_g = C1_g − C0_g = (n1_g − n0_g) · C0_g / n0_g   [volume]   +   n1_g · (u1_g − u0_g)   [unit cost]
// The volume effect is rounded half to even at 12 places and the unit-cost effect is the exact
// remainder, so the two add up to ΔC_g to the last digit, and the groups add up to ΔC.
import type { ClickHouseClient } from '@clickhouse/client';
import { divRound } from '../pricing/decimal.js';
import { pick } from './definitions.js';
import { fromUnits, per, ratio } from './money.js';
import { inputs, type Filters, type InsightDimension, type Window } from './params.js';
import { addAggregates, runAggregates, type RunAggregate } from './runs.js';

export const driverKeys = ['agent', 'agent_version', 'intent', 'customer', 'product_line', 'segment', 'feature', 'environment'] as const;

type Side = { runs: number; cost: bigint };
const iso = (ms: number) => new Date(ms).toISOString();

function effect(group: string, prev: Side, cur: Side) {
  const change = cur.cost - prev.cost;
  // A group absent before: all of its cost is new volume (n0 = 0 has no unit cost to compare).
  const volume = prev.runs === 0 ? cur.cost : divRound(BigInt(cur.runs - prev.runs) * prev.cost, BigInt(prev.runs));
  return {
    group,
    runs_previous: prev.runs, runs_current: cur.runs,
    cost_previous_usd: fromUnits(prev.cost), cost_current_usd: fromUnits(cur.cost),
    cost_per_task_previous: per(prev.cost, prev.runs), cost_per_task_current: per(cur.cost, cur.runs),
    cost_change_usd: fromUnits(change), volume_effect_usd: fromUnits(volume), unit_cost_effect_usd: fromUnits(change - volume),
    _change: change, _volume: volume, _prev: prev.cost, _cur: cur.cost,
  };
}

function summary(a: RunAggregate, from: number, to: number) {
  return { from: iso(from), to: iso(to), runs: a.runs, successful_runs: a.successes, cost_usd: fromUnits(a.cost), cost_per_task: per(a.cost, a.runs), cost_per_success: per(a.cost, a.successes) };
}

export async function costPerTaskReport(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, by: InsightDimension, top: number) {
  const length = window.to - window.from;
  const prevFrom = window.from - length;
  const rows = await runAggregates(client, { from: prevFrom, to: window.to, mid: window.from, filters, scope, groupBy: [by, 'current'] });
  const sides = new Map<string, { prev: Side; cur: Side }>();
  for (const r of rows) {
    const g = r.key[by] ?? '';
    const entry = sides.get(g) ?? { prev: { runs: 0, cost: 0n }, cur: { runs: 0, cost: 0n } };
    entry[r.key.current === '1' ? 'cur' : 'prev'] = { runs: r.runs, cost: r.cost };
    sides.set(g, entry);
  }
  const prev = addAggregates(rows.filter((r) => r.key.current === '0'));
  const cur = addAggregates(rows.filter((r) => r.key.current === '1'));
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const effects = [...sides].map(([g, s]) => effect(g, s.prev, s.cur))
    .sort((a, b) => (abs(a._change) === abs(b._change) ? (a.group < b.group ? -1 : 1) : abs(a._change) > abs(b._change) ? -1 : 1));
  const drivers = effects.slice(0, top);
  const rest = effects.slice(top);
  const sum = (xs: typeof effects, f: (e: (typeof effects)[number]) => bigint) => xs.reduce((acc, e) => acc + f(e), 0n);
  const restPrev = { runs: rest.reduce((a, e) => a + e.runs_previous, 0), cost: sum(rest, (e) => e._prev) };
  const restCur = { runs: rest.reduce((a, e) => a + e.runs_current, 0), cost: sum(rest, (e) => e._cur) };
  // Each group's effects are summed as computed (not recomputed on the sum), so drivers + others = ΔC exactly.
  const others = {
    ...effect(`(${rest.length} other group${rest.length === 1 ? '' : 's'})`, restPrev, restCur),
    volume_effect_usd: fromUnits(sum(rest, (e) => e._volume)),
    unit_cost_effect_usd: fromUnits(sum(rest, (e) => e._change - e._volume)),
  };
  const strip = ({ _change: _c, _volume: _v, _prev: _p, _cur: _u, ...e }: (typeof effects)[number]) => e;
  const volume = sum(effects, (e) => e._volume);
  return {
    inputs: inputs(window, filters, {
      by, top, previous_from: iso(prevFrom), previous_to: iso(window.from),
      decomposition: 'per group g: cost change = volume effect (n1 − n0) × C0/n0 + unit-cost effect n1 × (C1/n1 − C0/n0); the volume effect is rounded half to even at 12 places and the unit-cost effect is the exact remainder. A group without runs before is all volume.',
      definitions: {
        ...pick('run', 'success', 'rounding'),
        // Named _pct, but a fraction: 0.25 is +25 % (margin_pct elsewhere is × 100).
        cost_per_task_pct: 'the relative change of cost per task as a fraction, not a percentage: (C1/N1 − C0/N0) / (C0/N0), rounded to 6 places (0.25 = +25 %); null when either window has no runs or the previous window cost 0',
      },
    }),
    current: summary(cur, window.from, window.to),
    previous: summary(prev, prevFrom, window.from),
    change: {
      // C1/N1 − C0/N0 = (C1·N0 − C0·N1) / (N0·N1), rounded once.
      cost_per_task_usd: cur.runs && prev.runs ? per(cur.cost * BigInt(prev.runs) - prev.cost * BigInt(cur.runs), prev.runs * cur.runs) : null,
      cost_per_task_pct: cur.runs && prev.runs && prev.cost !== 0n ? ratio(cur.cost * BigInt(prev.runs) - prev.cost * BigInt(cur.runs), prev.cost * BigInt(cur.runs)) : null,
      cost_usd: fromUnits(cur.cost - prev.cost),
      runs: cur.runs - prev.runs,
    },
    drivers: drivers.map(strip),
    others: strip(others),
    decomposition: { volume_effect_usd: fromUnits(volume), unit_cost_effect_usd: fromUnits(cur.cost - prev.cost - volume), cost_change_usd: fromUnits(cur.cost - prev.cost) },
  };
}
