// Budget spend read from ClickHouse, many budgets per query: budgets with the same window and the
// same scoped dimensions share one grouped read (rollups for whole hours, raw events for the
// ragged edges), so re-reading every budget's spend each second costs a few queries, not one per
// budget. Run budgets (a cap per run) read per-run sums from raw events, also one query per scope shape.
// And the counting of committed rows into spend between reads.
import type { ClickHouseClient } from '@clickhouse/client';
import type { CostEventRow } from '../events/schema.js';
import { sliceTotals } from '../costs/query.js';
import type { Dimension } from '../costs/dimensions.js';
import { toUnits } from '../pricing/decimal.js';
import { fromClickHouseTime, toClickHouseTime } from '../clickhouse-time.js';
import { windowBounds, type BudgetWindow } from './windows.js';

export type SpendBudget = { id: string; window: BudgetWindow; scope: Partial<Record<string, string>> };
/** `mark`: rows stamped (received_at) at or before it are in `units`/`runs` already (see Budgets.onRows). */
export type Spend = { windowStart: number; units: bigint; runs: Map<string, bigint>; mark: number };

const DAY = 86_400_000;
// Far above any real number of scope combinations; past it a group falls back to one query per budget.
const GROUP_LIMIT = 100_000;

/** The window a budget counts at `at`: its calendar window, or (run budgets) runs of the last day and a day ahead. */
export function spendWindow(window: BudgetWindow, at: number): { start: number; end: number } {
  return window === 'run' ? { start: at - DAY, end: at + 1 + DAY } : windowBounds(window, at);
}

/** SQL condition for a scope, from fixed fragments (scopeColumns); values are bound parameters. */
export function scopeFilter(scope: SpendBudget['scope'], scopeColumns: Record<string, string>) {
  const params: Record<string, string> = {};
  const parts = Object.entries(scope).map(([dim, value]) => {
    params[`s_${dim}`] = value!;
    return `AND ${scopeColumns[dim]} = {s_${dim}:String}`;
  });
  return { sql: parts.join(' '), params };
}

/** Spend of one budget in [from, to); per run for run budgets. */
export async function budgetSpend(client: ClickHouseClient, b: SpendBudget, from: number, to: number, scopeColumns: Record<string, string>): Promise<{ total: bigint; runs: Map<string, bigint> }> {
  if (b.window !== 'run') {
    const filters = Object.fromEntries(Object.entries(b.scope).map(([d, v]) => [d, [v!]]));
    const { totals } = await sliceTotals(client, { from, to, filters });
    return { total: toUnits(totals.cost_usd), runs: new Map() };
  }
  // Run budgets need spend per run within the window: run_facts holds whole runs, so raw events.
  const f = scopeFilter(b.scope, scopeColumns);
  const rows = await (await client.query({
    query: `SELECT run_id AS run, toString(sum(cost_usd)) AS spent FROM cost_events
            WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} ${f.sql}
            AND run_id != '' GROUP BY run_id`,
    query_params: { from: toClickHouseTime(from), to: toClickHouseTime(to), ...f.params },
    format: 'JSONEachRow',
  })).json<{ run: string; spent: string }>();
  const runs = new Map(rows.map((r) => [r.run, toUnits(r.spent)]));
  return { total: rows.reduce((acc, r) => acc + toUnits(r.spent), 0n), runs };
}

/** Per-run spend of run budgets sharing one scope shape, in one raw read of the last day and the next. */
async function readRunGroup(client: ClickHouseClient, dims: string[], members: SpendBudget[], at: number, scopeColumns: Record<string, string>, out: Map<string, Spend>) {
  const { start, end } = spendWindow('run', at);
  const params: Record<string, unknown> = { from: toClickHouseTime(start), to: toClickHouseTime(end) };
  dims.forEach((d, i) => (params[`v${i}`] = [...new Set(members.map((m) => m.scope[d]!))]));
  const rows = await (await client.query({
    query: `SELECT run_id AS run, ${dims.map((d, i) => `${scopeColumns[d]} AS d${i}`).join(', ')}, toString(sum(cost_usd)) AS spent FROM cost_events
            WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} AND run_id != ''
            ${dims.map((d, i) => `AND ${scopeColumns[d]} IN {v${i}:Array(String)}`).join(' ')}
            GROUP BY run_id, ${dims.map((_, i) => `d${i}`).join(', ')}`,
    query_params: params,
    format: 'JSONEachRow',
  })).json<Record<string, string>>();
  const byKey = new Map<string, Map<string, bigint>>();
  for (const r of rows) {
    const key = dims.map((_, i) => r[`d${i}`]).join('\u0000');
    const runs = byKey.get(key) ?? new Map<string, bigint>();
    runs.set(r.run!, (runs.get(r.run!) ?? 0n) + toUnits(r.spent!));
    byKey.set(key, runs);
  }
  for (const b of members) {
    const runs = new Map(byKey.get(dims.map((d) => b.scope[d]!).join('\u0000')) ?? []);
    out.set(b.id, { windowStart: 0, units: [...runs.values()].reduce((acc, v) => acc + v, 0n), runs, mark: -Infinity });
  }
}

