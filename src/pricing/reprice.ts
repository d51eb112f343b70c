// Re-pricing: every book-priced event in the window is priced again with the current book; where
// the result differs from its net cost so far, a reversal of that net cost and the new cost are
// appended (both carrying the original event_id and dimensions, zero usage), so history is never
// mutated, every view stays consistent, and a second run finds nothing to change.
// Runs at the same moment cannot both correct an event: a correction's id names the ledger state it
// corrects (event, corrections so far, net cost), and rows whose id is already in the ledger are
// dropped under the ledger's write lock, so only the first of two identical corrections lands.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { CostEventRow } from '../events/schema.js';
import { ApiError } from '../errors.js';
import { sql } from '../sql.js';
import { fromUnits, toUnits } from './decimal.js';
import { toClickHouseTime, fromClickHouseTime } from '../clickhouse-time.js';
import { checkWindowSpan, DAY_MS } from '../costs/time.js';

type Candidate = Omit<CostEventRow, 'received_at' | 'cost_usd' | 'list_cost_usd' | 'cost_source' | 'price_version' | 'revenue_usd'> & { net_cost: string; net_list_cost: string; corrections: number };

type CorrectionRow = CostEventRow & { record_type: 'reversal' | 'reprice'; correction_id: string };

type Request = { from: string; to: string; provider?: string; model?: string };

export async function reprice(app: FastifyInstance, req: Request) {
  const from = fromClickHouseTime(req.from);
  const to = fromClickHouseTime(req.to);
  checkWindowSpan(from, to, 'to');
  const days = await daysWithEvents(app, req, from, to);
  await refuseOverCeiling(app, req, days);
  let examined = 0;
  let repriced = 0;
  let oldTotal = 0n;
  let newTotal = 0n;
  // One day at a time keeps memory flat for long windows.
  for (const [start, end] of days) {
    const candidates = await candidatesOf(app, req, start, end);
    const rows: CostEventRow[] = [];
    for (const c of candidates) {
      examined++;
      const { net_cost, net_list_cost, corrections, ...original } = c;
      const priced = app.pricing.book.price(original);
      if (priced.cost_source !== 'priced' || (priced.cost_usd === fromUnits(toUnits(net_cost)) && priced.list_cost_usd === fromUnits(toUnits(net_list_cost)))) continue;
      const correction = correctionId(c.event_id, Number(corrections), net_cost, net_list_cost);
      const base = { ...original, received_at: '', revenue_usd: '0', correction_id: correction, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, quantity: '0' };
      rows.push(
        { ...base, record_type: 'reversal', cost_usd: fromUnits(-toUnits(net_cost)), list_cost_usd: fromUnits(-toUnits(net_list_cost)), cost_source: 'priced', price_version: '' } as CostEventRow,
        { ...base, record_type: 'reprice', ...priced } as CostEventRow,
      );
    }
    if (rows.length === 0) continue;
    // Only what actually landed counts: a concurrent run may have applied the same corrections.
    for (const row of (await app.ingestor.append(rows, (pending) => notYetApplied(app, pending as CorrectionRow[]))) as CorrectionRow[]) {
      if (row.record_type === 'reversal') {
        repriced++;
        oldTotal -= toUnits(row.cost_usd);
      } else newTotal += toUnits(row.cost_usd);
    }
  }
  return { examined, repriced, old_cost_usd: fromUnits(oldTotal), new_cost_usd: fromUnits(newTotal), delta_usd: fromUnits(newTotal - oldTotal) };
}

/** The id of a correction of `eventId` from the ledger state it saw: the same state gives the same id. */
export function correctionId(eventId: string, correctionsSoFar: number, netCost: string, netListCost: string): string {
  return createHash('sha256').update(`${eventId}|${correctionsSoFar}|${fromUnits(toUnits(netCost))}|${fromUnits(toUnits(netListCost))}`).digest('hex').slice(0, 24);
}

/** The rows whose correction is not in the ledger yet (called under the ledger's write lock). */
async function notYetApplied(app: FastifyInstance, rows: CorrectionRow[]): Promise<CostEventRow[]> {
  const times = rows.map((r) => r.timestamp).sort();
  const applied = await (await app.engine.client.query({
    query: sql('pricing/applied-corrections'),
    query_params: { ids: [...new Set(rows.map((r) => r.correction_id))], from: times[0], to: times.at(-1) },
    format: 'JSONEachRow',
  })).json<{ correction_id: string }>();
  const seen = new Set(applied.map((r) => r.correction_id));
  return rows.filter((r) => !seen.has(r.correction_id));
}

/** The parts of [from, to) on UTC days that hold events of the provider / model asked for. */
async function daysWithEvents(app: FastifyInstance, req: Request, from: number, to: number): Promise<[number, number][]> {
  const days = await (await app.engine.client.query({
    query: sql('pricing/reprice-days'),
    query_params: { from: toClickHouseTime(from), to: toClickHouseTime(to), ...filterParams(req) },
    format: 'JSONEachRow',
  })).json<{ day_ms: string | number }>();
  return days.map(({ day_ms }) => [Math.max(from, Number(day_ms)), Math.min(to, Number(day_ms) + DAY_MS)]);
}

const filterParams = (req: Request) => ({ provider: req.provider?.toLowerCase() ?? '', model: req.model ?? '' });

async function candidatesOf(app: FastifyInstance, req: Request, start: number, end: number): Promise<Candidate[]> {
  return (await app.engine.client.query({
    query: sql('pricing/reprice-candidates'),
    query_params: { from: toClickHouseTime(start), to: toClickHouseTime(end), ...filterParams(req) },
    format: 'JSONEachRow',
  })).json<Candidate>();
}

/**
 * Money ceiling (docs/hardening.md): a dry pass over the window that refuses the whole re-price,
 * before anything is appended, when the current book would price any event over MAX_EVENT_COST_USD.
 */
async function refuseOverCeiling(app: FastifyInstance, req: Request, days: [number, number][]): Promise<void> {
  const ceiling = toUnits(app.config.MAX_EVENT_COST_USD);
  for (const [start, end] of days) {
    const candidates = await candidatesOf(app, req, start, end);
    for (const { net_cost: _n, net_list_cost: _l, corrections: _c, ...original } of candidates) {
      const priced = app.pricing.book.price(original);
      const field = toUnits(priced.cost_usd) > ceiling ? 'cost_usd' : toUnits(priced.list_cost_usd) > ceiling ? 'list_cost_usd' : undefined;
      if (priced.cost_source === 'priced' && field) {
        throw new ApiError(400, 'cost_out_of_range', `re-pricing would put event ${original.event_id} at ${field} ${priced[field]} (${priced.price_version}), over the per-event ceiling of ${fromUnits(ceiling)} USD (MAX_EVENT_COST_USD); nothing was changed — check the price book`);
      }
    }
  }
}
