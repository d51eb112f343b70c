// Budgets and their spend. Spend per budget window is held in memory so the pre-flight check
// answers without a query: loaded from ClickHouse at start and every BUDGET_SYNC_MS, and
// incremented by every insert this process commits.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { CostEventRow } from '../events/schema.js';
import { fromUnits, toUnits } from '../pricing/decimal.js';
import { windowBounds, type BudgetWindow } from './windows.js';
import { sliceTotals } from '../costs/query.js';
import { toClickHouseTime, fromClickHouseTime } from '../clickhouse-time.js';

export const scopeDimensions = {
  product_line: 'product_line_id', environment: 'environment', customer: 'customer_id', user: 'user_id', feature: 'feature',
  agent: 'agent_id', agent_version: 'agent_version', model: 'model', tool: 'tool', segment: 'segment',
} as const;
export type ScopeDimension = keyof typeof scopeDimensions;

export type BudgetInput = { name: string; scope: Partial<Record<ScopeDimension, string>>; window: BudgetWindow; amount_usd: string; thresholds: number[]; action: 'alert' | 'block' };
export type Budget = BudgetInput & { id: string; updated_at?: string };
type Spend = { windowStart: number; units: bigint; runs: Map<string, bigint> };

/** SQL condition for a scope, from fixed fragments; values are bound parameters. */
export function scopeFilter(scope: Budget['scope']) {
  const params: Record<string, string> = {};
  const parts = Object.entries(scope).map(([dim, value]) => {
    params[`s_${dim}`] = value!;
    return `AND ${scopeDimensions[dim as ScopeDimension]} = {s_${dim}:String}`;
  });
  return { sql: parts.join(' '), params };
}

type Loaded = Budget & { amount: bigint; amount_usd_normalized: string; entries: [string, string][] };
const prepare = (b: Budget): Loaded => ({ ...b, amount: toUnits(b.amount_usd), amount_usd_normalized: fromUnits(toUnits(b.amount_usd)), entries: Object.entries(b.scope) as [string, string][] });

export class Budgets {
  #budgets = new Map<string, Loaded>();
  #byProductLine = new Map<string, Loaded[]>();
  #spend = new Map<string, Spend>();
  constructor(private readonly client: ClickHouseClient, private readonly now: () => number = Date.now) {}

  list(): Budget[] {
    return [...this.#budgets.values()].map(({ amount: _a, amount_usd_normalized: _n, entries: _e, ...b }) => b);
  }

  get(id: string): Budget | undefined {
    const b = this.#budgets.get(id);
    if (!b) return undefined;
    const { amount: _a, amount_usd_normalized: _n, entries: _e, ...rest } = b;
    return rest;
  }

  async load(): Promise<void> {
    const rows = await (await this.client.query({
      query: "SELECT id, name, scope, budget_window AS window, toString(amount_usd) AS amount_usd, thresholds, action, toString(updated_at) AS updated_at FROM budgets FINAL WHERE deleted = 0 ORDER BY id SETTINGS prefer_column_name_to_alias = 1",
      format: 'JSONEachRow',
    })).json<Budget>();
    this.#budgets = new Map(rows.map((b) => [b.id, prepare(b)]));
    this.#index();
    await this.sync();
  }

  async save(input: BudgetInput, id: string = randomUUID(), deleted = false): Promise<Budget> {
    const row = { id, name: input.name, scope: input.scope, budget_window: input.window, amount_usd: input.amount_usd, thresholds: input.thresholds, action: input.action, deleted: deleted ? 1 : 0, updated_at: toClickHouseTime(Date.now()) };
    await this.client.insert({ table: 'budgets', values: [row], format: 'JSONEachRow' });
    if (deleted) {
      this.#budgets.delete(id);
      this.#spend.delete(id);
    } else {
      this.#budgets.set(id, prepare({ ...input, id }));
      await this.syncOne(this.#budgets.get(id)!);
    }
    this.#index();
    return { ...input, id };
  }

  #index(): void {
    this.#byProductLine = new Map();
    for (const b of this.#budgets.values()) {
      const key = b.scope.product_line ?? '*';
      this.#byProductLine.set(key, [...(this.#byProductLine.get(key) ?? []), b]);
    }
  }

  /** Spend of one budget in [from, to), from ClickHouse; per run for run budgets. */
  async spendFromDb(b: Budget, from: number, to: number): Promise<{ total: bigint; runs: Map<string, bigint> }> {
    const byRun = b.window === 'run';
    if (!byRun) {
      // Whole hours from a rollup, the ragged edges (window start, now) from raw events.
      const filters = Object.fromEntries(Object.entries(b.scope).map(([d, v]) => [d, [v!]]));
      const { totals } = await sliceTotals(this.client, { from, to, filters });
      return { total: toUnits(totals.cost_usd), runs: new Map() };
    }
    // Run budgets need spend per run within the window: run_facts holds whole runs, so raw events.
    const f = scopeFilter(b.scope);
    const rows = await (await this.client.query({
      query: `SELECT ${byRun ? 'run_id' : "''"} AS run, toString(sum(cost_usd)) AS spent FROM cost_events
              WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} ${f.sql}
              ${byRun ? "AND run_id != '' GROUP BY run_id" : ''}`,
      query_params: { from: toClickHouseTime(from), to: toClickHouseTime(to), ...f.params },
      format: 'JSONEachRow',
    })).json<{ run: string; spent: string }>();
    const runs = new Map(rows.filter((r) => r.run).map((r) => [r.run, toUnits(r.spent)]));
    return { total: rows.reduce((acc, r) => acc + toUnits(r.spent), 0n), runs };
  }

  #bounds(b: Budget, at: number) {
    // A run budget follows runs of the last day; each run is capped separately.
    return b.window === 'run' ? { start: at - 86_400_000, end: at + 1 } : windowBounds(b.window, at);
  }

