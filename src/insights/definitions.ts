// The definitions every insights answer repeats in its `inputs`, so a reader can check a figure
// without opening the docs (docs/insights.md says the same at length).
export const definitions = {
  run: 'a (product_line_id, run_id) pair; a task is a run. Runs count in a window when they started in it (their earliest event); their cost is the whole run\'s cost (every event of the run, corrections included), from run_facts.',
  success: 'a run succeeds when its latest outcome event has status success (failure otherwise); a run without an outcome event succeeds when none of its events has status error, timeout, cancelled or retry.',
  retry_cost: 'cost of events with attempt > 1 or a retry_of; retry_cost_share = retry_cost_usd / cost_usd.',
  failed_run_cost: 'the whole cost of runs that did not succeed.',
  rounding: 'money is exact; per-run and per-success figures are rounded half to even at 12 decimal places; rates and shares are numbers rounded half to even at 6 places, except calls_per_day (agents), rounded to 2 places.',
  model: 'grouped by model, a run counts in the row of every model its events used (rows can overlap; totals count each run once); runs that used no model are under "".',
} as const;

export type DefinitionName = keyof typeof definitions;
export const pick = (...names: DefinitionName[]) => Object.fromEntries(names.map((n) => [n, definitions[n]]));
