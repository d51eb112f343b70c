// Keeps the in-memory price book in step with ClickHouse: loaded at start, reloaded after every
// change made through this process, when another process's change is seen (src/cluster/
// shared-state.ts, server mode) and on the PRICE_BOOK_REFRESH_MS interval.
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '../sql.js';
import { PriceBook, optionalUnits, type Contract, type PriceVersion, type UnitContract } from './book.js';
import { toUnits } from './decimal.js';

type PriceRow = {
  provider: string; item: string; unit: string; effective_from: number; input_per_mtok: string; output_per_mtok: string;
  cache_read_per_mtok: string | null; cache_write_per_mtok: string | null; reasoning_per_mtok: string | null; per_unit: string; source: string;
  tier_above_tokens: number; tier_input_per_mtok: string | null; tier_output_per_mtok: string | null; tier_cache_read_per_mtok: string | null; tier_cache_write_per_mtok: string | null;
};
type ContractRow = {
  provider: string; model: string; effective_from: number; effective_to: number | null; kind: 'discount' | 'override'; discount_pct: string;
  input_per_mtok: string | null; output_per_mtok: string | null; cache_read_per_mtok: string | null; cache_write_per_mtok: string | null; reasoning_per_mtok: string | null;
};

type UnitContractRow = { provider: string; item: string; unit: string; effective_from: number; effective_to: number | null; kind: 'discount' | 'override'; discount_pct: string; per_unit: string | null };

export async function loadPriceBook(client: ClickHouseClient): Promise<PriceBook> {
  const [prices, contracts, unitContracts] = await Promise.all([
    client.query({ query: sql('pricing/all-prices'), format: 'JSONEachRow' }).then((r) => r.json<PriceRow>()),
    client.query({ query: sql('pricing/all-contracts'), format: 'JSONEachRow' }).then((r) => r.json<ContractRow>()),
    client.query({ query: sql('pricing/all-unit-contracts'), format: 'JSONEachRow' }).then((r) => r.json<UnitContractRow>()),
  ]);
  const versions: PriceVersion[] = prices.map((p) => ({
    provider: p.provider, item: p.item, unit: p.unit, effectiveFrom: Number(p.effective_from), source: p.source, perUnit: toUnits(p.per_unit),
    tokens: { input: toUnits(p.input_per_mtok), output: toUnits(p.output_per_mtok), cacheRead: optionalUnits(p.cache_read_per_mtok), cacheWrite: optionalUnits(p.cache_write_per_mtok), reasoning: optionalUnits(p.reasoning_per_mtok) },
    tier: Number(p.tier_above_tokens) > 0
      ? { above: Number(p.tier_above_tokens), input: optionalUnits(p.tier_input_per_mtok), output: optionalUnits(p.tier_output_per_mtok), cacheRead: optionalUnits(p.tier_cache_read_per_mtok), cacheWrite: optionalUnits(p.tier_cache_write_per_mtok) }
      : undefined,
  }));
  const rates: Contract[] = contracts.map((c) => ({
    provider: c.provider, model: c.model, effectiveFrom: Number(c.effective_from), effectiveTo: c.effective_to === null ? null : Number(c.effective_to),
    kind: c.kind, discountPct: toUnits(c.discount_pct),
    tokens: { input: optionalUnits(c.input_per_mtok), output: optionalUnits(c.output_per_mtok), cacheRead: optionalUnits(c.cache_read_per_mtok), cacheWrite: optionalUnits(c.cache_write_per_mtok), reasoning: optionalUnits(c.reasoning_per_mtok) },
  }));
  const unitRates: UnitContract[] = unitContracts.map((c) => ({
    provider: c.provider, item: c.item, unit: c.unit, effectiveFrom: Number(c.effective_from), effectiveTo: c.effective_to === null ? null : Number(c.effective_to),
    kind: c.kind, discountPct: toUnits(c.discount_pct), perUnit: optionalUnits(c.per_unit),
  }));
  return new PriceBook(versions, rates, unitRates);
}

export class Pricing {
  #book = new PriceBook();
  #started = 0;
  #shown = 0;
  constructor(private readonly client: ClickHouseClient) {}

  get book(): PriceBook {
    return this.#book;
  }

  /** Reloads may overlap (a change through this process, another's change seen by the poll): the one started last wins. */
  async reload(): Promise<void> {
    const generation = ++this.#started;
    const book = await loadPriceBook(this.client);
    if (generation < this.#shown) return;
    this.#shown = generation;
    this.#book = book;
  }
}
