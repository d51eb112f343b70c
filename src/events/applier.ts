// The second step of ingestion: move logged commits from event_log into cost_events, one insert
// per pass, dropping ids the ledger already holds. Exactly one applier runs at a time: the only
// process in embedded mode, the holder of the `applier` lease when several processes share a
// ClickHouse server. Waiters (the requests whose commits are in the log) learn of their apply
// from this process's pass, or by polling applied_commits when another process applies.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Lease } from '../cluster/claims.js';
import { fillSlots, sql } from '../sql.js';
import { forgetRunBits } from '../costs/run-bits.js';
import { dimensions } from '../costs/dimensions.js';
import { fromClickHouseTime, toClickHouseTime } from '../clickhouse-time.js';

export type ApplierOptions = {
  /** Several processes: only the lease holder applies. Absent: this process is the only writer. */
  lease?: Lease;
  /** Rows per apply insert (a pass takes whole commits up to this many rows, at least one). */
  maxRows: number;
  /** How often a process polls for work and for other processes' applies (server mode). */
  pollMs: number;
  /** Bound on one apply statement, enforced by the engine (max_execution_time). */
  applyTimeoutMs: number;
  /**
   * Batching: a pass waits until this many rows are pending or the oldest pending commit is this
   * old, so the views see large blocks; a read in this process (flush) does not wait.
   */
  minRows?: number;
  delayMs?: number;
  /** `ON CLUSTER '…'` for the log's partition drops, when the tables live on a cluster. */
  onCluster?: string;
  log?: { warn: (msg: string) => void; error: (obj: unknown, msg: string) => void };
};

/** The event-level run dimensions that have bits (migrations/020): run-changes.sql binds v_/b_ of each. */
const bitDimensions = Object.entries(dimensions).filter(([, spec]) => 'bits' in spec.run).map(([d]) => d);

type Pending = { commit_id: string; rows: number; corrections: number; logged_at: string };
type Waiter = (stamp: number) => void;
export type AppliedPass = { commits: string[]; stamp: number };

/** The columns an insert into `table` writes (not MATERIALIZED, ALIAS or EPHEMERAL), in table order. */
export async function insertableColumns(client: ClickHouseClient, table: string): Promise<string[]> {
  const cols = (await (await client.query({
    query: "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY position",
    query_params: { table },
    format: 'JSONEachRow',
  })).json<{ name: string }>()).map((r) => r.name);
  if (!cols.includes('event_id')) throw new Error(`${table} is not available (no columns found)`);
  return cols;
}

export class Applier {
  #columns: Promise<string[]> | undefined;
  #lastStamp = 0;
  #inFlightSince: number | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #delay: NodeJS.Timeout | undefined;
  #force = false;
  #closed = false;
  #stampLoaded = false;
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #local = new Map<string, Pending>();
  /** Commits of #local found in the log rather than logged by this process since its last good pass. */
  readonly #unchecked = new Set<string>();
  #discover = true;
  #nextPrune = 0;
  /** run_value_bits as parameters of run-changes.sql (v_<dim>, b_<dim>); dropped when values are registered. */
  #registryParams: Record<string, (string | number)[]> | undefined;
  /** `dimension\0value` of event-level run values already given a bit (or declined one). */
  readonly #runValues = new Set<string>();
  readonly #listeners: ((pass: AppliedPass) => void)[] = [];
  /**
   * Ids being checked and logged right now by an ingestor of this ledger (with the outcome of
   * that log insert), and ids logged and not yet applied: shared by every ingestor on this
   * applier, so no two of them log one id (the premise of the apply without a ledger lookup).
   */
  readonly reservedIds = new Map<string, Promise<boolean>>();
  readonly pendingIds = new Set<string>();

  constructor(private readonly client: ClickHouseClient, private readonly opts: ApplierOptions) {}

