// Exact money arithmetic for insights on BigInt units of 10^-12 USD (src/pricing/decimal.ts):
// quotients rounded half to even at 12 places, shares as plain numbers (they are not money), and
// cent amounts that add up exactly to a cent-rounded total (largest remainder).
import { divRound, fromUnits, toUnits } from '../pricing/decimal.js';

export { fromUnits, toUnits };
const CENT = 10n ** 10n; // one cent in units of 10^-12

/** amount / count as a decimal string (half-even at 12 places); null when count is 0. */
export function per(amount: bigint, count: number | bigint): string | null {
  const n = BigInt(count);
  return n === 0n ? null : fromUnits(divRound(amount, n));
}

/** a / b as a number rounded to 6 places (rates and shares); null when b is 0. */
export function ratio(a: bigint | number, b: bigint | number): number | null {
  const [x, y] = [BigInt(a), BigInt(b)];
  if (y === 0n) return null;
  return Number(divRound(x * 1_000_000n, y)) / 1_000_000;
}

/** Round to whole cents, half away from zero (the usual invoice rounding). */
export function toCents(units: bigint): bigint {
  const sign = units < 0n ? -1n : 1n;
  const abs = units * sign;
  return sign * ((abs + CENT / 2n) / CENT);
}
export const centsToString = (cents: bigint) => fromUnits(cents * CENT);

/**
 * Cent amounts for lines whose exact amounts add up to `total`: each line gets its amount rounded
 * down to the cent, and the cents left to reach the rounded total go to the lines with the largest
 * remainders (ties: the earlier line). Σ lines = toCents(total) exactly.
 */
export function allocateCents(amounts: bigint[]): bigint[] {
  const total = amounts.reduce((a, b) => a + b, 0n);
  const target = toCents(total);
  const floor = (u: bigint) => (u >= 0n ? u / CENT : -((-u + CENT - 1n) / CENT));
  const base = amounts.map(floor);
  let left = target - base.reduce((a, b) => a + b, 0n);
  const order = amounts.map((u, i) => ({ i, rem: u - base[i]! * CENT })).sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  const out = [...base];
  // left is between 0 and the number of lines: each floor loses less than one cent.
  for (let k = 0; left > 0n && k < order.length; k++, left--) out[order[k]!.i]! += 1n;
  return out;
}

export const sumUnits = (values: string[]) => values.reduce((acc, v) => acc + toUnits(v), 0n);
