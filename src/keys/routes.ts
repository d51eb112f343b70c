// GET /api/v1/whoami: what the presented key may do (role, product-line scope), so a client such as
// the dashboard can show only what the key can use. It never reveals anything about other keys.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

export const keyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/whoami', {
    // Every role may ask about itself; the answer holds only the key's own scope.
    config: { roles: ['ingest', 'read', 'export'], scope: 'filtered' },
    schema: {
      tags: ['keys'], operationId: 'whoami',
      summary: 'The presented key: its role and the product lines it is scoped to',
      description: 'With no API keys configured (loopback only) every caller is an anonymous admin: `keys_configured` is false.',
      response: {
        200: z.object({
          role: z.enum(['ingest', 'read', 'export', 'admin']),
          product_lines: z.array(z.string()).nullable().describe('the product lines a scoped key sees; null for an unscoped key'),
          keys_configured: z.boolean(),
        }),
      },
    },
  }, async (request) => {
    const principal = request.principal!;
    return { role: principal.role, product_lines: principal.productLines ?? null, keys_configured: principal.id !== 'anonymous' };
  });
};
