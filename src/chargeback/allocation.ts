// Largest-remainder allocation: split an amount in cents by weights so the parts add up exactly;
// leftover cents go to the largest remainders, ties to the product line that sorts first.
export type Weighted = { key: string; weight: bigint };

/**
 * Product lines by plain string comparison, not localeCompare: a tie goes to the same line
 * whatever the server's locale, and the order is ClickHouse's ORDER BY (byte order) for any id
 * in the Basic Multilingual Plane, so a recorded allocation reads back in the order it was answered.
 */
export const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function allocateLargestRemainder(totalCents: bigint, weights: Weighted[]): Map<string, bigint> {
  const positive = weights.filter((w) => w.weight > 0n);
  const sum = positive.reduce((acc, w) => acc + w.weight, 0n);
  if (sum === 0n) throw new Error('no positive weight');
  const parts = positive.map((w) => ({ key: w.key, floor: (totalCents * w.weight) / sum, remainder: (totalCents * w.weight) % sum }));
  let left = totalCents - parts.reduce((acc, p) => acc + p.floor, 0n);
  const byRemainder = [...parts].sort((a, b) => (b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : byKey(a, b)));
  for (const p of byRemainder) {
    if (left === 0n) break;
    p.floor += 1n;
    left -= 1n;
  }
  return new Map(parts.map((p) => [p.key, p.floor]));
}
