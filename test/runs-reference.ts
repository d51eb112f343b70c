// The definition of `runs` (docs/analytics.md), computed in plain TypeScript from the events a test
// posted, so tests can check the engine's run_facts path against it: a run is a (product line,
// run_id); it counts in a window when its earliest event falls inside; a run attribute is the
// greatest value its events carry; an event-level dimension matches when any of the run's events
// used the value.
import { dimensions, type Dimension } from '../src/costs/dimensions.js';

export type RefEvent = Record<string, unknown>;
export const fieldOf = (d: Dimension): string => (d === 'agent' ? 'agent_id' : d === 'step' ? 'step_name' : dimensions[d].column);
const defaults: Partial<Record<Dimension, string>> = { environment: 'production', status: 'success' };
export const valueOf = (e: RefEvent, d: Dimension) => String(e[fieldOf(d)] ?? defaults[d] ?? '');
const isSet = (d: Dimension) => 'set' in dimensions[d].run;

type Run = { start: number; events: RefEvent[] };

export function runsOf(events: RefEvent[]): Run[] {
  const runs = new Map<string, Run>();
  for (const e of events) {
    if (!e.run_id) continue;
    const key = `${String(e.product_line_id)}\u0000${String(e.run_id)}`;
    const r = runs.get(key) ?? { start: Infinity, events: [] };
    r.start = Math.min(r.start, Date.parse(String(e.timestamp)));
    r.events.push(e);
    runs.set(key, r);
  }
  return [...runs.values()];
}

/** A run attribute: the greatest value its events carry ('' when none does), like SQL's max(). */
export function attributeOf(run: Run, d: Dimension): string {
  let best = '';
  for (const e of run.events) {
    const v = valueOf(e, d);
    if (v > best) best = v;
  }
  return best;
}

export function valuesOf(run: Run, d: Dimension): string[] {
  return isSet(d) ? [...new Set(run.events.map((e) => valueOf(e, d)))] : [attributeOf(run, d)];
}

/** Runs started in [from, to) matching `filters`, counted per group of `keys` (a run may be in several groups). */
export function expectedRuns(events: RefEvent[], keys: Dimension[], opts: { from?: number; to?: number; filters?: Partial<Record<Dimension, string[]>> } = {}): { groups: Map<string, number>; total: number } {
  const groups = new Map<string, number>();
  let total = 0;
  for (const run of runsOf(events)) {
    if (opts.from !== undefined && run.start < opts.from) continue;
    if (opts.to !== undefined && run.start >= opts.to) continue;
    const filters = Object.entries(opts.filters ?? {}) as [Dimension, string[]][];
    if (!filters.every(([d, allowed]) => valuesOf(run, d).some((v) => allowed.includes(v)))) continue;
    total++;
    let combos: string[][] = [[]];
    for (const d of keys) {
      const allowed = opts.filters?.[d];
      const vs = valuesOf(run, d).filter((v) => !allowed || allowed.includes(v));
      combos = combos.flatMap((c) => vs.map((v) => [...c, v]));
    }
    for (const c of combos) groups.set(JSON.stringify(c), (groups.get(JSON.stringify(c)) ?? 0) + 1);
  }
  return { groups, total };
}
