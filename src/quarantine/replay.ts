// Replay: re-ingest quarantined events once their cause is fixed (a product line registered, or
// a product line assigned to events that had none). Each record is accepted at most once: replays
// run one at a time, so a concurrent replay finds the records already replayed, and the ledger's
// event_id check drops any event that was accepted since (across processes too).
import type { FastifyInstance } from 'fastify';
import { serially } from '../serial.js';
import { sql } from '../sql.js';

export type ReplayRequest = { reason?: string; product_line_id?: string; limit: number };
export type ReplayReport = { examined: number; accepted: number; duplicates: number; still_quarantined: number; rejected: number };

export function replayQuarantine(app: FastifyInstance, req: ReplayRequest): Promise<ReplayReport> {
  return serially(app, 'quarantine-replay', () => replayOnce(app, req));
}

async function replayOnce(app: FastifyInstance, req: ReplayRequest): Promise<ReplayReport> {
  const { client } = app.engine;
  const records = await (await client.query({
    query: sql('quarantine/replayable'),
    query_params: { reason: req.reason ?? '', limit: req.limit },
    format: 'JSONEachRow',
  })).json<{ quarantine_id: string; reason: string; payload: string }>();
  const report: ReplayReport = { examined: records.length, accepted: 0, duplicates: 0, still_quarantined: 0, rejected: 0 };
  if (records.length === 0) return report;
  const items = records.map((r) => {
    const value = JSON.parse(r.payload) as Record<string, unknown>;
    if (req.product_line_id && !value.product_line_id) value.product_line_id = req.product_line_id;
    return { value };
  });
  const receipt = await app.ingestor.ingest(items);
  const byIndex = new Map(receipt.results.map((r) => [r.index, r]));
  const outcomes = records.map((r, index) => {
    const result = byIndex.get(index);
    const outcome = !result ? 'accepted' : result.status === 'duplicate' ? 'duplicate' : result.status === 'rejected' ? 'rejected' : 'still_quarantined';
    report[outcome === 'duplicate' ? 'duplicates' : outcome]++;
    return { quarantine_id: r.quarantine_id, event_id: String((items[index]!.value as { event_id?: unknown }).event_id ?? ''), outcome };
  });
  await client.insert({ table: 'quarantine_replays', values: outcomes, format: 'JSONEachRow' });
  return report;
}
