// Batch ingestion: classify every item, drop duplicates before they can reach cost_events (and
// so any materialized view on it), write accepted rows and quarantine records, then acknowledge.
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '../sql.js';
import { classify, type Admission, type QuarantineRecord, type RawItem } from './classify.js';
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

export class EventIngestor {
  readonly #lock = new Mutex();
  readonly #listeners: ((c: Committed) => void)[] = [];
  #lastReceivedAt = 0;
  #inFlightSince: number | undefined;
  constructor(
    private readonly client: ClickHouseClient,
    private readonly hooks: { admit?: Admission; price?: (row: CostEventRow) => void } = {},
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
    const candidates: { index: number; row: CostEventRow }[] = [];
    const seenInBatch = new Set<string>();

    items.forEach((raw, index) => {
      const c = classify(raw, index, receivedAt, this.hooks.admit);
      if (c.kind === 'quarantine') {
        records.push(c.record);
        results.push({ index, event_id: c.record.event_id || null, status: c.record.disposition, reason: c.record.reason, errors: c.record.errors });
      } else if (seenInBatch.has(c.row.event_id)) {
        results.push({ index, event_id: c.row.event_id, status: 'duplicate', reason: 'repeated_in_batch' });
      } else {
        seenInBatch.add(c.row.event_id);
        // Reported costs are kept as sent; everything else is priced from the book now.
        if (c.row.cost_source !== 'reported') this.hooks.price?.(c.row);
        candidates.push(c);
      }
    });

    // Quarantine first: if the process dies between the two writes, the retry redoes both without
    // double counting (quarantine rows collapse by id, events are deduplicated).
    if (records.length > 0) await this.client.insert({ table: 'quarantine', values: records, format: 'JSONEachRow' });

    let accepted = 0;
    if (candidates.length > 0) {
      accepted = await this.#lock.run(async () => {
        const existing = await this.existingIds(candidates.map((c) => c.row.event_id));
        const fresh = candidates.filter((c) => !existing.has(c.row.event_id));
        for (const c of candidates) {
          if (existing.has(c.row.event_id)) results.push({ index: c.index, event_id: c.row.event_id, status: 'duplicate', reason: 'already_ingested' });
        }
        if (fresh.length > 0) await this.insertRows(fresh.map((c) => c.row));
        return fresh.length;
      });
    }

    results.sort((a, b) => a.index - b.index);
    const count = (s: ItemStatus) => results.filter((r) => r.status === s).length;
    return { accepted, duplicates: count('duplicate'), quarantined: count('quarantined'), rejected: count('rejected'), results };
  }

  /** Append rows that are not client events (corrections) through the same lock and stamping. */
  append(rows: CostEventRow[]): Promise<void> {
    return this.#lock.run(() => this.insertRows(rows));
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
