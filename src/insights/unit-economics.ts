// Unit economics by any group-by: runs, successes, cost per run and per success, cost of failed
// runs and of retries, from run_facts. Rows are sorted by cost (then keys); totals count each run once.
import type { ClickHouseClient } from '@clickhouse/client';
import { pick } from './definitions.js';
import { inputs, type Filters, type InsightDimension, type Window } from './params.js';
import { runAggregatesWithTotal, unitEconomics, type RunAggregate } from './runs.js';

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
  const { rows: grouped, total: totals } = await runAggregatesWithTotal(client, { from: window.from, to: window.to, filters, scope, groupBy });
  grouped.sort(byCostThenKeys(groupBy));
  return {
    inputs: inputs(window, filters, { group_by: groupBy, definitions: pick('run', 'success', 'retry_cost', 'failed_run_cost', 'rounding', ...(groupBy.includes('model') ? ['model' as const] : [])) }),
    rows: grouped.slice(0, limit).map((r) => ({ group: r.key, ...unitEconomics(r) })),
    truncated: grouped.length > limit,
    totals: unitEconomics(totals),
  };
}
