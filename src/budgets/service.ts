// Budgets and their spend. Spend per budget window is held in memory so the pre-flight check
// answers without a query: read from ClickHouse at start and on every sync (BUDGET_SYNC_MS; in
// server mode every CLUSTER_SYNC_MS, so other processes' spend is seen within that bound), and
// incremented by every insert this process commits in between. Each read remembers the ledger's
// watermark taken before it (raised to the last pass this process applied before it); a committed
// row stamped at or before that is in the read and is not added again.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { CostEventRow } from '../events/schema.js';
import { fromUnits, toUnits } from '../pricing/decimal.js';
import { windowBounds, type BudgetWindow } from './windows.js';
import { budgetSpend, countRows, readSpend, scopeFilter as scopeSql, type Spend } from './spend.js';
import { isoFromClickHouseTime, toClickHouseTime } from '../clickhouse-time.js';

export const scopeDimensions = {
  product_line: 'product_line_id', environment: 'environment', customer: 'customer_id', user: 'user_id', feature: 'feature',
  agent: 'agent_id', agent_version: 'agent_version', model: 'model', tool: 'tool', segment: 'segment',
} as const;
export type ScopeDimension = keyof typeof scopeDimensions;

export type BudgetInput = { name: string; scope: Partial<Record<ScopeDimension, string>>; window: BudgetWindow; amount_usd: string; thresholds: number[]; action: 'alert' | 'block' };
export type Budget = BudgetInput & { id: string; updated_at?: string };

/** SQL condition for a scope, from fixed fragments; values are bound parameters. */
export const scopeFilter = (scope: Budget['scope']) => scopeSql(scope, scopeDimensions);

type Loaded = Budget & { amount: bigint; amount_usd_normalized: string; entries: [string, string][] };
const prepare = (b: Budget): Loaded => ({ ...b, amount: toUnits(b.amount_usd), amount_usd_normalized: fromUnits(toUnits(b.amount_usd)), entries: Object.entries(b.scope) as [string, string][] });
/** What a budget's spend depends on: a change of anything else (amount, thresholds, name) keeps it. */
const spendKey = (b: Budget) => JSON.stringify([b.window, Object.entries(b.scope).sort()]);
const definitionKey = (b: Budget) => JSON.stringify([b.name, b.window, Object.entries(b.scope).sort(), fromUnits(toUnits(b.amount_usd)), b.thresholds, b.action]);

export type BudgetsOptions = {
  now?: () => number;
  /**
   * The ledger's watermark (src/events/applier.ts): every row stamped at or before it is in
   * cost_events. Without it a row committed during a read may be counted twice until the next read.
   */
  watermark?: () => Promise<number>;
  /** Apply passes made by this process (embedded mode, the applier lease holder): a pass finished before a read is in it. */
  onApplied?: (listener: (pass: { stamp: number }) => void) => void;
  /** Is this process applying right now? A read overlapping an apply cannot tell whether the apply's rows are in it. */
  applyInFlight?: () => Promise<boolean>;
};

export class Budgets {
  #budgets = new Map<string, Loaded>();
  #byProductLine = new Map<string, Loaded[]>();
  #spend = new Map<string, Spend>();
  /** Rows committed while a spend read runs, so the read's result can be completed with them. */
  readonly #recorders = new Set<CostEventRow[]>();
  /** Definition changes (local saves, reloads) one at a time, so an older read never overwrites a newer save. */
  #chain: Promise<unknown> = Promise.resolve();
  readonly #now: () => number;
  readonly #watermark: (() => Promise<number>) | undefined;
  readonly #applyInFlight: () => Promise<boolean>;
  /** Passes this process applied: the latest stamp and how many so far. */
  #appliedStamp = -Infinity;
  #appliedPasses = 0;
  #followUp: NodeJS.Timeout | undefined;

  constructor(private readonly client: ClickHouseClient, opts: BudgetsOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#watermark = opts.watermark;
    this.#applyInFlight = opts.applyInFlight ?? (async () => false);
    opts.onApplied?.((pass) => {
      this.#appliedStamp = Math.max(this.#appliedStamp, pass.stamp);
      this.#appliedPasses += 1;
    });
  }

  private now(): number {
    return this.#now();
  }

