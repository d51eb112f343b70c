// GET /api/v1/quarantine: what was not accepted, why, and the (redacted) item as it was sent.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { productLineId } from '../events/schema.js';
import { sql } from '../sql.js';
import { fromClickHouseTime } from '../clickhouse-time.js';
import { replayQuarantine } from './replay.js';

const recordSchema = z.object({
  quarantine_id: z.string(),
  received_at: z.string(),
  event_id: z.string(),
  product_line_id: z.string(),
  disposition: z.enum(['quarantined', 'rejected']).describe('quarantined: well-formed but unattributable (replayable); rejected: malformed'),
  reason: z.string(),
  errors: z.array(z.string()),
  payload: z.string().describe('the item as sent, with unknown fields and email-like strings removed'),
  replay_outcome: z.string().describe('outcome of the latest replay: accepted, duplicate, still_quarantined, rejected; empty when never replayed'),
});
// What a page's last item carries: its received_at as ClickHouse prints it, and its id.
// A forged one must still be a time the engine's DateTime64 reads (1900-2299), or it is refused.
const cursorSchema = z.object({
  t: z.string().regex(/^(19|2[0-2])\d{2}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/).refine((t) => !Number.isNaN(fromClickHouseTime(t))),
  q: z.string().max(64),
});

export const quarantineRoutes: FastifyPluginAsyncZod = async (app) => {
  const { client } = app.engine;
  app.get('/quarantine', {
    config: { roles: ['ingest'] },
    schema: {
      tags: ['quarantine'], operationId: 'listQuarantine',
      summary: 'List quarantined and rejected items',
      querystring: z.object({
        reason: z.string().regex(/^[a-z_]{1,64}$/, 'must be a reason code such as missing_product_line').optional(),
        disposition: z.enum(['quarantined', 'rejected']).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        cursor: z.string().max(512).optional(),
      }),
      response: {
        200: z.object({
          items: z.array(recordSchema),
          next_cursor: z.string().nullable(),
          counts: z.array(z.object({ reason: z.string(), disposition: z.string(), records: z.number() })),
        }),
      },
    },
  }, async (request) => {
    const { reason = '', disposition = '', limit, cursor } = request.query;
    const after = cursor ? decodeCursor(cursor, cursorSchema) : { t: '2299-12-31 23:59:59.999', q: '' };
    const [page, counts] = await Promise.all([
      client.query({
        query: sql('quarantine/list'),
        query_params: { reason, disposition, before_time: after.t, before_id: after.q, limit: limit + 1 },
        format: 'JSONEachRow',
      }).then((rs) => rs.json<z.infer<typeof recordSchema>>()),
      client.query({ query: sql('quarantine/count-by-reason'), format: 'JSONEachRow' }).then((rs) => rs.json<{ reason: string; disposition: string; records: number }>()),
    ]);
    const items = page.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      next_cursor: page.length > limit && last ? encodeCursor({ t: last.received_at, q: last.quarantine_id }) : null,
      counts,
    };
  });

  app.post('/quarantine/replay', {
    config: { roles: [] },
    schema: {
      tags: ['quarantine'], operationId: 'replayQuarantine',
      summary: 'Re-ingest quarantined events after the cause is fixed (admin); each record is accepted at most once',
      body: z.strictObject({
        reason: z.string().regex(/^[a-z_]{1,64}$/).optional().describe('only records with this reason, e.g. unknown_product_line'),
        product_line_id: productLineId.optional().describe('assign this product line to events that have none'),
        limit: z.number().int().min(1).max(10_000).default(10_000),
      }),
      response: { 200: z.object({ examined: z.number(), accepted: z.number(), duplicates: z.number(), still_quarantined: z.number(), rejected: z.number() }) },
    },
  }, async (request) => replayQuarantine(app, request.body));
};
