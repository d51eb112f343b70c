// Liveness, readiness and metrics: public, unauthenticated, never rate-limited.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError, problemSchema } from '../errors.js';

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const open = { rateLimit: false } as const;
  app.get('/healthz', { config: open, schema: { tags: ['ops'], operationId: 'getHealth', summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', {
    config: open,
    schema: { tags: ['ops'], operationId: 'getReadiness', problems: { 503: ['engine_unavailable'] }, summary: 'ClickHouse answers', response: { 200: z.object({ status: z.literal('ready'), engine: z.string() }), 503: problemSchema } },
  }, async () => {
    const ping = await app.engine.client.ping();
    if (!ping.success) throw new ApiError(503, 'engine_unavailable', 'ClickHouse did not answer');
    return { status: 'ready' as const, engine: app.engine.mode };
  });
  app.get('/metrics', { config: open, schema: { tags: ['ops'], operationId: 'getMetrics', produces: ['text/plain'], summary: 'Prometheus metrics', hide: false } }, async (_request, reply) =>
    reply.type(app.metrics.contentType).send(await app.metrics.render()),
  );
};