  async syncOne(b: Budget): Promise<void> {
    const at = this.now();
    const { start, end } = this.#bounds(b, at);
    const spent = await this.spendFromDb(b, start, b.window === 'run' ? end + 86_400_000 : end);
    this.#spend.set(b.id, { windowStart: b.window === 'run' ? 0 : start, units: spent.total, runs: spent.runs });
  }

  async sync(): Promise<void> {
    for (const b of this.#budgets.values()) await this.syncOne(b);
  }

  /**
   * Count committed rows into the windows they fall in; true when a block budget was touched.
   * On the ingest path: only the budgets of each row's product line (or of none) are looked at.
   */
  onRows(rows: CostEventRow[]): boolean {
    if (this.#budgets.size === 0) return false;
    let touchedBlock = false;
    const at = this.now();
    const bounds = new Map<string, { start: number; end: number }>();
    const boundsOf = (b: Loaded) => {
      let w = bounds.get(b.window);
      if (!w) {
        const x = this.#bounds(b, at);
        // Run budgets follow runs of the last day and any event stamped up to a day ahead.
        w = b.window === 'run' ? { start: x.start, end: x.end + 86_400_000 } : x;
        bounds.set(b.window, w);
      }
      return w;
    };
    const unscoped = this.#byProductLine.get('*') ?? [];
    for (const row of rows) {
      const own = this.#byProductLine.get(row.product_line_id);
      if (!own && unscoped.length === 0) continue;
      const ts = fromClickHouseTime(row.timestamp);
      const cost = toUnits(String(row.cost_usd));
      const fields = row as unknown as Record<string, unknown>;
      for (const b of own ? [...own, ...unscoped] : unscoped) {
        const w = boundsOf(b);
        if (ts < w.start || ts >= w.end) continue;
        if (!b.entries.every(([dim, value]) => String(fields[scopeDimensions[dim as ScopeDimension]] ?? '') === value)) continue;
        let spend = this.#spend.get(b.id);
        if (!spend || (b.window !== 'run' && spend.windowStart !== w.start)) {
          spend = { windowStart: b.window === 'run' ? 0 : w.start, units: 0n, runs: spend?.runs ?? new Map() };
          this.#spend.set(b.id, spend);
        }
        if (b.window === 'run') {
          if (!row.run_id) continue;
          spend.runs.set(row.run_id, (spend.runs.get(row.run_id) ?? 0n) + cost);
        } else spend.units += cost;
        if (b.action === 'block') touchedBlock = true;
      }
    }
    return touchedBlock;
  }

  /** Current spend of a budget (a run's spend for run budgets). */
  spent(b: Budget, runId?: string): bigint {
    const spend = this.#spend.get(b.id);
    if (!spend) return 0n;
    if (b.window === 'run') return runId ? spend.runs.get(runId) ?? 0n : 0n;
    return spend.windowStart === this.#bounds(b, this.now()).start ? spend.units : 0n;
  }

  runSpends(b: Budget): Map<string, bigint> {
    return this.#spend.get(b.id)?.runs ?? new Map();
  }

  /**
   * The pre-flight check: the budgets whose every scoped dimension is present in the attributes
   * with the same value (run budgets also need run_id). An exhausted block budget denies.
   * `include` narrows the budgets considered (a scoped key sees only its product lines').
   */
  check(attrs: Record<string, string>, estimate = 0n, include?: (b: Budget) => boolean) {
    const applicable: { id: string; name: string; action: string; window: string; spent: string; limit: string; remaining: string; exhausted: boolean }[] = [];
    let deniedBy: string | undefined;
    const at = this.now();
    const starts = new Map<string, number>();
    // Only budgets on this product line, or on none, can apply: the index keeps the scan short.
    const candidates = [...(this.#byProductLine.get(attrs.product_line ?? '') ?? []), ...(this.#byProductLine.get('*') ?? [])];
    for (const b of candidates) {
      if (b.window === 'run' && !attrs.run_id) continue;
      if (!b.entries.every(([dim, value]) => attrs[dim] === value)) continue;
      if (include && !include(b)) continue;
      let spent: bigint;
      if (b.window === 'run') spent = this.#spend.get(b.id)?.runs.get(attrs.run_id!) ?? 0n;
      else {
        let start = starts.get(b.window);
        if (start === undefined) starts.set(b.window, (start = windowBounds(b.window, at).start));
        const spend = this.#spend.get(b.id);
        spent = spend && spend.windowStart === start ? spend.units : 0n;
      }
      const exhausted = spent >= b.amount || (estimate > 0n && spent + estimate > b.amount);
      applicable.push({ id: b.id, name: b.name, action: b.action, window: b.window, spent: fromUnits(spent), limit: b.amount_usd_normalized, remaining: fromUnits(b.amount > spent ? b.amount - spent : 0n), exhausted });
      if (exhausted && b.action === 'block' && !deniedBy) deniedBy = b.name;
    }
    return {
      allow: !deniedBy,
      budgets: applicable,
      reason: deniedBy ? `budget "${deniedBy}" is exhausted` : applicable.length ? 'within budget' : 'no budget applies',
    };
  }

  all(): (Budget & { amount: bigint })[] {
    return [...this.#budgets.values()];
  }
}
