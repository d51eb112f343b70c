// The in-memory price book and the pricing rule. Prices are looked up by the event's timestamp
// (latest effective_from ≤ timestamp); each token bucket is priced exactly once (docs/pricing.md).
import { divRound, fromUnits, toUnits } from './decimal.js';
import { fromClickHouseTime } from '../clickhouse-time.js';

export type TokenPrices = { input: bigint; output: bigint; cacheRead: bigint | null; cacheWrite: bigint | null; reasoning: bigint | null };
export type Tier = { above: number; input: bigint | null; output: bigint | null; cacheRead: bigint | null; cacheWrite: bigint | null };
export type PriceVersion = { provider: string; item: string; unit: string; effectiveFrom: number; tokens: TokenPrices; perUnit: bigint; source: string; tier?: Tier };

/** The bucket prices that apply to this request: the long-context tier when its input exceeds it. */
export function tokenPricesFor(v: PriceVersion, inputTokens: number): TokenPrices {
  const t = v.tier;
  if (!t || inputTokens <= t.above) return v.tokens;
  return {
    input: t.input ?? v.tokens.input,
    output: t.output ?? v.tokens.output,
    cacheRead: t.cacheRead ?? v.tokens.cacheRead,
    cacheWrite: t.cacheWrite ?? v.tokens.cacheWrite,
    reasoning: v.tokens.reasoning,
  };
}
export type Contract = {
  provider: string; model: string; effectiveFrom: number; effectiveTo: number | null;
  kind: 'discount' | 'override'; discountPct: bigint; tokens: Partial<Record<keyof TokenPrices, bigint | null>>;
};
/** A contracted rate for a non-token unit: a discount off the list per-unit price, or an override. */
export type UnitContract = {
  provider: string; item: string; unit: string; effectiveFrom: number; effectiveTo: number | null;
  kind: 'discount' | 'override'; discountPct: bigint; perUnit: bigint | null;
};

/** What pricing needs from an event (a cost_events row). */
export type Priceable = {
  type: string; provider: string; model: string; tool: string; timestamp: string;
  input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number; reasoning_tokens: number;
  quantity: string; unit: string;
};
export type Priced = { cost_usd: string; list_cost_usd: string; cost_source: 'priced' | 'unpriced'; price_version: string };

const ONE = 10n ** 12n;
const MILLION = 1_000_000n;
const key = (provider: string, item: string, unit: string) => `${provider}\u0000${item}\u0000${unit}`;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const datedSuffix = /-(\d{8}|\d{4}-\d{2}-\d{2})$/;

