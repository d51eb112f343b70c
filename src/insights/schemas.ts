// Zod schemas of the insights answers (they also produce the OpenAPI document).
import { z } from 'zod';

export const money = z.string().describe('USD as an exact decimal string');
const moneyOrNull = money.nullable();
const rate = z.number().nullable();

export const inputsSchema = z.object({
  from: z.string(), to: z.string(), tz: z.string(),
  filters: z.record(z.string(), z.array(z.string())),
}).loose().describe('what the answer was computed from: window, filters, parameters and the definitions used');

export const unitEconomicsFields = {
  runs: z.number().int(),
  successful_runs: z.number().int(),
  failed_runs: z.number().int(),
  success_rate: rate,
  cost_usd: money.describe('whole cost of the runs'),
  cost_per_run: moneyOrNull,
  cost_per_success: moneyOrNull.describe('cost_usd / successful_runs: failed runs and retries are paid by the successes'),
  failed_run_cost_usd: money,
  retry_cost_usd: money,
  retry_cost_share: rate,
  retry_events: z.number().int(),
  runs_with_outcome: z.number().int().describe('runs whose success came from an outcome event (the others: from their events\' statuses)'),
};

export const unitEconomicsResponse = z.object({
  inputs: inputsSchema,
  rows: z.array(z.object({ group: z.record(z.string(), z.string()), ...unitEconomicsFields })),
  truncated: z.boolean(),
  totals: z.object(unitEconomicsFields),
});

const effect = z.object({
  group: z.string(),
  runs_previous: z.number().int(), runs_current: z.number().int(),
  cost_previous_usd: money, cost_current_usd: money,
  cost_per_task_previous: moneyOrNull, cost_per_task_current: moneyOrNull,
  cost_change_usd: money.describe('volume_effect_usd + unit_cost_effect_usd, exactly'),
  volume_effect_usd: money.describe('(runs_current − runs_previous) × cost_per_task_previous'),
  unit_cost_effect_usd: money.describe('cost_change_usd − volume_effect_usd (= runs_current × Δcost per task)'),
});
export const costPerTaskResponse = z.object({
  inputs: inputsSchema,
  current: z.object({ from: z.string(), to: z.string(), runs: z.number().int(), successful_runs: z.number().int(), cost_usd: money, cost_per_task: moneyOrNull, cost_per_success: moneyOrNull }),
  previous: z.object({ from: z.string(), to: z.string(), runs: z.number().int(), successful_runs: z.number().int(), cost_usd: money, cost_per_task: moneyOrNull, cost_per_success: moneyOrNull }),
  change: z.object({ cost_per_task_usd: moneyOrNull, cost_per_task_pct: rate, cost_usd: money, runs: z.number().int() }),
  drivers: z.array(effect).describe('the groups with the largest |cost_change_usd|'),
  others: effect.describe('every other group, summed; drivers + others = the total change exactly'),
  decomposition: z.object({ volume_effect_usd: money, unit_cost_effect_usd: money, cost_change_usd: money }),
});

const customerRow = z.object({
  customer: z.string(), cost_usd: money, revenue_usd: money, margin_usd: money, margin_pct: rate, negative_margin: z.boolean(),
  events: z.number().int(), runs: z.number().int(),
});
export const customersResponse = z.object({
  inputs: inputsSchema,
  customers: z.array(customerRow),
  truncated: z.boolean(),
  totals: z.object({ cost_usd: money, revenue_usd: money, margin_usd: money, margin_pct: rate, negative_margin_customers: z.number().int() }),
  unattributed: z.object({ cost_usd: money, revenue_usd: money, events: z.number().int() })
    .describe('events without a customer_id: in the totals, not a customer row'),
});

const invoiceLine = z.object({
  step: z.string(), source: z.string(), metric: z.string(), quantity: z.string(), unit_price_usd: moneyOrNull,
  amount_usd: money, amount_cents_usd: money.describe('amount rounded to the cent so that the lines add up to total_cents_usd'),
  events: z.number().int(),
});
export const invoicesResponse = z.object({
  inputs: inputsSchema,
  invoices: z.array(z.object({ customer: z.string(), month: z.string(), status: z.literal('draft'), lines: z.array(invoiceLine), total_usd: money, total_cents_usd: money })),
  truncated: z.boolean(),
  unattributed: z.object({ amount_usd: money, events: z.number().int() })
    .describe('the month\'s events without a customer_id: billed to nobody, so no draft'),
});

const agentRow = z.object({
  agent: z.string(), cost_usd: money, share: rate, calls: z.number().int(), cost_per_call: moneyOrNull, calls_per_day: z.number(),
  runs: z.number().int(), successful_runs: z.number().int(), run_cost_usd: money, cost_per_success: moneyOrNull,
  candidate: z.enum(['consolidate', 'distil']).nullable(),
});
export const agentsResponse = z.object({
  inputs: inputsSchema,
  agents: z.array(agentRow),
  totals: z.object({ cost_usd: money, calls: z.number().int(), runs: z.number().int() }),
  candidates: z.object({ consolidate: z.array(z.string()), distil: z.array(z.string()) }),
});
export const heatmapResponse = z.object({
  inputs: inputsSchema,
  by: z.enum(['hour_of_day', 'day']),
  columns: z.array(z.string()),
  agents: z.array(z.object({ agent: z.string(), cost_usd: money, cells: z.array(money) })),
  hottest: z.object({ agent: z.string(), column: z.string(), cost_usd: money }).nullable(),
});

const flowNode = z.object({ id: z.string(), kind: z.enum(['entry', 'agent', 'model', 'tool', 'resource']), label: z.string(), cost_usd: money.describe('agents: their own spend; others: spend received') });
const flowEdge = z.object({ from: z.string(), to: z.string(), kind: z.enum(['entry', 'delegation', 'spend']), cost_usd: money, calls: z.number().int() });
export const moneyFlowResponse = z.object({
  inputs: inputsSchema,
  run_id: z.string().nullable(),
  cost_usd: money.describe('Σ of the spend edges'),
  nodes: z.array(flowNode),
  edges: z.array(flowEdge),
  costliest_node: z.string().nullable(),
  mermaid: z.string(),
});

const resolution = z.object({ runs: z.number().int(), resolved_runs: z.number().int(), cost_usd: money, cost_per_resolution: moneyOrNull, failed_cost_usd: money, resolution_rate: rate });
export const agentsVsHumansResponse = z.object({
  inputs: inputsSchema,
  agent_only: resolution,
  with_human: resolution.extend({ escalation_cost_usd: money.describe('cost of the human_escalation events themselves') }),
  blended: resolution,
  human_share_of_runs: rate,
  cost_per_resolution_ratio: rate.describe('with_human.cost_per_resolution ÷ agent_only.cost_per_resolution'),
});
