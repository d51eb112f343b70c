// Largest-remainder allocation: split an amount in cents by weights so the parts add up exactly;
// leftover cents go to the largest remainders, ties to the product line that sorts first.
export type Weighted = { key: string; weight: bigint };

export function allocateLargestRemainder(totalCents: bigint, weights: Weighted[]): Map<string, bigint> {
  const positive = weights.filter((w) => w.weight > 0n);
  const sum = positive.reduce((acc, w) => acc + w.weight, 0n);
  if (sum === 0n) throw new Error('no positive weight');
  const parts = positive.map((w) => ({ key: w.key, floor: (totalCents * w.weight) / sum, remainder: (totalCents * w.weight) % sum }));
  let left = totalCents - parts.reduce((acc, p) => acc + p.floor, 0n);
  const byRemainder = [...parts].sort((a, b) => (b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : a.key.localeCompare(b.key)));
  for (const p of byRemainder) {
    if (left === 0n) break;
    p.floor += 1n;
    left -= 1n;
  }
  return new Map(parts.map((p) => [p.key, p.floor]));
}
