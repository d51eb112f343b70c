// Agents vs humans: cost per resolved task of the runs agents handled alone and of the runs with
// a human_escalation event, and the blended figure (seed 000: humans $15–40, agents $0.50–5).
import type { ClickHouseClient } from '@clickhouse/client';
import { pick } from './definitions.js';
import { fromUnits, per, ratio } from './money.js';
import { inputs, type Filters, type Window } from './params.js';
import { addAggregates, runAggregates, type RunAggregate } from './runs.js';

const resolution = (a: RunAggregate) => ({
  runs: a.runs, resolved_runs: a.successes, cost_usd: fromUnits(a.cost), cost_per_resolution: per(a.cost, a.successes),
  failed_cost_usd: fromUnits(a.failed_cost), resolution_rate: ratio(a.successes, a.runs),
});

export async function agentsVsHumansReport(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined) {
  const rows = await runAggregates(client, { from: window.from, to: window.to, filters, scope, groupBy: ['escalated'] });
  const agent = addAggregates(rows.filter((r) => r.key.escalated === 'no'));
  const human = addAggregates(rows.filter((r) => r.key.escalated === 'yes'));
  const all = addAggregates(rows);
  return {
    inputs: inputs(window, filters, {
      definitions: {
        agent_only: 'runs started in the window without a human_escalation event',
        with_human: 'runs started in the window with at least one human_escalation event; their whole cost (agent calls included), and separately the escalation events\' own cost',
        resolved: 'a successful run (definitions.success)',
        cost_per_resolution: 'whole cost of the runs / resolved runs: unresolved runs are paid by the resolved ones',
        cost_per_resolution_ratio: 'with_human.cost_per_resolution ÷ agent_only.cost_per_resolution (6 places)',
        ...pick('run', 'success', 'rounding'),
      },
    }),
    agent_only: resolution(agent),
    with_human: { ...resolution(human), escalation_cost_usd: fromUnits(human.escalation_cost) },
    blended: resolution(all),
    human_share_of_runs: ratio(human.runs, all.runs),
    cost_per_resolution_ratio: human.successes && agent.successes && agent.cost !== 0n ? ratio(human.cost * BigInt(agent.successes), agent.cost * BigInt(human.successes)) : null,
  };
}
