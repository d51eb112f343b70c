// Unit prices behind a price_version string: the list and contracted price of every token bucket
// (per million tokens) and of the non-token unit (per unit), read from the price book, so the FOCUS
// export can write one row per SKU price whose unit price × quantity is exactly its cost.
import type { PriceBook, PriceVersion, TokenPrices, Contract } from '../pricing/book.js';
import { contractedPerUnit, tokenPricesFor } from '../pricing/book.js';

const UNITS = 'characters|seconds|calls|requests|gpu_hours|cpu_core_hours|gb_hours|events';
const AT = '(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{3})?Z)';
const tokenPart = new RegExp(`^([^/ ]+)/(.+)@${AT}$`);
const unitPart = new RegExp(`^([^/ ]+)/(.+)/(${UNITS})@${AT}$`);
const contractPart = new RegExp(`^contract ([^/]+)/(.+)@${AT}$`);
const unitContractPart = new RegExp(`^unit-contract ([^/]+)/(.+)/(${UNITS})@${AT}$`);

type Bucket = 'input' | 'cached' | 'write' | 'output' | 'reasoning';
const BUCKETS: Bucket[] = ['input', 'cached', 'write', 'output', 'reasoning'];
type Point = { ok: boolean; tokSku: string; tierLabel: string; list: Record<Bucket, string>; contracted: Record<Bucket, string>; unit: string; unitSku: string; unitList: string; unitContracted: string };

/** A BigInt count of 10^-scale units as a plain decimal string; '' when it needs more than 20 decimals. */
function decimal(units: bigint, scale: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const one = 10n ** BigInt(scale);
  const frac = (abs % one).toString().padStart(scale, '0').replace(/0+$/, '');
  if (frac.length > 20) return '';
  return `${negative ? '-' : ''}${abs / one}${frac ? `.${frac}` : ''}`;
}

const bucketPrice = (p: TokenPrices, b: Bucket): bigint => ({
  input: p.input, cached: p.cacheRead ?? p.input, write: p.cacheWrite ?? p.input, output: p.output, reasoning: p.reasoning ?? p.output,
})[b];

/** The contracted bucket prices, as priceEvent computes them (override merge, or discount off list). */
function contractedPrices(list: TokenPrices, c: Contract | undefined): Record<Bucket, string> {
  const out = {} as Record<Bucket, string>;
  if (!c) {
    for (const b of BUCKETS) out[b] = decimal(bucketPrice(list, b), 12);
    return out;
  }
  if (c.kind === 'discount') {
    // list × (100 − pct) / 100 at 10^-26: pct has 12 decimals here, so the product is exact.
    for (const b of BUCKETS) out[b] = decimal(bucketPrice(list, b) * (100n * 10n ** 12n - c.discountPct), 26);
    return out;
  }
  const pick = (o: bigint | null | undefined, l: bigint | null) => (o !== undefined && o !== null ? o : l);
  const merged: TokenPrices = {
    input: c.tokens.input ?? list.input, output: c.tokens.output ?? list.output,
    cacheRead: pick(c.tokens.cacheRead, list.cacheRead), cacheWrite: pick(c.tokens.cacheWrite, list.cacheWrite), reasoning: pick(c.tokens.reasoning, list.reasoning),
  };
  for (const b of BUCKETS) out[b] = decimal(bucketPrice(merged, b), 12);
  return out;
}

const emptyBuckets = (): Record<Bucket, string> => ({ input: '', cached: '', write: '', output: '', reasoning: '' });

function resolve(book: PriceBook, pv: string): { base: Point; tier: Point; above: number } {
  const none: Point = { ok: false, tokSku: '', tierLabel: '', list: emptyBuckets(), contracted: emptyBuckets(), unit: '', unitSku: '', unitList: '', unitContracted: '' };
  let version: PriceVersion | undefined;
  let contract: Contract | undefined;
  let ok = true;
  const unit = { unit: '', unitSku: '', unitList: '', unitContracted: '' };
  let unitList = 0n;
  let unitContract: ReturnType<PriceBook['unitContractAt']>;
  for (const seg of pv.split('; ')) {
    let m: RegExpExecArray | null;
    if ((m = unitContractPart.exec(seg))) {
      unitContract = book.unitContractAt(m[1]!, m[2] === '*' ? '' : m[2]!, m[3]!, Date.parse(m[4]!));
      ok &&= unitContract !== undefined;
    } else if ((m = contractPart.exec(seg))) {
      contract = book.contractAt(m[1]!, m[2] === '*' ? '' : m[2]!, Date.parse(m[3]!));
      ok &&= contract !== undefined;
    } else if ((m = unitPart.exec(seg))) {
      const provider = m[1] === '*' ? '' : m[1]!;
      const v = book.version(provider, m[2]!, m[3]!, Date.parse(m[4]!));
      ok &&= v !== undefined;
      unitList = v?.perUnit ?? 0n;
      Object.assign(unit, { unit: m[3]!, unitSku: `${provider || 'any'}/${m[2]!}/${m[3]!}`, unitList: decimal(unitList, 12) });
    } else if ((m = tokenPart.exec(seg))) {
      version = book.version(m[1]!, m[2]!, 'tokens', Date.parse(m[3]!));
      ok &&= version !== undefined;
    } else ok = false;
  }
  if (unit.unit) unit.unitContracted = unitContract ? decimal(contractedPerUnit(unitList, unitContract), 24) : unit.unitList;
  if (!ok) return { base: none, tier: none, above: 0 };
  const point = (prices: TokenPrices | undefined, tierLabel: string): Point => ({
    ok: true, tokSku: version ? `${version.provider}/${version.item}` : '', tierLabel,
    list: prices ? Object.fromEntries(BUCKETS.map((b) => [b, decimal(bucketPrice(prices, b), 12)])) as Record<Bucket, string> : emptyBuckets(),
    contracted: prices ? contractedPrices(prices, contract) : emptyBuckets(),
    ...unit,
  });
  const above = version?.tier?.above ?? 0;
  return {
    base: point(version?.tokens, ''),
    tier: above > 0 ? point(tokenPricesFor(version!, above + 1), `above ${above} input tokens`) : point(version?.tokens, ''),
    above,
  };
}

/** Query parameters for sql/chargeback/focus-usage.sql: point i is price version i, point n + i its long-context tier. */
export function pricePointParams(book: PriceBook, versions: string[]) {
  const resolved = versions.map((pv) => resolve(book, pv));
  const points = [...resolved.map((r) => r.base), ...resolved.map((r) => r.tier)];
  const col = (f: (p: Point) => string) => points.map(f);
  return {
    pv_keys: versions,
    pv_tier_above: resolved.map((r) => r.above),
    p_ok: points.map((p) => (p.ok ? 1 : 0)),
    p_tok_sku: col((p) => p.tokSku),
    p_tier_label: col((p) => p.tierLabel),
    p_in_l: col((p) => p.list.input), p_in_c: col((p) => p.contracted.input),
    p_cr_l: col((p) => p.list.cached), p_cr_c: col((p) => p.contracted.cached),
    p_cw_l: col((p) => p.list.write), p_cw_c: col((p) => p.contracted.write),
    p_out_l: col((p) => p.list.output), p_out_c: col((p) => p.contracted.output),
    p_rs_l: col((p) => p.list.reasoning), p_rs_c: col((p) => p.contracted.reasoning),
    p_unit: col((p) => p.unit), p_unit_l: col((p) => p.unitList), p_unit_c: col((p) => p.unitContracted),
  };
}
