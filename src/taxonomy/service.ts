// The product-line registry, kept in memory for the ingest path (governed mode) and reloaded
// after every change through this process, when another process's change is seen (server mode)
// and on the price-book interval.
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '../sql.js';
import { isoFromClickHouseTime, toClickHouseTime } from '../clickhouse-time.js';

export type ProductLine = { id: string; name: string; cost_center: string; owner: string; budget_owner: string; billing_mode: 'chargeback' | 'showback'; updated_at: string };

export class Taxonomy {
  #lines = new Map<string, ProductLine>();
  #started = 0;
  #shown = 0;
  constructor(private readonly client: ClickHouseClient, readonly mode: 'open' | 'governed') {}

  /** Reloads may overlap (a change through this process, another's change seen by the poll): the one started last wins. */
  async reload(): Promise<void> {
    const generation = ++this.#started;
    // updated_at as ISO-8601 UTC, like every time the API gives.
    const rows = (await (await this.client.query({ query: sql('taxonomy/list'), format: 'JSONEachRow' })).json<ProductLine>())
      .map((r) => ({ ...r, updated_at: isoFromClickHouseTime(r.updated_at) }));
    if (generation < this.#shown) return;
    this.#shown = generation;
    this.#lines = new Map(rows.map((r) => [r.id, r]));
  }

  list(): ProductLine[] {
    return [...this.#lines.values()];
  }

  get(id: string): ProductLine | undefined {
    return this.#lines.get(id);
  }

  async upsert(lines: Omit<ProductLine, 'updated_at'>[]): Promise<void> {
    const updatedAt = toClickHouseTime(Date.now());
    await this.client.insert({ table: 'product_lines', values: lines.map((l) => ({ ...l, updated_at: updatedAt })), format: 'JSONEachRow' });
    await this.reload();
  }

  /** In governed mode an unregistered product line is held in quarantine until it is registered. */
  admits(productLineId: string): boolean {
    return this.mode === 'open' || this.#lines.has(productLineId);
  }
}