  list(): Budget[] {
    return [...this.#budgets.values()].map(({ amount: _a, amount_usd_normalized: _n, entries: _e, ...b }) => b);
  }

  get(id: string): Budget | undefined {
    const b = this.#budgets.get(id);
    if (!b) return undefined;
    const { amount: _a, amount_usd_normalized: _n, entries: _e, ...rest } = b;
    return rest;
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** At start: every definition is new, so this reads every budget's spend. */
  async load(): Promise<void> {
    await this.reload();
  }

  /**
   * Re-read the definitions (made through any process). Budgets that are new, or whose window or
   * scope changed, get their spend read before they are published with it; the others keep theirs.
   * Returns how many definitions changed.
   */
  reload(): Promise<number> {
    return this.#serially(async () => {
      const rows = await (await this.client.query({
        query: "SELECT id, name, scope, budget_window AS window, toString(amount_usd) AS amount_usd, thresholds, action, toString(updated_at) AS updated_at FROM budgets FINAL WHERE deleted = 0 ORDER BY id SETTINGS prefer_column_name_to_alias = 1",
        format: 'JSONEachRow',
      })).json<Budget>();
      // updated_at as ISO-8601 UTC, like every time the API gives.
      const next = new Map(rows.map((b) => [b.id, prepare({ ...b, updated_at: isoFromClickHouseTime(b.updated_at!) })]));
      const fresh = [...next.values()].filter((b) => { const old = this.#budgets.get(b.id); return !old || spendKey(old) !== spendKey(b); });
      const changed = fresh.length + [...next.values()].filter((b) => { const old = this.#budgets.get(b.id); return old && definitionKey(old) !== definitionKey(b); }).length
        + [...this.#budgets.keys()].filter((id) => !next.has(id)).length;
      if (changed === 0) return 0;
      await this.#readAndPublish(fresh, () => {
        for (const id of this.#budgets.keys()) if (!next.has(id)) this.#spend.delete(id);
        this.#budgets = next;
        this.#index();
      });
      return changed;
    });
  }

  save(input: BudgetInput, id: string = randomUUID(), deleted = false): Promise<Budget> {
    return this.#serially(async () => {
      const now = Date.now();
      const row = { id, name: input.name, scope: input.scope, budget_window: input.window, amount_usd: fromUnits(toUnits(input.amount_usd)), thresholds: input.thresholds, action: input.action, deleted: deleted ? 1 : 0, updated_at: toClickHouseTime(now) };
      await this.client.insert({ table: 'budgets', values: [row], format: 'JSONEachRow' });
      if (deleted) {
        this.#budgets.delete(id);
        this.#spend.delete(id);
        this.#index();
      } else {
        // The amount as stored ("10.00" → "10"): every process shows and sends the same text.
        const b = prepare({ ...input, amount_usd: row.amount_usd, id, updated_at: new Date(now).toISOString() });
        const old = this.#budgets.get(id);
        await this.#readAndPublish(old && spendKey(old) === spendKey(b) ? [] : [b], () => {
          this.#budgets.set(id, b);
          this.#index();
        });
      }
      return { ...input, amount_usd: row.amount_usd, id };
    });
  }

