// The application as a plugin tree: buildApp(config) returns a ready-to-listen Fastify instance
// with the engine connected and migrations applied. server.ts only listens and shuts down.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { contractTransform } from './api-contract.js';
import { isLoopback, loadApiKeys, registerAuth } from './auth.js';
import { createEngine, type Engine } from './clickhouse.js';
import { ConfigError, type Config } from './config.js';
import { answerFrameworkError, ApiError, registerErrorHandling } from './errors.js';
import { registerBoundedJsonParser } from './json-body.js';
import { EventIngestor } from './events/ingest.js';
import { eventRoutes } from './events/routes.js';
import { costRoutes } from './costs/routes.js';
import { healthRoutes } from './health/routes.js';
import { otlpRoutes } from './otlp/routes.js';
import { Metrics, registerMetrics } from './metrics.js';
import { migrate } from './migrate.js';
import { quarantineRoutes } from './quarantine/routes.js';
import { ensureCatalog } from './pricing/catalog.js';
import { Pricing } from './pricing/service.js';
import { Taxonomy } from './taxonomy/service.js';
import { taxonomyRoutes } from './taxonomy/routes.js';
import { pricingRoutes } from './pricing/routes.js';
import { runRoutes } from './runs/routes.js';
import { chargebackRoutes } from './chargeback/routes.js';
import type { AnomalyDimension } from './anomalies/detect.js';
import { Guard } from './budgets/guard.js';
import { guardrailRoutes } from './budgets/routes.js';
import { insightRoutes } from './insights/routes.js';
import { Budgets } from './budgets/service.js';
import { Webhooks } from './webhooks/service.js';

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine;
    ingestor: EventIngestor;
    pricing: Pricing;
    taxonomy: Taxonomy;
    budgets: Budgets;
    guard: Guard;
    webhooks: Webhooks;
    metrics: Metrics;
    config: Config;
  }
}

export const API_PREFIX = '/api/v1';