/** Latest version with effectiveFrom ≤ at, from a list sorted by effectiveFrom. */
function inForce<T extends { effectiveFrom: number }>(versions: T[] | undefined, at: number): T | undefined {
  if (!versions) return undefined;
  let lo = 0;
  let hi = versions.length - 1;
  let found: T | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (versions[mid]!.effectiveFrom <= at) {
      found = versions[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class PriceBook {
  readonly #versions = new Map<string, PriceVersion[]>();
  readonly #modelProviders = new Map<string, Set<string>>();
  readonly #contracts = new Map<string, Contract[]>();
  readonly #unitContracts = new Map<string, UnitContract[]>();

  constructor(prices: PriceVersion[] = [], contracts: Contract[] = [], unitContracts: UnitContract[] = []) {
    for (const p of prices) {
      const k = key(p.provider, p.item, p.unit);
      const list = this.#versions.get(k) ?? [];
      list.push(p);
      this.#versions.set(k, list);
      if (p.unit === 'tokens') {
        const providers = this.#modelProviders.get(p.item) ?? new Set();
        providers.add(p.provider);
        this.#modelProviders.set(p.item, providers);
      }
    }
    for (const list of this.#versions.values()) list.sort((a, b) => a.effectiveFrom - b.effectiveFrom);
    for (const c of contracts) {
      const k = `${c.provider}\u0000${c.model}`;
      const list = this.#contracts.get(k) ?? [];
      list.push(c);
      this.#contracts.set(k, list);
    }
    for (const list of this.#contracts.values()) list.sort((a, b) => a.effectiveFrom - b.effectiveFrom);
    for (const c of unitContracts) {
      const k = key(c.provider, c.item, c.unit);
      const list = this.#unitContracts.get(k) ?? [];
      list.push(c);
      this.#unitContracts.set(k, list);
    }
  }

  /** The exact version a price_version string names (provider, item, unit, effective_from). */
  version(provider: string, item: string, unit: string, effectiveFrom: number): PriceVersion | undefined {
    return this.#versions.get(key(provider, item, unit))?.find((v) => v.effectiveFrom === effectiveFrom);
  }

  /** The exact contract a price_version string names. */
  contractAt(provider: string, model: string, effectiveFrom: number): Contract | undefined {
    return this.#contracts.get(`${provider}\u0000${model}`)?.find((c) => c.effectiveFrom === effectiveFrom);
  }

  unitContractAt(provider: string, item: string, unit: string, effectiveFrom: number): UnitContract | undefined {
    return this.#unitContracts.get(key(provider, item, unit))?.find((c) => c.effectiveFrom === effectiveFrom);
  }

  /** Unit contract in force: the provider's contract for this item, then for all its items. */
  unitContractFor(provider: string, item: string, unit: string, at: number): UnitContract | undefined {
    for (const i of [item.toLowerCase(), '']) {
      const list = this.#unitContracts.get(key(provider.toLowerCase(), i, unit));
      const c = list && [...list].reverse().find((x) => x.effectiveFrom <= at && (x.effectiveTo === null || at < x.effectiveTo));
      if (c) return c;
    }
    return undefined;
  }


  /**
   * The model rule: exact provider + model; then a "provider/" prefix moved out of the model id;
   * then a dated suffix (-20250514, -2024-07-18) removed; then, without a provider, a model id
   * that exactly one provider prices. Ids are compared lower-case.
   */
  resolveModel(provider: string, model: string, at: number): PriceVersion | undefined {
    let p = provider.toLowerCase();
    let m = model.toLowerCase();
    const tryExact = () => (p ? inForce(this.#versions.get(key(p, m, 'tokens')), at) : this.#unique(m, at));
    let found = tryExact();
    const slash = m.indexOf('/');
    if (!found && slash > 0) {
      const prefix = m.slice(0, slash);
      if (!p || p === prefix) p = prefix;
      m = m.slice(slash + 1);
      found = tryExact();
    }
    if (!found && datedSuffix.test(m)) {
      m = m.replace(datedSuffix, '');
      found = tryExact();
    }
    return found;
  }

  #unique(model: string, at: number): PriceVersion | undefined {
    const providers = this.#modelProviders.get(model);
    if (!providers || providers.size !== 1) return undefined;
    return inForce(this.#versions.get(key([...providers][0]!, model, 'tokens')), at);
  }

  /** Unit prices: provider + item (tool or model), then any item of the provider, then any provider. */
  resolveUnit(provider: string, item: string, unit: string, at: number): PriceVersion | undefined {
    const p = provider.toLowerCase();
    const i = item.toLowerCase();
    for (const [pp, ii] of [[p, i], ['', i], [p, '*'], ['', '*']] as const) {
      const found = inForce(this.#versions.get(key(pp, ii, unit)), at);
      if (found) return found;
    }
    return undefined;
  }

  contractFor(provider: string, model: string, at: number): Contract | undefined {
    for (const m of [model.toLowerCase(), '']) {
      const list = this.#contracts.get(`${provider.toLowerCase()}\u0000${m}`);
      const c = list && [...list].reverse().find((x) => x.effectiveFrom <= at && (x.effectiveTo === null || at < x.effectiveTo));
      if (c) return c;
    }
    return undefined;
  }

  /** Price one event: list cost from the book, effective cost after any contract. */
  price(e: Priceable): Priced {
    const at = fromClickHouseTime(e.timestamp);
    const unpriced: Priced = { cost_usd: '0', list_cost_usd: '0', cost_source: 'unpriced', price_version: '' };
    const hasTokens = e.input_tokens + e.output_tokens > 0;
    const quantity = toUnits(e.quantity || '0');
    // A tool call or a human escalation without a quantity is one call / one event.
    const implied = !e.unit && !hasTokens ? ({ tool: 'calls', human_escalation: 'events' } as Record<string, string>)[e.type] : undefined;
    const unit = e.unit || implied || '';
    const units = implied ? ONE : quantity;
    const versions: string[] = [];
    let list24 = 0n;
    let effective24 = 0n;
    if (hasTokens) {
      const model = this.resolveModel(e.provider, e.model, at);
      if (!model) return unpriced;
      const contract = this.contractFor(model.provider, model.item, at);
      const prices = tokenPricesFor(model, e.input_tokens);
      list24 += tokenCost(e, prices);
      effective24 += contract ? contracted(e, prices, contract) : tokenCost(e, prices);
      versions.push(`${model.provider}/${model.item}@${iso(model.effectiveFrom)}`);
      if (contract) versions.push(`contract ${contract.provider}/${contract.model || '*'}@${iso(contract.effectiveFrom)}`);
    }
    if (units > 0n) {
      const price = this.resolveUnit(e.provider, e.tool || e.model, unit, at);
      if (!price) return unpriced;
      const contract = e.provider ? this.unitContractFor(e.provider, e.tool || e.model, unit, at) : undefined;
      list24 += units * price.perUnit;
      effective24 += contract ? divRound(units * contractedPerUnit(price.perUnit, contract), ONE) : units * price.perUnit;
      versions.push(`${price.provider || '*'}/${price.item}/${unit}@${iso(price.effectiveFrom)}`);
      if (contract) versions.push(`unit-contract ${contract.provider}/${contract.item || '*'}/${unit}@${iso(contract.effectiveFrom)}`);
    }
    if (versions.length === 0) return unpriced;
    return { cost_usd: fromUnits(divRound(effective24, ONE)), list_cost_usd: fromUnits(divRound(list24, ONE)), cost_source: 'priced', price_version: versions.join('; ') };
  }
}

/** Token cost at 10^-24 USD: each bucket once, cache and reasoning inside input and output. */
function tokenCost(e: Priceable, p: TokenPrices): bigint {
  const uncachedInput = BigInt(e.input_tokens - e.cache_read_tokens - e.cache_write_tokens);
  const plainOutput = BigInt(e.output_tokens - e.reasoning_tokens);
  const per24 = uncachedInput * p.input
    + BigInt(e.cache_read_tokens) * (p.cacheRead ?? p.input)
    + BigInt(e.cache_write_tokens) * (p.cacheWrite ?? p.input)
    + plainOutput * p.output
    + BigInt(e.reasoning_tokens) * (p.reasoning ?? p.output);
  // Prices are per million tokens at 10^-12: × 10^6 brings the sum to 10^-24 per token.
  return per24 * (ONE / MILLION);
}

/**
 * A unit contract's per-unit price at 10^-24 USD: exact for an override and for a discount of up to
 * 6 decimal places (list × (100 − pct) / 100 has at most 20 decimals).
 */
export function contractedPerUnit(listPerUnit: bigint, c: UnitContract): bigint {
  if (c.kind === 'override') return (c.perUnit ?? listPerUnit) * ONE;
  return (listPerUnit * (100n * ONE - c.discountPct) * ONE) / (100n * ONE);
}

function contracted(e: Priceable, list: TokenPrices, c: Contract): bigint {
  if (c.kind === 'discount') return divRound(tokenCost(e, list) * (100n * ONE - c.discountPct), 100n * ONE);
  const merged: TokenPrices = {
    input: c.tokens.input ?? list.input,
    output: c.tokens.output ?? list.output,
    cacheRead: c.tokens.cacheRead !== undefined && c.tokens.cacheRead !== null ? c.tokens.cacheRead : list.cacheRead,
    cacheWrite: c.tokens.cacheWrite !== undefined && c.tokens.cacheWrite !== null ? c.tokens.cacheWrite : list.cacheWrite,
    reasoning: c.tokens.reasoning !== undefined && c.tokens.reasoning !== null ? c.tokens.reasoning : list.reasoning,
  };
  return tokenCost(e, merged);
}

export const optionalUnits = (v: string | null | undefined) => (v === null || v === undefined || v === '' || v === '\\N' ? null : toUnits(v));
