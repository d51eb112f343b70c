// The dimensions analysts filter and group by: public name → cost_events column. Identifiers in
// analytics SQL come only from this table; values only ever travel as bound parameters.
export const dimensions = {
  product_line: { column: 'product_line_id', rollup: true },
  environment: { column: 'environment', rollup: true },
  type: { column: 'type', rollup: true },
  status: { column: 'status', rollup: true },
  provider: { column: 'provider', rollup: true },
  model: { column: 'model', rollup: true },
  tool: { column: 'tool', rollup: true },
  agent: { column: 'agent_id', rollup: true },
  agent_version: { column: 'agent_version', rollup: true },
  segment: { column: 'segment', rollup: true },
  intent: { column: 'intent', rollup: true },
  feature: { column: 'feature', rollup: true },
  customer: { column: 'customer_id', rollup: false },
  user: { column: 'user_id', rollup: false },
  workflow: { column: 'workflow_id', rollup: false },
  step: { column: 'step_name', rollup: false },
  prompt_version: { column: 'prompt_version', rollup: false },
} as const;

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
