// The dimensions analysts filter and group by: public name → cost_events column. Identifiers in
// analytics SQL come only from this table; values only ever travel as bound parameters.
// `rollups`: the narrow hourly rollups (migrations/013) that carry the dimension. `run`: how
// run_facts (migrations/012) answers it: a run attribute (the greatest value the run's events
// carry, '' when none does; `lowCardinality` when run_facts stores it so) or the set of values the
// run's events used (`bits`: also as a bit set, migrations/020).
type Rollup = 'purchase' | 'business' | 'customer';
type DimensionSpec = { column: string; rollups: readonly Rollup[]; run: { attribute: string; lowCardinality?: true } | { set: string; bits?: string } };

export const dimensions = {
  product_line: { column: 'product_line_id', rollups: ['purchase', 'business', 'customer'], run: { attribute: 'product_line_id', lowCardinality: true } },
  environment: { column: 'environment', rollups: ['purchase', 'business', 'customer'], run: { attribute: 'environment', lowCardinality: true } },
  type: { column: 'type', rollups: ['purchase'], run: { set: 'types', bits: 'type_bits' } },
  status: { column: 'status', rollups: ['purchase'], run: { set: 'statuses', bits: 'status_bits' } },
  provider: { column: 'provider', rollups: ['purchase'], run: { set: 'providers', bits: 'provider_bits' } },
  model: { column: 'model', rollups: ['purchase'], run: { set: 'models', bits: 'model_bits' } },
  tool: { column: 'tool', rollups: ['purchase'], run: { set: 'tools', bits: 'tool_bits' } },
  agent: { column: 'agent_id', rollups: ['purchase', 'business'], run: { attribute: 'agent_id', lowCardinality: true } },
  agent_version: { column: 'agent_version', rollups: ['purchase', 'business'], run: { attribute: 'agent_version', lowCardinality: true } },
  segment: { column: 'segment', rollups: ['business', 'customer'], run: { attribute: 'segment', lowCardinality: true } },
  intent: { column: 'intent', rollups: ['business'], run: { attribute: 'intent', lowCardinality: true } },
  feature: { column: 'feature', rollups: ['business'], run: { attribute: 'feature', lowCardinality: true } },
  customer: { column: 'customer_id', rollups: ['customer'], run: { attribute: 'customer_id' } },
  user: { column: 'user_id', rollups: [], run: { attribute: 'user_id' } },
  workflow: { column: 'workflow_id', rollups: [], run: { attribute: 'workflow_id' } },
  step: { column: 'step_name', rollups: [], run: { set: 'steps' } },
  prompt_version: { column: 'prompt_version', rollups: [], run: { attribute: 'prompt_version', lowCardinality: true } },
} as const satisfies Record<string, DimensionSpec>;

/** Rollup tables (migrations 013 and 017), hourly and their daily twins. */
export const rollupTables: Record<Rollup, { hourly: string; daily: string }> = {
  purchase: { hourly: 'cost_purchase_hourly', daily: 'cost_purchase_daily' },
  business: { hourly: 'cost_business_hourly', daily: 'cost_business_daily' },
  customer: { hourly: 'cost_customer_hourly', daily: 'cost_customer_daily' },
};
export type { Rollup };

export type Dimension = keyof typeof dimensions;
export const dimensionNames = Object.keys(dimensions) as Dimension[];

/** Seed-style names accepted wherever a dimension is named (filters and group_by). */
export const dimensionAliases: Record<string, Dimension> = {
  intent_category: 'intent',
  customer_segment: 'segment',
  product_line_id: 'product_line',
  agent_id: 'agent',
  customer_id: 'customer',
  user_id: 'user',
  workflow_id: 'workflow',
  step_name: 'step',
};

export function canonicalDimension(name: string): Dimension | undefined {
  if (Object.hasOwn(dimensions, name)) return name as Dimension;
  return Object.hasOwn(dimensionAliases, name) ? dimensionAliases[name] : undefined;
}
