// GET/PUT /api/v1/taxonomy/product-lines[/{id}]: the registry of who pays.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { productLineId, text } from '../events/schema.js';

const id = productLineId;
const field = text;
const body = z.strictObject({
  name: field(256).min(1),
  cost_center: field(128).default(''),
  owner: field(256).default(''),
  budget_owner: field(256).default(''),
  billing_mode: z.enum(['chargeback', 'showback']).default('chargeback').describe('showback: reported to the owner, not billed (BilledCost 0 in exports)'),
});
const productLine = z.object({ id: z.string(), name: z.string(), cost_center: z.string(), owner: z.string(), budget_owner: z.string(), billing_mode: z.enum(['chargeback', 'showback']), updated_at: z.string() });

export const taxonomyRoutes: FastifyPluginAsyncZod = async (app) => {
  const visible = (principalLines: string[] | undefined, lineId: string) => !principalLines || principalLines.includes(lineId);

  app.get('/taxonomy/product-lines', {
    config: { roles: ['read', 'export', 'ingest'], scope: 'filtered' },
    schema: { tags: ['taxonomy'], operationId: 'listProductLines', summary: 'List product lines', response: { 200: z.object({ mode: z.enum(['open', 'governed']), product_lines: z.array(productLine) }) } },
  }, async (request) => ({
    mode: app.taxonomy.mode,
    product_lines: app.taxonomy.list().filter((l) => visible(request.principal?.productLines, l.id)),
  }));

  app.get('/taxonomy/product-lines/:id', {
    config: { roles: ['read', 'export', 'ingest'], scope: 'filtered' },
    schema: { tags: ['taxonomy'], operationId: 'getProductLine', problems: { 404: ['unknown_product_line'] }, summary: 'One product line', params: z.object({ id }), response: { 200: productLine } },
  }, async (request) => {
    const line = app.taxonomy.get(request.params.id);
    if (!line || !visible(request.principal?.productLines, line.id)) throw new ApiError(404, 'unknown_product_line', `no product line ${request.params.id}`);
    return line;
  });

  app.put('/taxonomy/product-lines/:id', {
    config: { roles: [] },
    schema: { tags: ['taxonomy'], operationId: 'putProductLine', summary: 'Create or update a product line (admin)', params: z.object({ id }), body, response: { 200: productLine, 201: productLine } },
  }, async (request, reply) => {
    await app.taxonomy.reload(); // another process may have registered it since our last refresh
    const existed = app.taxonomy.get(request.params.id) !== undefined;
    await app.taxonomy.upsert([{ id: request.params.id, ...request.body }]);
    return reply.code(existed ? 200 : 201).send(app.taxonomy.get(request.params.id)!);
  });

  app.put('/taxonomy/product-lines', {
    config: { roles: [] },
    schema: {
      tags: ['taxonomy'], operationId: 'putProductLines',
      summary: 'Create or update many product lines (admin)',
      body: z.strictObject({ product_lines: z.array(body.extend({ id })).min(1).max(10_000) }),
      response: { 200: z.object({ upserted: z.number() }) },
    },
  }, async (request) => {
    await app.taxonomy.upsert(request.body.product_lines);
    return { upserted: request.body.product_lines.length };
  });
};