export async function buildApp(config: Config, opts: { engine?: Engine; logger?: boolean } = {}): Promise<FastifyInstance> {
  const keys = loadApiKeys(config);
  if (keys.length === 0 && !isLoopback(config.HOST)) {
    throw new ConfigError(`invalid configuration:\n  API_KEYS: required when HOST (${config.HOST}) is not a loopback address`);
  }
  const app = Fastify({
    logger: opts.logger === false || config.LOG_LEVEL === 'silent' ? false : {
      level: config.LOG_LEVEL,
      redact: ['req.headers.authorization'],
    },
    bodyLimit: config.MAX_BODY_BYTES,
    // Ids in paths may be as long as the event model allows (256); past that, a problem document.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: answerFrameworkError,
    // Per-request lines only at debug: at ingest rates they cost more than they tell.
    logController: new LogController({ disableRequestLogging: config.LOG_LEVEL !== 'debug' && config.LOG_LEVEL !== 'trace' }),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  /** Run `task` every `ms` (0 = never); the timer never holds the process open and stops on close. */
  const every = (ms: number, what: string, task: () => Promise<unknown>) => {
    if (ms <= 0) return;
    const timer = setInterval(() => void task().catch((err) => app.log.warn({ err }, `${what} failed`)), ms);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  };

  const engine = opts.engine ?? (await createEngine(config));
  app.decorate('engine', engine);
  app.decorate('config', config);
  app.decorate('metrics', new Metrics());
  if (config.MIGRATE_ON_START) await migrate(engine, (msg) => app.log.info(msg));
  if (config.LOAD_PRICE_CATALOG) {
    const loaded = await ensureCatalog(engine.client);
    if (loaded) app.log.info(`price catalog loaded: ${loaded.version}, ${loaded.loaded} models (${loaded.skipped} without token prices skipped)`);
  }
  const pricing = new Pricing(engine.client);
  const taxonomy = new Taxonomy(engine.client, config.TAXONOMY_MODE);
  await Promise.all([pricing.reload(), taxonomy.reload()]);
  every(config.PRICE_BOOK_REFRESH_MS, 'price book and taxonomy refresh', () => Promise.all([pricing.reload(), taxonomy.reload()]));
  app.decorate('pricing', pricing);
  app.decorate('taxonomy', taxonomy);
  app.decorate('ingestor', new EventIngestor(engine.client, {
    admit: (e) => (taxonomy.admits(e.product_line_id!) ? undefined : { reason: 'unknown_product_line', message: `product_line_id: ${e.product_line_id} is not registered (taxonomy mode governed); register it, then replay` }),
    price: (row) => Object.assign(row, pricing.book.price(row)),
    maxEventCostUsd: config.MAX_EVENT_COST_USD,
  }));

  const budgets = new Budgets(engine.client);
  const webhooks = new Webhooks(engine.client, { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, timeoutMs: config.WEBHOOK_TIMEOUT_MS, maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, retryBaseMs: config.WEBHOOK_RETRY_BASE_MS }, app.log);
  const guard = new Guard(engine.client, budgets, webhooks, { anomalyDimensions: config.ANOMALY_DIMENSIONS.split(',') as AnomalyDimension[], ratio: config.ANOMALY_RATIO, minSpend: config.ANOMALY_MIN_SPEND_USD }, app.log);
  await Promise.all([budgets.load(), webhooks.load(), guard.load()]);
  app.decorate('budgets', budgets);
  app.decorate('webhooks', webhooks);
  app.decorate('guard', guard);
  app.ingestor.onCommitted((c) => {
    if (budgets.onRows(c.rows)) guard.soon();
    app.metrics.observeCommitted(c.rows);
  });
  every(config.BUDGET_SYNC_MS, 'budget sync', () => budgets.sync());
  every(config.BUDGET_EVAL_INTERVAL_MS, 'guardrail evaluation', () => guard.evaluate({ anomalies: true }));
  app.addHook('onClose', async () => webhooks.close());
  if (!opts.engine) app.addHook('onClose', async () => engine.client.close());
  if (keys.length === 0) {
    app.log.warn('NO API KEYS CONFIGURED: every request on loopback is treated as admin. Set API_KEYS before exposing this service.');
  }

  registerErrorHandling(app);
  registerBoundedJsonParser(app, config.MAX_JSON_DEPTH);
  registerMetrics(app, app.metrics);
  registerAuth(app, keys);
  await app.register(rateLimit, {
    // onRequest, after authentication (a global hook registered earlier), so cache hits served
    // before validation are counted against the key too.
    hook: 'onRequest',
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    // Per key; unauthenticated callers share a bucket per address.
    keyGenerator: (request) => (request.principal ? `key:${request.principal.id}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'rate_limited', `rate limit of ${context.max} requests per ${context.after} exceeded`, {
        retry_after_seconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-ledger',
        version: '1.0.0',
        description: 'Cost attribution and chargeback for AI agents. Money is carried as decimal strings. Errors are application/problem+json with a machine-readable `reason`.',
      },
      servers: [{ url: '/', description: 'the instance serving this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' } } },
      security: [{ bearer: [] }],
    },
    // Zod schemas to JSON Schema, plus every operation's problem responses and their reasons.
    transform: contractTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes);
  // OTLP's standard path, outside /api/v1, so exporters need only the endpoint's base URL.
  await app.register(otlpRoutes, { maxBatchEvents: config.MAX_BATCH_EVENTS });
  await app.register(async (api) => {
    await api.register(eventRoutes, { maxBatchEvents: config.MAX_BATCH_EVENTS });
    await api.register(quarantineRoutes);
    await api.register(costRoutes);
    await api.register(taxonomyRoutes);
    await api.register(pricingRoutes);
    await api.register(runRoutes);
    await api.register(chargebackRoutes);
    await api.register(guardrailRoutes);
    await api.register(insightRoutes);
  }, { prefix: API_PREFIX });
  await app.ready();
  return app;
}
