// One page of an analytics answer: scope applied, source chosen, snapshot pinned in the cursor,
// so walking all pages yields every row exactly once even while events keep arriving.
// Snapshots rely on this process stamping received_at (see EventIngestor.watermark); with several
// API processes writing to one server, inserts from the others are not ordered against it.
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../auth.js';
import { decodeCursor, encodeCursor, snapshotFits } from '../cursor.js';
import { ApiError } from '../errors.js';
import type { Dimension } from './dimensions.js';
import { hashOf, normalizedKey, type ParsedWindow } from './params.js';
import { cursorWindowFits } from './time.js';
import { canUseRollup, runCostQuery, type CostQuery, type CostRow, type Metrics, type Source } from './query.js';

const cursorSchema = z.object({ v: z.literal(1), h: z.string(), s: z.number(), o: z.number().int().min(0), f: z.number(), t: z.number() });

export type PageRequest = {
  window: ParsedWindow;
  base: Omit<CostQuery, 'from' | 'to' | 'tz' | 'offset' | 'snapshot' | 'scope'>;
  source: 'auto' | Source;
  cursor?: string;
  /** Everything that identifies the query except the cursor (window as given, not as resolved). */
  identity: Record<string, unknown>;
};

export type Page = { from: number; to: number; source: Source; rows: CostRow[]; totals: Metrics; next_cursor: string | null };

/** Product lines the caller may see, narrowed by its own product_line filter (never widened). */
export function scopedQuery(principal: Principal | undefined, filters: Partial<Record<Dimension, string[]>>) {
  const scope = principal?.productLines;
  if (!scope) return { filters, scope: undefined };
  // A filter naming a product line outside the scope matches nothing rather than erroring, so the
  // answer does not confirm that the other product line exists.
  const wanted = filters.product_line;
  return { filters: wanted ? { ...filters, product_line: wanted.filter((pl) => scope.includes(pl)) } : filters, scope };
}

export async function costPage(app: FastifyInstance, principal: Principal | undefined, req: PageRequest): Promise<Page> {
  const { filters, scope } = scopedQuery(principal, req.base.filters);
  const hash = hashOf(normalizedKey({ ...req.identity, scope: scope ?? '*' }));
  let from = req.window.from;
  let to = req.window.to;
  let offset = 0;
  let snapshot: number | undefined;
  if (req.cursor) {
    const c = decodeCursor(req.cursor, cursorSchema);
    if (c.h !== hash) throw new ApiError(400, 'cursor_mismatch', 'cursor: it belongs to a request with other parameters; repeat the original parameters or start without a cursor');
    // The window and snapshot come from the cursor (a relative window stays where the first page
    // resolved it): only ones these parameters could have given, so a cursor widens nothing.
    if (!cursorWindowFits(req.window, c.f, c.t) || !(c.s === 0 || snapshotFits(c.s))) {
      throw new ApiError(400, 'invalid_cursor', 'cursor: not a cursor issued by this endpoint for these parameters');
    }
    ({ o: offset, f: from, t: to } = c);
    snapshot = c.s === 0 ? undefined : c.s; // 0: a forced-rollup walk from before rollup walks were checked
  }
  const query: CostQuery = { ...req.base, filters, scope, from, to, tz: req.window.tz, offset };
  const rollupOk = canUseRollup(query);
  if (req.source === 'rollup' && !rollupOk) {
    throw new ApiError(400, 'invalid_request', 'source: no rollup can answer this request exactly (a dimension outside every rollup, or time buckets in a zone whose offset is not whole hours)', { errors: [{ parameter: 'source', message: 'rollup not applicable' }] });
  }
  // Every page is pinned to the snapshot of the first. The rollups cannot be pinned, but their
  // answer equals the pinned raw one as long as nothing was committed since the snapshot; if
  // something was (checked after the read), the raw ledger answers at the snapshot instead.
  // When other processes apply (server mode), the watermark is a query of its own: the statement
  // takes it first instead (CostQuery.watermark), saving a round trip. This process's applier
  // knows it without asking (embedded).
  const inStatement = snapshot === undefined && app.engine.mode === 'server';
  let pinned = snapshot ?? (inStatement ? undefined : await app.ingestor.watermark());
  let source: Source = req.source === 'raw' || !rollupOk ? 'raw' : 'rollup';
  if (source === 'raw') query.snapshot = pinned;
  query.watermark = inStatement;
  let result = await runCostQuery(app.engine.client, query, source);
  pinned ??= result.watermark!;
  if (source === 'rollup' && (result.hasMore || offset > 0) && (await app.ingestor.committedSince(pinned))) {
    // A forced rollup cannot be read at the snapshot: a later page of its walk is refused rather
    // than served with rows moved between pages (the first page pins the walk like any other).
    if (req.source === 'rollup' && offset > 0) {
      throw new ApiError(409, 'rollup_changed', 'cursor: events arrived since the first page and a rollup cannot be read as of then; start the walk again, or walk with source=auto (which reads the ledger as of the first page)');
    }
    if (req.source === 'auto') {
      source = 'raw';
      query.snapshot = pinned;
      query.watermark = false;
      result = await runCostQuery(app.engine.client, query, source);
    }
  }
  const next_cursor = result.hasMore ? encodeCursor({ v: 1, h: hash, s: pinned, o: offset + req.base.limit, f: from, t: to }) : null;
  return { from, to, source, rows: result.rows, totals: result.totals, next_cursor };
}