/** Current spend of every listed budget as of `at`, in as few queries as the scopes allow. */
export async function readSpend(client: ClickHouseClient, budgets: SpendBudget[], at: number, scopeColumns: Record<string, string>): Promise<Map<string, Spend>> {
  const out = new Map<string, Spend>();
  const groups = new Map<string, { window: BudgetWindow; dims: string[]; members: SpendBudget[] }>();
  for (const b of budgets) {
    const dims = Object.keys(b.scope).sort();
    const key = `${b.window}|${dims.join(',')}`;
    const g = groups.get(key) ?? { window: b.window, dims, members: [] };
    g.members.push(b);
    groups.set(key, g);
  }
  const readOne = async (b: SpendBudget) => {
    const { start, end } = spendWindow(b.window, at);
    const spent = await budgetSpend(client, b, start, end, scopeColumns);
    out.set(b.id, { windowStart: b.window === 'run' ? 0 : start, units: spent.total, runs: spent.runs, mark: -Infinity });
  };
  for (const g of groups.values()) {
    if (g.window === 'run') {
      await readRunGroup(client, g.dims, g.members, at, scopeColumns, out);
      continue;
    }
    if (g.members.length === 1) {
      await readOne(g.members[0]!);
      continue;
    }
    const { start, end } = spendWindow(g.window, at);
    const filters = Object.fromEntries(g.dims.map((d) => [d, [...new Set(g.members.map((m) => m.scope[d]!))]])) as Partial<Record<Dimension, string[]>>;
    const { rows, hasMore } = await sliceTotals(client, { from: start, to: end, filters, groupBy: g.dims as Dimension[], limit: GROUP_LIMIT });
    if (hasMore) {
      for (const b of g.members) await readOne(b);
      continue;
    }
    const byKey = new Map(rows.map((r) => [g.dims.map((d) => r.group[d as Dimension] ?? '').join('\u0000'), toUnits(r.cost_usd)]));
    for (const b of g.members) {
      out.set(b.id, { windowStart: start, units: byKey.get(g.dims.map((d) => b.scope[d]!).join('\u0000')) ?? 0n, runs: new Map(), mark: -Infinity });
    }
  }
  return out;
}

type Counted = SpendBudget & { action: string; entries: [string, string][] };

/**
 * Add each committed row's cost to the spend (from `spendOf`) of every budget among `budgets` it
 * counts toward: in the budget's window at `at`, every scoped dimension equal, and not stamped at
 * or before the spend's mark (then the read it came from holds it already).
 */
export function countRows<B extends Counted>(rows: CostEventRow[], budgets: B[] | ((row: CostEventRow) => B[]), at: number, scopeColumns: Record<string, string>, spendOf: (b: B, windowStart: number) => Spend | undefined): { counted: boolean; touchedBlock: boolean } {
  let touchedBlock = false;
  let counted = false;
  const bounds = new Map<string, { start: number; end: number }>();
  const boundsOf = (b: B) => {
    let w = bounds.get(b.window);
    if (!w) bounds.set(b.window, (w = spendWindow(b.window, at)));
    return w;
  };
  for (const row of rows) {
    const list = typeof budgets === 'function' ? budgets(row) : budgets;
    if (list.length === 0) continue;
    const ts = fromClickHouseTime(row.timestamp);
    const stamp = row.received_at ? fromClickHouseTime(row.received_at) : Infinity;
    const cost = toUnits(String(row.cost_usd));
    const fields = row as unknown as Record<string, unknown>;
    for (const b of list) {
      const w = boundsOf(b);
      if (ts < w.start || ts >= w.end) continue;
      if (!b.entries.every(([dim, value]) => String(fields[scopeColumns[dim]!] ?? '') === value)) continue;
      const spend = spendOf(b, w.start);
      if (!spend || (b.window !== 'run' && spend.windowStart !== w.start)) continue;
      if (stamp <= spend.mark) continue;
      if (b.window === 'run') {
        if (!row.run_id) continue;
        spend.runs.set(row.run_id, (spend.runs.get(row.run_id) ?? 0n) + cost);
      } else spend.units += cost;
      counted = true;
      if (b.action === 'block') touchedBlock = true;
    }
  }
  return { counted, touchedBlock };
}
