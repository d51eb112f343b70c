// The registry of run value bits (migrations/020) as the read path uses it: read once per client
// and kept, then bound into the runs statement as parameters (names by bit, masks) instead of a
// scalar subquery per dimension that every statement would run and analyse again. Keeping it is
// safe because the registry only grows and a value keeps its bit for ever: a copy can only lack
// values registered since, and the statement refuses a bit its copy does not name (see
// sql/costs/runs-starts.sql), after which the caller reads the registry again and retries once.
import type { ClickHouseClient } from '@clickhouse/client';

/** A dimension has at most this many bits (0-61); past them a value gets none (migrations/020). */
export const BIT_LIMIT = 62;

/** Per dimension, value → bit. A dimension whose rows repeat a value or a bit is left out. */
export type RunBits = ReadonlyMap<string, ReadonlyMap<string, number>>;

const kept = new WeakMap<ClickHouseClient, RunBits>();

/** The registry as read now; kept for this client's next reads. */
export async function loadRunBits(client: ClickHouseClient): Promise<RunBits> {
  const rows = await (await client.query({
    query: "SELECT dimension, value, bit FROM run_value_bits SETTINGS log_comment = 'costs.run-value-bits'",
    format: 'JSONEachRow',
  })).json<{ dimension: string; value: string; bit: number }>();
  const byDimension = new Map<string, Map<string, number>>();
  const broken = new Set<string>();
  for (const r of rows) {
    const values = byDimension.get(r.dimension) ?? new Map<string, number>();
    byDimension.set(r.dimension, values);
    const bit = Number(r.bit);
    if (values.has(r.value) || [...values.values()].includes(bit) || bit >= BIT_LIMIT) broken.add(r.dimension);
    values.set(r.value, bit);
  }
  for (const d of broken) byDimension.delete(d);
  kept.set(client, byDimension);
  return byDimension;
}

/** Drop the kept registry (the applier registered values): the next read loads it. */
export function forgetRunBits(client: ClickHouseClient): void {
  kept.delete(client);
}

/** The kept registry, read first when this client has none. */
export async function runBits(client: ClickHouseClient): Promise<RunBits> {
  return kept.get(client) ?? loadRunBits(client);
}

/** The mask of these values' bits (values without a bit add nothing), as a UInt64 parameter. */
export function bitMask(values: ReadonlyMap<string, number>, of?: readonly string[]): string {
  let mask = 0n;
  for (const [value, bit] of values) if (!of || of.includes(value)) mask |= 1n << BigInt(bit);
  return mask.toString();
}

/** The values by bit + 1 (ClickHouse arrays count from 1), '' where no value has the bit. */
export function namesByBit(values: ReadonlyMap<string, number>): string[] {
  const names = new Array<string>(64).fill('');
  for (const [value, bit] of values) names[bit] = value;
  return names;
}

/** Thrown by a bit-set statement that cannot answer exactly (sql/costs/runs-starts.sql). */
export const BITS_FALLBACK = 'run_value_bits';

/**
 * Can a dimension's runs be counted from its bits with this registry? It must hold the dimension
 * without repeats, and a filter value it lacks is only safe while bits are left (a full registry
 * may have turned the value away, so runs may carry it without a bit).
 */
export function bitsUsable(registry: RunBits, dimension: string, filterValues: readonly string[] = []): boolean {
  const values = registry.get(dimension);
  return !!values && filterValues.every((v) => values.has(v) || values.size < BIT_LIMIT);
}

/**
 * Runs `read` with the kept registry, read again first when a filter value of a dimension with bits
 * is not in it (it may have been registered since). A statement that refuses (BITS_FALLBACK: a
 * bit the copy does not name) is retried once with the registry read again, then with `false`
 * (count from the value sets).
 */
export async function withRunBits<T>(client: ClickHouseClient, filters: Readonly<Record<string, readonly string[] | undefined>>, read: (registry: RunBits | false) => Promise<T>): Promise<T> {
  const refused = (err: unknown) => String((err as Error)?.message ?? err).includes(BITS_FALLBACK);
  let registry = await runBits(client);
  const stale = Object.entries(filters).some(([d, values]) => registry.has(d) && (values ?? []).some((v) => !registry.get(d)!.has(v)));
  if (stale) registry = await loadRunBits(client);
  try {
    return await read(registry);
  } catch (err) {
    if (!refused(err)) throw err;
  }
  try {
    return await read(await loadRunBits(client));
  } catch (err) {
    if (!refused(err)) throw err;
  }
  return read(false);
}
