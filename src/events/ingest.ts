// Batch ingestion: classify every item, drop ids received before, log accepted rows (event_log)
// and quarantine records, acknowledge; the applier then moves the commit into cost_events (and so
// into every view). Reads in this process wait for commits logged before them (settle()).
// docs/ingestion.md "Many writers" explains the two steps.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '../sql.js';
import { ApiError } from '../errors.js';
import { Applier } from './applier.js';
import { classify, quarantinePriced, type Admission, type QuarantineRecord, type RawItem } from './classify.js';
import type { CostEventRow } from './schema.js';
import { toClickHouseTime, fromClickHouseTime } from '../clickhouse-time.js';

export type ItemStatus = 'accepted' | 'duplicate' | 'quarantined' | 'rejected';
export type ItemResult = { index: number; event_id: string | null; status: Exclude<ItemStatus, 'accepted'>; reason: string; errors?: string[] };
export type Receipt = { accepted: number; duplicates: number; quarantined: number; rejected: number; results: ItemResult[] };

/** Serializes the check-then-log step so two concurrent batches of one process cannot both log one id. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * What an apply put in the ledger, for caches that must not serve stale answers: its events' time
 * span and product lines, and the product lines of those with a run.
 */
export type Committed = { minTimestamp: number; maxTimestamp: number; productLines: Set<string>; runProductLines: Set<string>; rows: CostEventRow[] };

type Candidate = { index: number; row: CostEventRow };
type Outcome = { fresh: Candidate[]; duplicates: Candidate[] };
/** A column of event_log, and whether a row's value for it is what the column's default gives. */
type LogColumn = { name: string; isDefault: (value: unknown) => boolean };

/**
 * The insertable columns of event_log. A value counts as the default only when it is the same
 * literal (absent counts too, for columns with a DEFAULT); anything else, including an equal
 * amount written differently ('0.0'), is sent.
 */
async function logColumns(client: ClickHouseClient): Promise<LogColumn[]> {
  const cols = await (await client.query({
    query: "SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = currentDatabase() AND table = 'event_log' AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY position",
    format: 'JSONEachRow',
  })).json<{ name: string; type: string; default_kind: string; default_expression: string }>();
  if (!cols.some((c) => c.name === 'event_id')) throw new Error('event_log is not available (no columns found)');
  return cols.map(({ name, type, default_kind: kind, default_expression: expr }) => {
    const text = /^'([^'\\]*)'$/.exec(expr)?.[1];
    const number = /^\d+$/.test(expr) ? Number(expr) : undefined;
    let isDefault: (v: unknown) => boolean = () => false;
    if (kind === 'DEFAULT' && text !== undefined) isDefault = (v) => v === undefined || v === text;
    else if (kind === 'DEFAULT' && number !== undefined) isDefault = (v) => v === undefined || v === number || v === String(number);
    else if (kind === '' && type.startsWith('Map(')) isDefault = (v) => v !== null && typeof v === 'object' && Object.keys(v).length === 0;
    return { name, isDefault };
  });
}

/**
 * Group commit: batches that arrive while a lookup-and-log round runs wait for the next round and
 * share it (one duplicate lookup, one log insert, one commit id), so the engine sees few, larger
 * statements under concurrent load and a lone batch pays no added wait. Batches of one round share
 * no id (the ingestor reserves ids before submitting). A failed round fails each of its batches.
 */
class GroupLog {
  #queue: { rows: CostEventRow[]; resolve: (r: { existing: Set<string>; commitId: string }) => void; reject: (err: unknown) => void }[] = [];
  #running = false;
  constructor(
    private readonly lookup: (ids: string[]) => Promise<Set<string>>,
    private readonly log: (commitId: string, rows: CostEventRow[]) => Promise<void>,
    private readonly maxRows: number,
  ) {}

  submit(rows: CostEventRow[]): Promise<{ existing: Set<string>; commitId: string }> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ rows, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#queue.length > 0) {
      let rows = 0;
      let n = 0;
      while (n < this.#queue.length && (n === 0 || rows + this.#queue[n]!.rows.length <= this.maxRows)) rows += this.#queue[n++]!.rows.length;
      const round = this.#queue.splice(0, n);
      try {
        const all = round.flatMap((b) => b.rows);
        const existing = await this.lookup(all.map((r) => r.event_id));
        // One commit per log insert: a commit is read back by the one instant it was logged at.
        const commitId = randomUUID();
        const fresh = existing.size === 0 ? all : all.filter((r) => !existing.has(r.event_id));
        if (fresh.length > 0) await this.log(commitId, fresh);
        for (const b of round) b.resolve({ existing, commitId });
      } catch (err) {
        for (const b of round) b.reject(err);
      }
    }
    this.#running = false;
  }
}