  #index(): void {
    this.#byProductLine = new Map();
    for (const b of this.#budgets.values()) {
      const key = b.scope.product_line ?? '*';
      this.#byProductLine.set(key, [...(this.#byProductLine.get(key) ?? []), b]);
    }
  }

  /** Spend of one budget in [from, to), from ClickHouse; per run for run budgets. */
  spendFromDb(b: Budget, from: number, to: number): Promise<{ total: bigint; runs: Map<string, bigint> }> {
    return budgetSpend(this.client, b, from, to, scopeDimensions);
  }

  /**
   * Spend as of an instant, from ClickHouse: the budget's window holding `at`, up to `at` (run
   * budgets: per run, the day before `at`). For another instant than now the held spend (of the
   * current window, up to now) does not answer.
   */
  spendAt(b: Budget, at: number): Promise<{ total: bigint; runs: Map<string, bigint> }> {
    if (b.window === 'run') return this.spendFromDb(b, at - 86_400_000, at + 1);
    return this.spendFromDb(b, windowBounds(b.window, at).start, at);
  }

  /**
   * Re-read the spend of every budget (or of `only`) from ClickHouse. Resolves true when a pass of
   * this process overlapped the read (its rows may be counted twice until the follow-up read).
   */
  async sync(only?: Budget[]): Promise<boolean> {
    const list = only ? only.map((b) => this.#budgets.get(b.id)).filter((b): b is Loaded => b !== undefined) : [...this.#budgets.values()];
    return list.length > 0 ? this.#readAndPublish(list, () => undefined) : false;
  }

  /**
   * Read the spend of `list` and, in the same synchronous step, publish it (with `publish`'s
   * definition changes). The spend remembers a mark: the watermark taken before the read, raised to
   * the last pass this process finished before it; rows stamped at or before the mark are in the
   * read and onRows does not add them again. An apply of this process that overlaps the read may or
   * may not be in it, so the read starts when no apply runs here and is repeated (up to three
   * times) when one ran meanwhile. If the last attempt still overlapped one, its rows are counted
   * as not in the read (the check errs toward denying), true is returned and a follow-up read is
   * scheduled. Passes of another process that finish during the read move the watermark, so a
   * server-mode round reads again within CLUSTER_SYNC_MS.
   */
  async #readAndPublish(list: Loaded[], publish: () => void): Promise<boolean> {
    if (list.length === 0) {
      publish();
      return false;
    }
    const seen: CostEventRow[] = [];
    this.#recorders.add(seen);
    try {
      let at = 0;
      let mark = -Infinity;
      let read = new Map<string, Spend>();
      let uncertain = true;
      for (let attempt = 0; attempt < 3 && uncertain; attempt++) {
        await this.#quiet();
        at = this.now();
        mark = Math.max(this.#watermark ? await this.#watermark() : -Infinity, this.#appliedStamp);
        const passes = this.#appliedPasses;
        read = await readSpend(this.client, list, at, scopeDimensions);
        uncertain = this.#appliedPasses !== passes || (await this.#applyInFlight());
      }
      for (const spend of read.values()) spend.mark = mark;
      countRows(seen, list, at, scopeDimensions, (b) => read.get(b.id));
      publish();
      for (const [id, spend] of read) if (this.#budgets.has(id)) this.#spend.set(id, spend);
      if (uncertain) this.#scheduleFollowUp();
      return uncertain;
    } finally {
      this.#recorders.delete(seen);
    }
  }

  /** Until no apply runs in this process (at most ~2 s: an apply is bounded by APPLY_TIMEOUT_MS anyway). */
  async #quiet(): Promise<void> {
    for (let i = 0; i < 200 && (await this.#applyInFlight()); i++) await new Promise((r) => setTimeout(r, 10));
  }

  /** One more read of every budget shortly (after a read that a pass of this process overlapped). */
  #scheduleFollowUp(): void {
    if (this.#followUp) return;
    this.#followUp = setTimeout(() => {
      this.#followUp = undefined;
      // After close the client refuses: nothing to correct any more.
      void this.sync().catch(() => undefined);
    }, 200);
    this.#followUp.unref();
  }

  /**
   * Count committed rows into the windows they fall in; true when a block budget was touched.
   * On the ingest path: only the budgets of each row's product line (or of none) are looked at.
   */
  onRows(rows: CostEventRow[]): boolean {
    for (const seen of this.#recorders) for (const r of rows) seen.push(r);
    if (this.#budgets.size === 0) return false;
    const at = this.now();
    const unscoped = this.#byProductLine.get('*') ?? [];
    const candidates = (row: CostEventRow) => {
      const own = this.#byProductLine.get(row.product_line_id);
      return own ? [...own, ...unscoped] : unscoped;
    };
    return countRows(rows, candidates, at, scopeDimensions, (b, windowStart) => {
      let spend = this.#spend.get(b.id);
      if (!spend || (b.window !== 'run' && spend.windowStart !== windowStart)) {
        // A new window: no read covers it yet, so every row of it counts.
        spend = { windowStart: b.window === 'run' ? 0 : windowStart, units: 0n, runs: spend?.runs ?? new Map(), mark: b.window === 'run' ? spend?.mark ?? -Infinity : -Infinity };
        this.#spend.set(b.id, spend);
      }
      return spend;
    }).touchedBlock;
  }

  /** Current spend of a budget (a run's spend for run budgets). */
  spent(b: Budget, runId?: string): bigint {
    const spend = this.#spend.get(b.id);
    if (!spend) return 0n;
    if (b.window === 'run') return runId ? spend.runs.get(runId) ?? 0n : 0n;
    return spend.windowStart === windowBounds(b.window, this.now()).start ? spend.units : 0n;
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
    const applicable: { id: string; name: string; action: string; window: string; spent: string; limit: string; remaining: string; exhausted: boolean; would_exceed: boolean }[] = [];
    let denial: string | undefined;
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
      // Exhausted: spent reached the limit. Would exceed: not yet, but the estimate would take it over.
      const exhausted = spent >= b.amount;
      const wouldExceed = !exhausted && estimate > 0n && spent + estimate > b.amount;
      applicable.push({ id: b.id, name: b.name, action: b.action, window: b.window, spent: fromUnits(spent), limit: b.amount_usd_normalized, remaining: fromUnits(b.amount > spent ? b.amount - spent : 0n), exhausted, would_exceed: wouldExceed });
      if ((exhausted || wouldExceed) && b.action === 'block' && !denial) {
        denial = exhausted ? `budget "${b.name}" is exhausted`
          : `budget "${b.name}" would be exceeded by the estimate (${fromUnits(spent)} spent + ${fromUnits(estimate)} estimated > ${b.amount_usd_normalized})`;
      }
    }
    return {
      allow: !denial,
      budgets: applicable,
      reason: denial ?? (applicable.length ? 'within budget' : 'no budget applies'),
    };
  }

  all(): (Budget & { amount: bigint })[] {
    return [...this.#budgets.values()];
  }
}
