// Unit economics by any group-by: runs, successes, cost per run and per success, cost of failed
// runs and of retries, from run_facts. Rows are sorted by cost (then keys); totals count each run once.
import type { ClickHouseClient } from '@clickhouse/client';
import { pick } from './definitions.js';
import { inputs, type Filters, type InsightDimension, type Window } from './params.js';
import { addAggregates, runAggregates, unitEconomics, type RunAggregate } from './runs.js';

export const unitEconomicsKeys = ['agent', 'agent_version', 'model', 'intent', 'customer', 'product_line', 'segment', 'feature', 'environment'] as const;

export function byCostThenKeys(keys: string[]) {
  return (a: RunAggregate, b: RunAggregate) => {
    if (a.cost !== b.cost) return a.cost > b.cost ? -1 : 1;
    for (const k of keys) {
      const [x, y] = [a.key[k as InsightDimension] ?? '', b.key[k as InsightDimension] ?? ''];
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
}

export async function unitEconomicsReport(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, groupBy: InsightDimension[], limit: number) {
  const base = { from: window.from, to: window.to, filters, scope };
  // Grouped by run attributes alone, every run is in exactly one row, so the rows add up to the
  // totals (every row is returned; the limit cuts in JS). By model a run counts in each model it
  // used, so the totals need their own statement (each one reads every run: docs/insights.md).
  const oneRowPerRun = !groupBy.includes('model');
  const [grouped, total] = await Promise.all([
    groupBy.length ? runAggregates(client, { ...base, groupBy }) : Promise.resolve([]),
    groupBy.length && oneRowPerRun ? Promise.resolve(undefined) : runAggregates(client, { ...base, groupBy: [] }),
  ]);
  const totals = total ? (total[0] ?? addAggregates([])) : addAggregates(grouped);
  grouped.sort(byCostThenKeys(groupBy));
  return {
    inputs: inputs(window, filters, { group_by: groupBy, definitions: pick('run', 'success', 'retry_cost', 'failed_run_cost', 'rounding', ...(groupBy.includes('model') ? ['model' as const] : [])) }),
    rows: grouped.slice(0, limit).map((r) => ({ group: r.key, ...unitEconomics(r) })),
    truncated: grouped.length > limit,
    totals: unitEconomics(totals),
  };
}
