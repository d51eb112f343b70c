// Shared costs (a vector-DB cluster, an embedding endpoint, platform overhead) allocated to
// product lines for a month: proportional to a usage basis, evenly, or by fixed weights. Weights
// are computed over the whole month when the cost is recorded, stored for audit, and the parts
// are rounded to cents by largest remainder so they add up exactly.
// A shared cost is identified by its month and name (the id is derived from them), so a request
// sent twice — retried, double-clicked, or racing itself — records it once: entries run one at a
// time across every process (the periods lock, shared with month close), and the rows of one id
// collapse anyway (ReplacingMergeTree, FINAL reads).
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { withClusterLock, type LockHandle } from '../cluster/lock.js';
import { ApiError } from '../errors.js';
import { fromUnits, toUnits } from '../pricing/decimal.js';
import { sql } from '../sql.js';
import { allocateLargestRemainder, byKey } from './allocation.js';
import { loadPeriods, parseMonth } from './periods.js';
import { toClickHouseTime } from '../clickhouse-time.js';
import { PERIODS_LOCK } from './statements.js';

export type SharedCostRequest = {
  month: string; name: string; amount_usd: string; method: 'proportional' | 'even' | 'fixed';
  basis?: 'cost' | 'events' | 'tokens' | 'requests'; basis_value?: string; weights?: Record<string, string>; product_lines?: string[];
};
export type Allocation = { product_line_id: string; weight: string; share: string; amount_usd: string };

type BasisRow = { product_line_id: string; cost: string; events: number; tokens: number; requests: number };

export const sharedCostId = (month: string, name: string) => `sc-${createHash('sha256').update(`${month}\n${name}`).digest('hex').slice(0, 24)}`;

export function recordSharedCost(app: FastifyInstance, req: SharedCostRequest) {
  const m = parseMonth(req.month);
  // Money ceiling (docs/hardening.md): bounded amounts keep every allocation and export sum in range.
  if (toUnits(req.amount_usd) > toUnits(app.config.MAX_SHARED_COST_USD)) {
    throw new ApiError(400, 'cost_out_of_range', `amount_usd: ${req.amount_usd} is over the ceiling of ${app.config.MAX_SHARED_COST_USD} USD for one shared cost (MAX_SHARED_COST_USD)`);
  }
  return withClusterLock(app, PERIODS_LOCK, (lock) => recordOnce(app, req, m, lock));
}

async function recordOnce(app: FastifyInstance, req: SharedCostRequest, m: ReturnType<typeof parseMonth>, lock: LockHandle) {
  const { client } = app.engine;
  if ((await loadPeriods(client)).has(m.label)) throw new ApiError(409, 'period_closed', `${m.label} is closed; record the shared cost in an open month`);
  const id = sharedCostId(m.label, req.name);
  const existing = await getAllocation(app, id).catch((err: unknown) => {
    if (err instanceof ApiError && err.reason === 'unknown_shared_cost') return undefined;
    throw err;
  });
  if (existing) {
    // The same request again answers what was recorded; a different one under the same name is a conflict.
    const same = toUnits(existing.amount_usd) === toUnits(req.amount_usd) && existing.method === req.method
      && (existing.basis ?? '') === (req.method === 'proportional' ? req.basis ?? 'cost' : '') && existing.basis_value === (req.basis_value ?? '');
    if (!same) throw new ApiError(409, 'shared_cost_exists', `${m.label} already has a shared cost named "${req.name}" with other terms; choose another name`);
    return { id, month: m.label, name: existing.name, amount_usd: fromUnits(toUnits(existing.amount_usd)), method: req.method, basis: existing.basis, allocations: existing.allocations };
  }
  let weights: { key: string; weight: string }[];
  if (req.method === 'fixed') {
    weights = Object.entries(req.weights ?? {}).map(([key, weight]) => ({ key, weight }));
  } else {
    const basis = await (await client.query({
      query: sql('chargeback/allocation-basis'),
      query_params: { month_start: toClickHouseTime(m.start), month_end: toClickHouseTime(m.end), basis_value: req.basis_value ?? '' },
      format: 'JSONEachRow',
    })).json<BasisRow>();
    const allowed = req.product_lines ? new Set(req.product_lines) : undefined;
    weights = basis
      .filter((b) => !allowed || allowed.has(b.product_line_id))
      .map((b) => ({ key: b.product_line_id, weight: req.method === 'even' ? '1' : String(req.basis === 'cost' ? b.cost : b[req.basis ?? 'cost']) }));
  }
  const scaled = weights.map((w) => ({ key: w.key, weight: toUnits(w.weight) })).filter((w) => w.weight > 0n);
  if (scaled.length === 0) throw new ApiError(422, 'no_allocation_basis', `nothing to allocate ${m.label}'s shared cost by: no product line has a positive weight`);
  const cents = toUnits(req.amount_usd) / 10n ** 10n;
  const parts = allocateLargestRemainder(cents, scaled);
  const total = scaled.reduce((acc, w) => acc + w.weight, 0n);
  const allocations: Allocation[] = scaled
    .sort(byKey)
    .map((w) => ({
      product_line_id: w.key,
      weight: fromUnits(w.weight),
      share: fromUnits((w.weight * 10n ** 12n) / total),
      amount_usd: fromUnits(parts.get(w.key)! * 10n ** 10n),
    }));
  lock.assertHeld();
  await client.insert({ table: 'shared_costs', values: [{ id, month: m.date, name: req.name, amount_usd: req.amount_usd, method: req.method, basis: req.method === 'proportional' ? req.basis ?? 'cost' : '', basis_value: req.basis_value ?? '' }], format: 'JSONEachRow' });
  await client.insert({ table: 'shared_cost_allocations', values: allocations.map((a) => ({ ...a, shared_cost_id: id, month: m.date })), format: 'JSONEachRow' });
  return { id, month: m.label, name: req.name, amount_usd: fromUnits(toUnits(req.amount_usd)), method: req.method, basis: req.method === 'proportional' ? req.basis ?? 'cost' : null, allocations };
}

export async function getAllocation(app: FastifyInstance, id: string) {
  const { client } = app.engine;
  const [cost] = await (await client.query({
    query: 'SELECT id, toString(month) AS month, name, toString(amount_usd) AS amount_usd, method, basis, basis_value FROM shared_costs FINAL WHERE id = {id:String}',
    query_params: { id },
    format: 'JSONEachRow',
  })).json<{ id: string; month: string; name: string; amount_usd: string; method: string; basis: string; basis_value: string }>();
  if (!cost) throw new ApiError(404, 'unknown_shared_cost', `no shared cost ${id}`);
  const allocations = await (await client.query({
    query: 'SELECT product_line_id, weight, toString(share) AS share, toString(amount_usd) AS amount_usd FROM shared_cost_allocations FINAL WHERE shared_cost_id = {id:String} ORDER BY product_line_id',
    query_params: { id },
    format: 'JSONEachRow',
  })).json<Allocation>();
  const total = fromUnits(allocations.reduce((acc, a) => acc + toUnits(a.amount_usd), 0n));
  return { ...cost, month: cost.month.slice(0, 7), basis: cost.basis || null, allocations, allocated_usd: total };
}