export class EventIngestor {
  readonly #lock = new Mutex();
  #logColumns: Promise<LogColumn[]> | undefined;
  readonly #group = new GroupLog((ids) => this.receivedIds(ids), (commitId, rows) => this.#log(commitId, rows), 50_000);
  readonly #listeners: ((c: Committed) => void)[] = [];
  readonly #unapplied = new Set<Promise<void>>();
  #backlogRows = 0;
  constructor(
    private readonly client: ClickHouseClient,
    readonly applier: Applier,
    private readonly hooks: { admit?: Admission; price?: (row: CostEventRow) => void; maxEventCostUsd?: string; applyWaitMs?: number; maxBacklogRows?: number } = {},
  ) {}

  onCommitted(listener: (c: Committed) => void): void {
    this.#listeners.push(listener);
  }

  /** See Applier.watermark: the instant up to which every stamped row is in cost_events. */
  watermark(): Promise<number> {
    return this.applier.watermark();
  }

  /** Has any row been applied after `instant`, or is an apply in flight? */
  committedSince(instant: number): Promise<boolean> {
    return this.applier.appliedSince(instant);
  }

  async ingest(items: RawItem[]): Promise<Receipt> {
    const receivedAt = toClickHouseTime(new Date());
    const results: ItemResult[] = [];
    const records: QuarantineRecord[] = [];
    const candidates: Candidate[] = [];
    const seenInBatch = new Set<string>();

    const limits = { maxEventCostUsd: this.hooks.maxEventCostUsd };
    const hold = (q: QuarantineRecord, index: number) => {
      records.push(q);
      results.push({ index, event_id: q.event_id || null, status: q.disposition, reason: q.reason, errors: q.errors });
    };
    items.forEach((raw, index) => {
      const c = classify(raw, index, receivedAt, this.hooks.admit, limits);
      if (c.kind === 'quarantine') {
        hold(c.record, index);
      } else if (seenInBatch.has(c.row.event_id)) {
        results.push({ index, event_id: c.row.event_id, status: 'duplicate', reason: 'repeated_in_batch' });
      } else {
        seenInBatch.add(c.row.event_id);
        // Reported costs are kept as sent (within the ceiling); everything else is priced from the
        // book now, and a price over the ceiling holds the event back instead of entering the ledger.
        if (c.row.cost_source !== 'reported') {
          this.hooks.price?.(c.row);
          const held = quarantinePriced(c, receivedAt, limits);
          if (held?.kind === 'quarantine') return hold(held.record, index);
        }
        candidates.push(c);
      }
    });

    // Quarantine first: if the process dies between the two writes, the retry redoes both without
    // double counting (quarantine rows collapse by id, events are deduplicated).
    if (records.length > 0) await this.client.insert({ table: 'quarantine', values: records, format: 'JSONEachRow' });

    let accepted = 0;
    if (candidates.length > 0) {
      // Backpressure: while the applier is behind by more than the allowed backlog, wait for it.
      const until = Date.now() + (this.hooks.applyWaitMs ?? 30_000);
      while (this.#backlogRows > (this.hooks.maxBacklogRows ?? 200_000)) {
        if (Date.now() > until) throw new ApiError(503, 'ingest_backlog', `the ledger is applying ${this.#backlogRows} logged events; nothing of this batch was written, retry later`, { retry_after_seconds: 5 });
        await Promise.race([...this.#unapplied, new Promise((r) => setTimeout(r, 100))]);
      }
      const { fresh, duplicates, commits } = await this.commit(candidates);
      accepted = fresh.length;
      for (const c of duplicates) results.push({ index: c.index, event_id: c.row.event_id, status: 'duplicate', reason: 'already_ingested' });
      for (const commit of commits) this.#track(this.#applied(commit.id, commit.rows), commit.rows.length);
    }

    results.sort((a, b) => a.index - b.index);
    const count = (s: ItemStatus) => results.filter((r) => r.status === s).length;
    return { accepted, duplicates: count('duplicate'), quarantined: count('quarantined'), rejected: count('rejected'), results };
  }

  /**
   * Check and log one batch. Ids are reserved in memory before the ledger lookup, so a concurrent
   * batch carrying one of them waits for this batch's log insert instead of logging it again, and
   * batches without shared ids are checked and logged together (group commit: one lookup and one
   * log insert for every batch that arrived while the previous one ran). An id whose reserving
   * batch failed is checked again. The apply that follows moves every pending commit in one
   * insert, so every view sees few, large blocks.
   */
  private async commit(candidates: Candidate[]): Promise<Outcome & { commits: { id: string; rows: CostEventRow[] }[] }> {
    const commits: { id: string; rows: CostEventRow[] }[] = [];
    const fresh: Candidate[] = [];
    const duplicates: Candidate[] = [];
    let retry: Candidate[] = candidates;
    while (retry.length > 0) {
      const waits: [Candidate, Promise<boolean>][] = [];
      const mine: Candidate[] = [];
      let settle!: (logged: boolean) => void;
      const outcome = new Promise<boolean>((r) => (settle = r));
      for (const c of retry) {
        const id = c.row.event_id;
        const other = this.applier.reservedIds.get(id);
        if (other) waits.push([c, other]);
        else if (this.applier.pendingIds.has(id)) duplicates.push(c);
        else {
          this.applier.reservedIds.set(id, outcome);
          mine.push(c);
        }
      }
      try {
        if (mine.length > 0) {
          const { existing, commitId } = await this.#group.submit(mine.map((c) => c.row));
          const logging: Candidate[] = [];
          for (const c of mine) (existing.has(c.row.event_id) ? duplicates : logging).push(c);
          if (logging.length > 0) commits.push({ id: commitId, rows: logging.map((c) => c.row) });
          fresh.push(...logging);
        }
        settle(true);
      } catch (err) {
        settle(false);
        throw err;
      } finally {
        for (const c of mine) if (this.applier.reservedIds.get(c.row.event_id) === outcome) this.applier.reservedIds.delete(c.row.event_id);
      }
      retry = [];
      for (const [c, other] of waits) (await other ? duplicates : retry).push(c);
    }
    return { fresh, duplicates, commits };
  }

  /**
   * Append rows that are not client events (corrections) through the same lock, log and apply.
   * `keep`, when given, runs under the lock right before logging and returns the rows still to
   * write (e.g. those whose correction_id is not in the ledger yet); the apply drops a correction
   * already in the ledger again, so two processes appending the same correction count it once.
   */
  async append(rows: CostEventRow[], keep?: (rows: CostEventRow[]) => Promise<CostEventRow[]>): Promise<CostEventRow[]> {
    const commitId = randomUUID();
    // The lock is held until the apply, so the next keep() sees these corrections in the ledger.
    return this.#lock.run(async () => {
      const kept = keep ? await keep(rows) : rows;
      if (kept.length > 0) {
        await this.#log(commitId, kept);
        const applied = this.#applied(commitId, kept);
        void this.applier.flush();
        await applied;
      }
      return kept;
    });
  }

