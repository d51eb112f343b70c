// Re-pricing: every book-priced event in the window is priced again with the current book; where
// the result differs from its net cost so far, a reversal of that net cost and the new cost are
// appended (both carrying the original event_id and dimensions, zero usage), so history is never
// mutated, every view stays consistent, and a second run finds nothing to change.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { CostEventRow } from '../events/schema.js';
import { sql } from '../sql.js';
import { fromUnits, toUnits } from './decimal.js';
import { toClickHouseTime, fromClickHouseTime } from '../clickhouse-time.js';

type Candidate = Omit<CostEventRow, 'received_at' | 'cost_usd' | 'list_cost_usd' | 'cost_source' | 'price_version' | 'revenue_usd'> & { net_cost: string; net_list_cost: string };

const DAY = 86_400_000;

export async function reprice(app: FastifyInstance, req: { from: string; to: string; provider?: string; model?: string }) {
  const from = fromClickHouseTime(req.from);
  const to = fromClickHouseTime(req.to);
  let examined = 0;
  let repriced = 0;
  let oldTotal = 0n;
  let newTotal = 0n;
  // One day at a time keeps memory flat for long windows.
  for (let start = from; start < to; start += DAY) {
    const end = Math.min(to, start + DAY);
    const candidates = await (await app.engine.client.query({
      query: sql('pricing/reprice-candidates'),
      query_params: { from: toClickHouseTime(start), to: toClickHouseTime(end), provider: req.provider?.toLowerCase() ?? '', model: req.model ?? '' },
      format: 'JSONEachRow',
    })).json<Candidate>();
    const rows: CostEventRow[] = [];
    for (const c of candidates) {
      examined++;
      const { net_cost, net_list_cost, ...original } = c;
      const priced = app.pricing.book.price(original);
      if (priced.cost_source !== 'priced' || (priced.cost_usd === fromUnits(toUnits(net_cost)) && priced.list_cost_usd === fromUnits(toUnits(net_list_cost)))) continue;
      const correction = createHash('sha256').update(`${c.event_id}|${net_cost}|${priced.cost_usd}|${priced.price_version}`).digest('hex').slice(0, 24);
      const base = { ...original, received_at: '', revenue_usd: '0', correction_id: correction, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, quantity: '0' };
      rows.push(
        { ...base, record_type: 'reversal', cost_usd: fromUnits(-toUnits(net_cost)), list_cost_usd: fromUnits(-toUnits(net_list_cost)), cost_source: 'priced', price_version: '' } as CostEventRow,
        { ...base, record_type: 'reprice', ...priced } as CostEventRow,
      );
      repriced++;
      oldTotal += toUnits(net_cost);
      newTotal += toUnits(priced.cost_usd);
    }
    if (rows.length > 0) await app.ingestor.append(rows);
  }
  return { examined, repriced, old_cost_usd: fromUnits(oldTotal), new_cost_usd: fromUnits(newTotal), delta_usd: fromUnits(newTotal - oldTotal) };
}