  /** Server mode: take part in the lease and poll for work until close(). */
  start(): void {
    if (!this.opts.lease || this.#timer) return;
    const loop = () => {
      this.#timer = setTimeout(async () => {
        await this.kick(false);
        await this.#pollOthers();
        if (!this.#closed) loop();
      }, this.opts.pollMs);
      this.#timer.unref();
    };
    loop();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
    clearTimeout(this.#delay);
    await this.#running;
    await this.opts.lease?.release().catch(() => undefined);
  }

  onApplied(listener: (pass: AppliedPass) => void): void {
    this.#listeners.push(listener);
  }

  /** Do other processes write to this ledger (a lease decides who applies)? */
  get shared(): boolean {
    return this.opts.lease !== undefined;
  }

  /** Is this process the applier right now? */
  get applying(): boolean {
    return !this.opts.lease || this.opts.lease.held(0);
  }

  /**
   * Resolves with the received_at stamp the commit's rows got, once it is in cost_events. No
   * deadline: a logged commit is applied sooner or later (callers bound their own waits).
   */
  waitFor(commitId: string): Promise<number> {
    return new Promise((resolve) => {
      this.#waiters.set(commitId, [...(this.#waiters.get(commitId) ?? []), resolve]);
      this.#soon();
    });
  }

  /** Commits logged here or elsewhere and not yet applied are applied now (start, recovery). */
  async recover(): Promise<void> {
    this.#discover = true;
    await this.kick();
  }

  /**
   * A commit this process just logged. The only writer (embedded) keeps its pending work in memory
   * and asks the log only at start and after a failed pass; with a lease, every pass asks the log,
   * since other processes log too.
   */
  logged(commit: { commit_id: string; rows: number; corrections: number; logged_at: string }): void {
    this.#local.set(commit.commit_id, commit);
  }

  /**
   * Resolves once every commit logged through this applier before the call is applied (by this
   * process's pass, or by another's): what every app sharing this engine has acknowledged.
   */
  /** Nothing this process logged is waiting for its apply. */
  get drained(): boolean {
    return this.#local.size === 0;
  }

  async drain(): Promise<void> {
    if (this.#local.size === 0) return;
    const done = Promise.all([...this.#local.keys()].map((id) => this.waitFor(id)));
    void this.flush();
    await done;
  }

  /** Apply now whatever is pending, without waiting to batch more (a read is waiting). */
  flush(): Promise<void> {
    return this.kick(true);
  }

  #soon(): void {
    let rows = 0;
    for (const p of this.#local.values()) rows += p.rows;
    if (rows >= (this.opts.minRows ?? 0)) {
      void this.kick(true);
    } else if (!this.#delay) {
      this.#delay = setTimeout(() => {
        this.#delay = undefined;
        void this.kick(true);
      }, this.opts.delayMs ?? 0);
      this.#delay.unref();
    }
  }

  /**
   * Run a pass now, or once more after the running one (passes never overlap in a process). A
   * failed pass is retried after a second while anything here waits for an apply; the promise
   * never rejects (waiters of the failed commits keep waiting for the retry).
   */
  kick(force = true): Promise<void> {
    if (force) {
      this.#force = true;
      clearTimeout(this.#delay);
      this.#delay = undefined;
    }
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          const force = this.#force;
          this.#force = false;
          await this.#pass(force);
        } while (this.#again && !this.#closed);
      } catch (err) {
        this.opts.log?.error(err, 'applier: pass failed, the commits stay logged and are retried');
        if (!this.#closed && !this.#retry) {
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            void this.kick();
          }, 1000);
          this.#retry.unref();
        }
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /**
   * The latest received_at such that every row stamped at or before it is in cost_events; a
   * reader pinned to it never sees rows appear behind it later. The applier knows it exactly;
   * another process asks applied_commits (stamps only grow, across lease terms too).
   */
  async watermark(): Promise<number> {
    if (this.applying) {
      if (this.#inFlightSince !== undefined) return this.#inFlightSince - 1;
      if (!this.opts.lease) {
        // The next pass is stamped after this instant even within the same millisecond.
        this.#lastStamp = Math.max(Date.now(), this.#lastStamp);
        return this.#lastStamp;
      }
    }
    return this.#maxAppliedStamp();
  }

  /** Has anything been applied after `instant`, or is an apply in flight? */
  async appliedSince(instant: number): Promise<boolean> {
    if (this.applying && !this.opts.lease) return this.#inFlightSince !== undefined || this.#lastStamp > instant;
    return this.#inFlightSince !== undefined || (await this.#maxAppliedStamp()) > instant;
  }

  async #pass(force: boolean): Promise<void> {
    const lease = this.opts.lease;
    if (lease && !(await lease.tick().catch((err) => (this.opts.log?.error(err, 'applier lease'), false)))) return;
    // Start an apply only with enough lease left that it ends (or the engine stops it) before expiry.
    if (lease && !lease.held(this.opts.applyTimeoutMs + 1000)) return;
    if (!this.#stampLoaded) {
      this.#lastStamp = Math.max(this.#lastStamp, await this.#maxAppliedStamp());
      this.#stampLoaded = true;
    }
    const pending = await this.#pending();
    if (pending.length === 0) {
      // Waiting for a commit nobody here applied: another applier on the same ledger did.
      await this.#pollOthers();
      return;
    }
    // Unforced (the server-mode poll): wait for a batch worth applying, or for the oldest to age.
    if (!force) {
      const total = pending.reduce((n, p) => n + p.rows, 0);
      const oldest = Math.min(...pending.map((p) => fromClickHouseTime(p.logged_at)));
      if (total < (this.opts.minRows ?? 0) && Date.now() - oldest < (this.opts.delayMs ?? 0)) return;
    }
    let rows = 0;
    const take: Pending[] = [];
    for (const p of pending) {
      if (take.length > 0 && rows + p.rows > this.opts.maxRows) break;
      take.push(p);
      rows += p.rows;
    }
    if (take.length < pending.length) this.#again = true;
    const commits = take.map((p) => p.commit_id);
    const logged = [...new Set(take.map((p) => p.logged_at))];
    const stamp = Math.max(Date.now(), this.#lastStamp + 1);
    this.#inFlightSince = stamp;
    try {
      await this.#registerRunValues(commits, logged);
      const corrections = take.some((p) => p.corrections > 0);
      const checked = Boolean(lease) || take.some((p) => this.#unchecked.has(p.commit_id));
      const params = { commits, logged, stamp: toClickHouseTime(new Date(stamp)), version: stamp, lease_prefix: lease?.prefix ?? '', lease_term: lease?.term ?? '' };
      // The runs' changes first, from the rows the apply is about to insert (run-changes.sql).
      const batch = await this.#applySql(corrections, lease?.term, checked, false);
      await this.client.command({ query: fillSlots(sql('events/run-changes'), { batch, seconds: this.#seconds() }), query_params: { ...params, ...(await this.#registry()) } });
      await this.client.command({ query: await this.#applySql(corrections, lease?.term, checked, true), query_params: params });
      await this.client.insert({
        table: 'applied_commits',
        values: commits.map((commit_id) => ({ commit_id, stamp: toClickHouseTime(new Date(stamp)) })),
        format: 'JSONEachRow',
      });
      this.#lastStamp = stamp;
      for (const id of commits) {
        this.#local.delete(id);
        this.#unchecked.delete(id);
      }
    } catch (err) {
      // What failed may have half-happened: ask the log again next time, and check its ids.
      this.#discover = true;
      for (const id of commits) this.#unchecked.add(id);
      throw err;
    } finally {
      this.#inFlightSince = undefined;
    }
    for (const listener of this.#listeners) listener({ commits, stamp });
    await this.#dropApplied(commits, logged);
    if (performance.now() > this.#nextPrune) {
      this.#nextPrune = performance.now() + 10 * 60_000;
      await this.prune().catch((err) => this.opts.log?.warn(`applier: pruning the event log failed: ${String(err)}`));
    }
    for (const id of commits) {
      for (const resolve of this.#waiters.get(id) ?? []) resolve(stamp);
      this.#waiters.delete(id);
    }
  }

  /**
   * Drop whole days of the log older than yesterday once every commit logged that day is applied
   * (the log is a staging area; the ledger is cost_events). Returns the days dropped.
   */
  async prune(): Promise<string[]> {
    const query = sql(this.opts.lease ? 'events/prunable-log-days' : 'events/prunable-log-days-in-log');
    const days = (await (await this.client.query({ query, format: 'JSONEachRow' })).json<{ day: string }>())
      .map((r) => r.day).filter((d) => /^\d{8}$/.test(d));
    for (const day of days) {
      for (const table of ['event_log', 'log_commits']) {
        await this.client.command({ query: `ALTER TABLE ${table} ${this.opts.onCluster ?? ''} DROP PARTITION ID '${day}'` });
      }
    }
    return days;
  }

  /**
   * Drop the log parts of commits just applied: the log does not merge (migration 019), so it holds
   * one part per pending commit. Best effort: a part left behind goes with its day (prune). On a
   * replicated log the drop replicates by itself (no ON CLUSTER).
   */
  async #dropApplied(commits: string[], logged: string[]): Promise<void> {
    try {
      const parts = await (await this.client.query({ query: sql('events/applied-log-parts'), query_params: { commits, logged }, format: 'JSONEachRow' })).json<{ part: string }>();
      const drops = parts.map((p) => p.part).filter((part) => /^[A-Za-z0-9_-]+$/.test(part)).map((part) => `DROP PART '${part}'`);
      if (drops.length > 0) await this.client.command({ query: `ALTER TABLE event_log ${drops.join(', ')}` });
    } catch (err) {
      this.opts.log?.warn(`applier: dropping applied log parts failed (the daily prune will): ${String(err)}`);
    }
  }

  /** Waiters whose commits another process applied. */
  async #pollOthers(): Promise<void> {
    if (this.#waiters.size === 0) return;
    try {
      const rows = await (await this.client.query({
        query: 'SELECT commit_id, toUnixTimestamp64Milli(max(stamp)) AS stamp FROM applied_commits WHERE commit_id IN {ids:Array(String)} GROUP BY commit_id',
        query_params: { ids: [...this.#waiters.keys()] },
        format: 'JSONEachRow',
      })).json<{ commit_id: string; stamp: number }>();
      for (const r of rows) {
        for (const resolve of this.#waiters.get(r.commit_id) ?? []) resolve(Number(r.stamp));
        this.#waiters.delete(r.commit_id);
      }
    } catch (err) {
      this.opts.log?.warn(`applier: polling applied commits failed: ${String(err)}`);
    }
  }

  async #pending(): Promise<Pending[]> {
    if (!this.opts.lease && !this.#discover) return [...this.#local.values()];
    // Several writers record their commits in log_commits; the only writer's log is its own record.
    const query = sql(this.opts.lease ? 'events/pending-commits' : 'events/pending-commits-in-log');
    const rows = await (await this.client.query({ query, format: 'JSONEachRow' })).json<Pending>();
    this.#discover = false;
    const found = rows.map((r) => ({ ...r, rows: Number(r.rows), corrections: Number(r.corrections) }));
    if (!this.opts.lease) {
      // The only writer: what the log holds is its work until applied (a pass may not take all).
      for (const p of found) {
        this.#local.set(p.commit_id, p);
        this.#unchecked.add(p.commit_id);
      }
      return [...this.#local.values()];
    }
    // Logged here after the query started: not in its answer yet, but pending all the same.
    const seen = new Set(found.map((p) => p.commit_id));
    return [...found, ...[...this.#local.values()].filter((p) => !seen.has(p.commit_id))];
  }

  async #maxAppliedStamp(): Promise<number> {
    const rows = await (await this.client.query({ query: 'SELECT toUnixTimestamp64Milli(max(stamp)) AS stamp FROM applied_commits', format: 'JSONEachRow' })).json<{ stamp: number }>();
    return Number(rows[0]?.stamp ?? 0);
  }

  /**
   * Bits for the values of the event-level run dimensions these commits bring and run_value_bits
   * lacks (migrations/020), before the apply whose view needs them. The values already handled are
   * remembered, so a pass with nothing new costs one small read of the log; a value the registry
   * declined (a dimension past 62 values) is remembered too: its runs fall back to the value sets.
   */
  async #registerRunValues(commits: string[], logged: string[]): Promise<void> {
    const [seen = {}] = await (await this.client.query({ query: sql('events/run-values-of-commits'), query_params: { commits, logged }, format: 'JSONEachRow' })).json<Record<string, string[]>>();
    const pairs = Object.entries(seen).flatMap(([d, values]) => values.map((v) => `${d}\u0000${v}`));
    if (pairs.every((p) => this.#runValues.has(p))) return;
    await this.client.command({
      query: fillSlots(sql('events/register-run-values'), { source: 'event_log', where: "WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)}" }),
      query_params: { commits, logged },
    });
    for (const p of pairs) this.#runValues.add(p);
    forgetRunBits(this.client);
    this.#registryParams = undefined;
  }

  /**
   * The registry of run value bits as the run_facts view reads it (every row, by dimension), bound
   * into the run changes: kept while this process is the only writer; read every pass when others
   * may register values (a lease), so the bits always match the view's.
   */
  async #registry(): Promise<Record<string, (string | number)[]>> {
    if (this.#registryParams && !this.opts.lease) return this.#registryParams;
    const rows = await (await this.client.query({
      query: "SELECT dimension, groupArray(value) AS v, groupArray(bit) AS b FROM run_value_bits GROUP BY dimension SETTINGS log_comment = 'events.run-value-bits'",
      format: 'JSONEachRow',
    })).json<{ dimension: string; v: string[]; b: number[] }>();
    const out: Record<string, (string | number)[]> = {};
    for (const d of bitDimensions) {
      const r = rows.find((x) => x.dimension === d);
      out[`v_${d}`] = r?.v ?? [];
      out[`b_${d}`] = (r?.b ?? []).map(Number);
    }
    this.#registryParams = out;
    return out;
  }

  /**
   * The engine's bound on one apply statement, in its own SETTINGS clause: the embedded engine
   * keeps a call's clickhouse_settings for the rest of its session (src/clickhouse.ts).
   */
  #seconds(): string {
    return String(Math.ceil(this.opts.applyTimeoutMs / 1000));
  }

  /** The columns of cost_events an insert writes (the log has the same, plus commit_id). */
  columns(): Promise<string[]> {
    this.#columns ??= insertableColumns(this.client, 'cost_events').catch((err) => {
      this.#columns = undefined;
      throw err;
    });
    return this.#columns;
  }

  /**
   * The apply statement. `checked`: drop ids already in the ledger and keep the first of an id
   * logged twice, for commits that came from the log (other processes, or this one before a
   * restart or a failed pass, which may have half-applied). Commits this process logged since its
   * last good pass skip both: the only writer checked each id at receipt against the ledger and
   * every id it had logged (reservedIds, pendingIds), so they share none. `insert`: false gives the
   * SELECT alone, the batch whose run changes are written first.
   */
  async #applySql(corrections: boolean, fenced: string | undefined, checked: boolean, insert: boolean): Promise<string> {
    const cols = await this.columns();
    return fillSlots(sql(checked ? 'events/apply-commits' : 'events/apply-own-commits'), {
      insert: insert ? `INSERT INTO cost_events (${cols.join(', ')})` : '',
      settings: insert ? `SETTINGS log_comment = 'events.apply-commits', max_execution_time = ${this.#seconds()}` : '',
      select: cols.map((c) => (c === 'received_at' ? "{stamp:DateTime64(3, 'UTC')}" : c)).join(', '),
      corrections: corrections ? sql('events/apply-corrections-filter') : '',
      fence: fenced ? "AND (SELECT max(key) FROM ledger_claims WHERE startsWith(key, {lease_prefix:String})) = {lease_term:String}" : '',
    });
  }

}