  async #log(commitId: string, rows: CostEventRow[]): Promise<void> {
    const logged = toClickHouseTime(new Date());
    this.#logColumns ??= logColumns(this.client).catch((err) => {
      this.#logColumns = undefined;
      throw err;
    });
    const all = await this.#logColumns;
    for (const row of rows) {
      for (const key in row) if (!all.some((c) => c.name === key)) throw new Error(`event_log has no column ${key} (a change to cost_events must be made to event_log too)`);
      break;
    }
    // Positional JSON (JSONCompactEachRow) of only the columns some row sets: the engine parses
    // it in about a third of the time of keyed rows of every column, and fills the rest with the
    // column default, which is what each row holds there anyway.
    const columns = all.filter((c) => c.name === 'received_at' || c.name === 'commit_id' || rows.some((row) => !c.isDefault((row as Record<string, unknown>)[c.name])));
    const values = rows.map((row) => {
      const r = row as Record<string, unknown>;
      return columns.map((c) => (c.name === 'received_at' ? logged : c.name === 'commit_id' ? commitId : r[c.name]));
    });
    await this.client.insert({ table: 'event_log', columns: columns.map((c) => c.name) as [string, ...string[]], values, format: 'JSONCompactEachRow' });
    let corrections = 0;
    for (const row of rows) {
      if (((row as { record_type?: string }).record_type ?? 'event') === 'event') this.applier.pendingIds.add(row.event_id);
      else corrections++;
    }
    // Several writers: the commit row tells the applier (and other processes' duplicate checks)
    // that the commit is complete; written after its rows, so it never announces missing rows.
    if (this.applier.shared) {
      await this.client.insert({ table: 'log_commits', values: [{ commit_id: commitId, logged_at: logged, rows: rows.length, corrections }], format: 'JSONEachRow' });
    }
    this.applier.logged({ commit_id: commitId, rows: rows.length, corrections, logged_at: logged });
  }



  /**
   * Resolves once every commit this process logged before the call is in cost_events (or its
   * apply failed and awaits a retry): reads call it so a client reads its own writes.
   */
  /** True when settle() has nothing to wait for (the common case of a read): no timers needed. */
  get settled(): boolean {
    return this.#unapplied.size === 0 && this.applier.drained;
  }

  async settle(): Promise<void> {
    const waiting = [...this.#unapplied];
    const drained = this.applier.drain();
    const limit = this.hooks.applyWaitMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), limit)));
    try {
      if ((await Promise.race([drained.then(() => Promise.allSettled(waiting)), late])) === 'late') {
        throw new ApiError(503, 'ingest_not_applied', `events acknowledged by this process are not in the ledger yet (the apply is failing or behind for ${limit} ms); the answer would miss them, retry later`, { retry_after_seconds: 1 });
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * settle(), and with other processes writing (a lease): every commit any of them logged before
   * the call is applied too, by whichever process holds the apply. For what must include
   * everything acknowledged anywhere (a month close). Bounded like settle(): 503 ingest_not_applied.
   */
  async settleEverywhere(): Promise<void> {
    await this.settle();
    if (!this.applier.shared) return;
    const since = Date.now();
    const limit = this.hooks.applyWaitMs ?? 30_000;
    const pending = async () => (await (await this.client.query({ query: sql('events/pending-commits'), format: 'JSONEachRow' })).json<{ commit_id: string }>()).map((p) => p.commit_id);
    // The commits pending now (whatever the clocks of the processes that logged them say).
    const before = new Set(await pending());
    for (;;) {
      if (before.size === 0 || !(await pending()).some((id) => before.has(id))) return;
      if (Date.now() - since > limit) {
        throw new ApiError(503, 'ingest_not_applied', `events acknowledged by this or another process are not in the ledger yet (the apply is failing or behind for ${limit} ms); the answer would miss them, retry later`, { retry_after_seconds: 1 });
      }
      if (this.applier.applying) await this.applier.flush();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #track(applied: Promise<void>, rows: number): void {
    const done = applied.catch(() => undefined).finally(() => {
      this.#unapplied.delete(done);
      this.#backlogRows -= rows;
    });
    this.#unapplied.add(done);
    this.#backlogRows += rows;
  }

  /** Wait for the commit's apply, then tell listeners what entered the ledger. */
  async #applied(commitId: string, rows: CostEventRow[]): Promise<void> {
    // No deadline: the commit is logged and will be applied; the backlog bound keeps memory in check.
    const stamp = toClickHouseTime(new Date(await this.applier.waitFor(commitId)));
    // ClickHouse time text sorts as time does: compare the text, parse the two ends.
    let first = '';
    let last = '';
    const productLines = new Set<string>();
    const runProductLines = new Set<string>();
    for (const row of rows) {
      this.applier.pendingIds.delete(row.event_id);
      if (row.run_id) runProductLines.add(row.product_line_id);
      row.received_at = stamp;
      if (first === '' || row.timestamp < first) first = row.timestamp;
      if (row.timestamp > last) last = row.timestamp;
      productLines.add(row.product_line_id);
    }
    const minTimestamp = first === '' ? Infinity : fromClickHouseTime(first);
    const maxTimestamp = last === '' ? -Infinity : fromClickHouseTime(last);
    for (const listener of this.#listeners) listener({ minTimestamp, maxTimestamp, productLines, runProductLines, rows });
  }

  /**
   * Ids received before: in the ledger, or logged and waiting for the apply. This process's own
   * pending ids are known here; other processes' (server mode) are looked up in the log too.
   */
  private async receivedIds(ids: string[]): Promise<Set<string>> {
    const query = this.applier.shared ? sql('events/find-received-ids') : sql('events/find-ingested-ids');
    const rs = await this.client.query({ query, query_params: { ids }, format: 'JSONEachRow' });
    const found = new Set((await rs.json<{ event_id: string }>()).map((r) => r.event_id));
    for (const id of ids) if (this.applier.pendingIds.has(id)) found.add(id);
    return found;
  }
}
