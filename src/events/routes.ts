// POST /api/v1/events: a batch in, a per-item receipt out.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { batchItems, gunzipBody, registerNdjsonParser } from './body.js';
import { eventDocSchema } from './schema.js';

const itemResult = z.object({
  index: z.number().int(),
  event_id: z.string().nullable(),
  status: z.enum(['duplicate', 'quarantined', 'rejected']),
  reason: z.string(),
  errors: z.array(z.string()).optional(),
});
export const receiptSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  quarantined: z.number().int(),
  rejected: z.number().int(),
  results: z.array(itemResult).describe('every item that was not plainly accepted, by its index in the batch'),
});

const description = `Post a batch of cost events as {"events":[...]}, a bare JSON array, or NDJSON
(Content-Type application/x-ndjson); any of them may be gzip-compressed (Content-Encoding: gzip).
Idempotent on event_id. 200 when every item was accepted or a duplicate, 207 when any item was
quarantined or rejected (see results), 400 when the body is not a batch, 413 over the size or
event-count limit.`;

export const eventRoutes: FastifyPluginAsyncZod<{ maxBatchEvents: number }> = async (app, opts) => {
  registerNdjsonParser(app);
  app.post('/events', {
    config: { roles: ['ingest'], moneyAsText: true },
    preParsing: gunzipBody,
    schema: {
      tags: ['events'], operationId: 'ingestEvents', problems: { 400: ['not_a_batch', 'invalid_gzip'], 413: ['too_many_events'], 415: ['unsupported_content_encoding'] },
      summary: 'Ingest a batch of cost events',
      description,
      body: z.union([z.object({ events: z.array(eventDocSchema) }), z.array(eventDocSchema)]),
      response: { 200: receiptSchema, 207: receiptSchema },
    },
    // The body shape is checked by batchItems so the reason is specific; the schema is for the docs.
    validatorCompiler: () => (data) => ({ value: data }),
  }, async (request, reply) => {
    const items = batchItems(request.body);
    if (items.length > opts.maxBatchEvents) {
      throw new ApiError(413, 'too_many_events', `a batch may hold at most ${opts.maxBatchEvents} events; this one has ${items.length}`);
    }
    const receipt = await app.ingestor.ingest(items);
    app.metrics.countIngest(receipt);
    return reply.code(receipt.quarantined + receipt.rejected > 0 ? 207 : 200).send(receipt);
  });
};
