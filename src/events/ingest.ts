// Batch ingestion: classify every item, drop duplicates before they can reach cost_events (and
// so any materialized view on it), write accepted rows and quarantine records, then acknowledge.
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '../sql.js';
import { classify, quarantinePriced, type Admission, type QuarantineRecord, type RawItem } from './classify.js';
import type { CostEventRow } from './schema.js';
import { toClickHouseTime, fromClickHouseTime } from '../clickhouse-time.js';

export type ItemStatus = 'accepted' | 'duplicate' | 'quarantined' | 'rejected';
export type ItemResult = { index: number; event_id: string | null; status: Exclude<ItemStatus, 'accepted'>; reason: string; errors?: string[] };
export type Receipt = { accepted: number; duplicates: number; quarantined: number; rejected: number; results: ItemResult[] };

/** Serializes the check-then-insert step so two concurrent batches cannot both insert one id. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** What a committed insert touched, for caches that must not serve stale answers. */
export type Committed = { minTimestamp: number; maxTimestamp: number; productLines: Set<string>; rows: CostEventRow[] };

type Candidate = { index: number; row: CostEventRow };
type Pending = { candidates: Candidate[]; resolve: (r: { fresh: number; duplicates: Candidate[] }) => void; reject: (err: unknown) => void };

export class EventIngestor {
  readonly #lock = new Mutex();
  readonly #pending: Pending[] = [];
  #draining = false;
  readonly #listeners: ((c: Committed) => void)[] = [];
  #lastReceivedAt = 0;
  #inFlightSince: number | undefined;
  constructor(
    private readonly client: ClickHouseClient,
    private readonly hooks: { admit?: Admission; price?: (row: CostEventRow) => void; maxEventCostUsd?: string } = {},
  ) {}

  onCommitted(listener: (c: Committed) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * The latest instant such that every row with received_at ≤ it is committed (in this process).
   * received_at is assigned under the insert lock and strictly increases, so a reader pinned to
   * this watermark never sees a batch appear behind it later.
   */
  /** Has any insert been stamped after `instant`, or is one in flight? */
  committedSince(instant: number): boolean {
    return this.#inFlightSince !== undefined || this.#lastReceivedAt > instant;
  }

  watermark(): number {
    if (this.#inFlightSince !== undefined) return this.#inFlightSince - 1;
    // The next insert is stamped after this instant even if it lands within the same millisecond.
    this.#lastReceivedAt = Math.max(Date.now(), this.#lastReceivedAt);
    return this.#lastReceivedAt;
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
      const { fresh, duplicates } = await this.commit(candidates);
      accepted = fresh;
      for (const c of duplicates) results.push({ index: c.index, event_id: c.row.event_id, status: 'duplicate', reason: 'already_ingested' });
    }

    results.sort((a, b) => a.index - b.index);
    const count = (s: ItemStatus) => results.filter((r) => r.status === s).length;
    return { accepted, duplicates: count('duplicate'), quarantined: count('quarantined'), rejected: count('rejected'), results };
  }

  /**
   * Group commit: batches that arrive while an insert is running wait together and are then
   * deduplicated with one lookup and written with one insert (each insert feeds every view, so
   * fewer, larger inserts cost the engine much less). Receipts are given only after the commit;
   * if it fails, every batch of the group fails and none is acknowledged.
   */
  private commit(candidates: Candidate[]): Promise<{ fresh: number; duplicates: Candidate[] }> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ candidates, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#pending.length > 0) {
        await this.#lock.run(async () => {
          const group = this.#pending.splice(0);
          try {
            const existing = await this.existingIds(group.flatMap((g) => g.candidates.map((c) => c.row.event_id)));
            // The same id in two batches of one group: the first batch takes it, like two commits in a row.
            const taken = new Set<string>();
            const outcomes = group.map((g) => {
              const fresh: Candidate[] = [];
              const duplicates: Candidate[] = [];
              for (const c of g.candidates) {
                if (existing.has(c.row.event_id) || taken.has(c.row.event_id)) duplicates.push(c);
                else {
                  taken.add(c.row.event_id);
                  fresh.push(c);
                }
              }
              return { fresh, duplicates };
            });
            const rows = outcomes.flatMap((o) => o.fresh.map((c) => c.row));
            if (rows.length > 0) await this.insertRows(rows);
            group.forEach((g, i) => g.resolve({ fresh: outcomes[i]!.fresh.length, duplicates: outcomes[i]!.duplicates }));
          } catch (err) {
            for (const g of group) g.reject(err);
          }
        });
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Append rows that are not client events (corrections) through the same lock and stamping.
   * `keep`, when given, runs under the lock right before the insert and returns the rows still to
   * write (e.g. those whose correction_id is not in the ledger yet), so check and insert are one step.
   */
  append(rows: CostEventRow[], keep?: (rows: CostEventRow[]) => Promise<CostEventRow[]>): Promise<CostEventRow[]> {
    return this.#lock.run(async () => {
      const kept = keep ? await keep(rows) : rows;
      if (kept.length > 0) await this.insertRows(kept);
      return kept;
    });
  }

  /** Insert under the lock, stamping a strictly increasing received_at, then tell listeners. */
  private async insertRows(rows: CostEventRow[]): Promise<void> {
    const receivedAt = Math.max(Date.now(), this.#lastReceivedAt + 1);
    this.#inFlightSince = receivedAt;
    const stamp = toClickHouseTime(new Date(receivedAt));
    for (const row of rows) row.received_at = stamp;
    try {
      await this.client.insert({ table: 'cost_events', values: rows, format: 'JSONEachRow' });
    } finally {
      this.#inFlightSince = undefined;
    }
    this.#lastReceivedAt = receivedAt;
    let minTimestamp = Infinity;
    let maxTimestamp = -Infinity;
    const productLines = new Set<string>();
    for (const row of rows) {
      const t = fromClickHouseTime(row.timestamp);
      if (t < minTimestamp) minTimestamp = t;
      if (t > maxTimestamp) maxTimestamp = t;
      productLines.add(row.product_line_id);
    }
    for (const listener of this.#listeners) listener({ minTimestamp, maxTimestamp, productLines, rows });
  }

  private async existingIds(ids: string[]): Promise<Set<string>> {
    const rs = await this.client.query({ query: sql('events/find-existing-ids'), query_params: { ids }, format: 'JSONEachRow' });
    return new Set((await rs.json<{ event_id: string }>()).map((r) => r.event_id));
  }
}
