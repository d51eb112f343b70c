// Liveness, readiness and metrics: public, unauthenticated, never rate-limited.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError, ENGINE_RETRY_AFTER_SECONDS, problemSchema } from '../errors.js';
import { engineFault } from '../clickhouse.js';

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const open = { rateLimit: false } as const;
  app.get('/healthz', { config: open, schema: { tags: ['ops'], operationId: 'getHealth', summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', {
    config: open,
    schema: { tags: ['ops'], operationId: 'getReadiness', problems: { 503: ['engine_unavailable'] }, summary: 'ClickHouse answers', response: { 200: z.object({ status: z.literal('ready'), engine: z.string() }), 503: problemSchema } },
  }, async () => {
    // A query, not the server's /ping: a server that accepts connections but cannot run queries in
    // time is not ready either. Bounded so a probe gets its answer within a few seconds.
    const ping = await app.engine.client.ping({ select: true, abort_signal: AbortSignal.timeout(Math.min(app.config.CLICKHOUSE_REQUEST_TIMEOUT_MS, 5000)) });
    if (!ping.success) {
      const why = engineFault(ping.error) ?? (ping.error.name === 'AbortError' || /abort/i.test(ping.error.message) ? 'ClickHouse did not answer in time' : 'ClickHouse did not answer');
      throw new ApiError(503, 'engine_unavailable', why, { retry_after_seconds: ENGINE_RETRY_AFTER_SECONDS });
    }
    return { status: 'ready' as const, engine: app.engine.mode };
  });
  app.get('/metrics', { config: open, schema: { tags: ['ops'], operationId: 'getMetrics', produces: ['text/plain'], summary: 'Prometheus metrics', hide: false } }, async (_request, reply) =>
    reply.type(app.metrics.contentType).send(await app.metrics.render()),
  );
};
