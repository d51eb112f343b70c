// The application as a plugin tree: buildApp(config) returns a ready-to-listen Fastify instance
// with the engine connected and migrations applied. server.ts only listens and shuts down.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { contractTransform } from './api-contract.js';
import { isLoopback, loadApiKeys, registerAuth } from './auth.js';
import { createEngine, onClusterClause, type Engine } from './clickhouse.js';
import { ConfigError, type Config } from './config.js';
import { answerClientError, answerFrameworkError, ApiError, ENGINE_RETRY_AFTER_SECONDS, registerErrorHandling } from './errors.js';
import { registerBoundedJsonParser } from './json-body.js';
import { registerBodyGuard, registerLoopbackGuard } from './request-guards.js';
import { ndjsonTypes } from './events/body.js';
import { EventIngestor } from './events/ingest.js';
import { Applier } from './events/applier.js';
import { Claims } from './cluster/claims.js';
import { fingerprintState, SharedState } from './cluster/shared-state.js';
import { eventRoutes } from './events/routes.js';
import { costRoutes } from './costs/routes.js';
import { useEngineZones } from './costs/time.js';
import { healthRoutes } from './health/routes.js';
import { otlpRoutes, protobufTypes } from './otlp/routes.js';
import { Metrics, registerMetrics } from './metrics.js';
import { migrate } from './migrate.js';
import { registerRateLimit } from './rate-limit.js';
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
import { keyRoutes } from './keys/routes.js';
import { dashboardRoutes } from './dashboard/plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine;
    ingestor: EventIngestor;
    claims: Claims;
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

const writers = new WeakMap<Engine, { claims: Claims; applier: Applier }>();
function writersOf(engine: Engine, make: () => { claims: Claims; applier: Applier }) {
  let w = writers.get(engine);
  if (!w) writers.set(engine, (w = make()));
  return w;
}

export async function buildApp(config: Config, opts: { engine?: Engine; logger?: boolean } = {}): Promise<FastifyInstance> {
  if (config.APPLY_TIMEOUT_MS + 1000 >= config.APPLIER_LEASE_MS) {
    // An apply must end (or be stopped by the engine) before the lease can pass to another process.
    throw new ConfigError(`invalid configuration:\n  APPLY_TIMEOUT_MS: must be at least 1000 below APPLIER_LEASE_MS (${config.APPLY_TIMEOUT_MS} vs ${config.APPLIER_LEASE_MS})`);
  }
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
    // Requests Node's parser refuses (headers over 16 KiB, malformed, too slow) as problem documents too.
    clientErrorHandler: answerClientError,
    // Receiving a request is bounded, so a stalled upload is answered 408 and its connection freed
    // (answering it takes as long as it takes); an idle keep-alive connection closes after a while.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(60_000, config.HTTP_REQUEST_TIMEOUT_MS),
      // Node checks those timeouts on this period (default 30 s): a quarter of the limit, at most 5 s.
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(config.HTTP_REQUEST_TIMEOUT_MS / 4))),
    },
    // Per-request lines only at debug: at ingest rates they cost more than they tell.
    logController: new LogController({ disableRequestLogging: config.LOG_LEVEL !== 'debug' && config.LOG_LEVEL !== 'trace' }),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // First of all hooks: with no keys every caller is admin, so only loopback names and origins get in.
  if (keys.length === 0) registerLoopbackGuard(app);

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
  useEngineZones((await (await engine.client.query({ query: 'SELECT time_zone FROM system.time_zones', format: 'JSONEachRow' })).json<{ time_zone: string }>()).map((z) => z.time_zone));
  if (config.LOAD_PRICE_CATALOG) {
    const loaded = await ensureCatalog(engine.client);
    if (loaded) app.log.info(`price catalog loaded: ${loaded.version}, ${loaded.loaded} models (${loaded.skipped} without token prices skipped)`);
  }
  const pricing = new Pricing(engine.client);
  const taxonomy = new Taxonomy(engine.client, config.TAXONOMY_MODE);
  // Server mode: fingerprint the shared configuration before loading it, so a change another
  // process makes while this one starts is still picked up (src/cluster/shared-state.ts).
  const stateBaseline = engine.mode === 'server' ? await fingerprintState(engine.client) : undefined;
  await Promise.all([pricing.reload(), taxonomy.reload()]);
  every(config.PRICE_BOOK_REFRESH_MS, 'price book and taxonomy refresh', () => Promise.all([pricing.reload(), taxonomy.reload()]));
  app.decorate('pricing', pricing);
  app.decorate('taxonomy', taxonomy);
  // One applier per ledger: this process in embedded mode; the lease holder among several
  // processes on a ClickHouse server (src/events/applier.ts).
  // Apps built on one engine object (tests, tools) share its claims and applier, like one process.
  const { claims, applier } = writersOf(engine, () => {
    const claims = new Claims(engine.client, Boolean(engine.cluster));
    const applier = new Applier(engine.client, {
      lease: engine.mode === 'server' ? claims.lease('applier', config.APPLIER_LEASE_MS) : undefined,
      maxRows: config.INGEST_APPLY_MAX_ROWS,
      minRows: config.INGEST_APPLY_MIN_ROWS,
      delayMs: config.INGEST_APPLY_DELAY_MS,
      pollMs: config.APPLIER_POLL_MS,
      applyTimeoutMs: config.APPLY_TIMEOUT_MS,
      onCluster: onClusterClause(engine) || undefined,
      log: app.log,
    });
    applier.start();
    return { claims, applier };
  });
  app.decorate('claims', claims);
  app.decorate('ingestor', new EventIngestor(engine.client, applier, {
    admit: (e) => (taxonomy.admits(e.product_line_id!) ? undefined : { reason: 'unknown_product_line', message: `product_line_id: ${e.product_line_id} is not registered (taxonomy mode governed); register it, then replay` }),
    price: (row) => Object.assign(row, pricing.book.price(row)),
    maxEventCostUsd: config.MAX_EVENT_COST_USD,
    applyWaitMs: config.INGEST_APPLY_WAIT_MS,
    maxBacklogRows: config.INGEST_MAX_BACKLOG_ROWS,
  }));
  // Commits a previous run logged but did not apply (a crash between the two steps) go in now.
  await applier.recover();
  // Every request but ingestion itself reads what this process acknowledged before it (onRequest,
  // so even a response cache consulted before validation has seen the apply's invalidation).
  // Bounded: with the engine unreachable an apply waits for it, and the read answers 503 instead.
  const settleMs = config.CLICKHOUSE_REQUEST_TIMEOUT_MS;
  const settle = async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), settleMs)));
    const settled = await Promise.race([app.ingestor.settle(), late]).finally(() => clearTimeout(timer));
    if (settled === 'late') {
      throw new ApiError(503, 'engine_unavailable', `events acknowledged by this process are not in the ledger yet after ${settleMs} ms (ClickHouse unreachable or slow); retry later`, { retry_after_seconds: ENGINE_RETRY_AFTER_SECONDS });
    }
  };
  // A callback hook that returns at once when nothing is pending (the common case, cache hits included).
  app.addHook('onRequest', (request, _reply, done) => {
    if (app.ingestor.settled) return done();
    const route = request.routeOptions.url;
    if (request.method === 'POST' && (route === `${API_PREFIX}/events` || route === '/v1/traces')) return done();
    if (route === '/healthz' || route === '/readyz' || route === '/metrics') return done();
    settle().then(() => done(), done);
  });

  const budgets = new Budgets(engine.client, {
    watermark: () => app.ingestor.watermark(),
    onApplied: (listener) => applier.onApplied(listener),
    // "Applied after +∞, or an apply in flight": true exactly while this process applies.
    applyInFlight: async () => applier.applying && (await app.ingestor.committedSince(Number.POSITIVE_INFINITY)),
  });
  // Server mode: one process (the `webhooks` lease holder) delivers; a claim decides which process announces a crossing.
  const server = engine.mode === 'server';
  const webhooks = new Webhooks(engine.client, {
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, timeoutMs: config.WEBHOOK_TIMEOUT_MS, maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
    lease: server ? claims.lease('webhooks', Math.max(config.CLUSTER_LOCK_TTL_MS, 2 * config.WEBHOOK_TIMEOUT_MS + 4000)) : undefined,
    pollMs: config.CLUSTER_SYNC_MS || 1000,
  }, app.log);
  const guard = new Guard(engine.client, budgets, webhooks, { anomalyDimensions: config.ANOMALY_DIMENSIONS.split(',') as AnomalyDimension[], ratio: config.ANOMALY_RATIO, minSpend: config.ANOMALY_MIN_SPEND_USD, claims: server ? claims : undefined }, app.log);
  await Promise.all([budgets.load(), webhooks.load(), guard.load()]);
  app.decorate('budgets', budgets);
  app.decorate('webhooks', webhooks);
  app.decorate('guard', guard);
  app.ingestor.onCommitted((c) => {
    if (budgets.onRows(c.rows)) guard.soon();
    app.metrics.observeCommitted(c.rows);
  });
  every(config.BUDGET_SYNC_MS, 'budget sync', () => budgets.sync());
  webhooks.start();
  if (stateBaseline) {
    // Several processes: config changed through another and its spend reach this one within CLUSTER_SYNC_MS.
    const shared = new SharedState(engine.client, [
      { name: 'price book', tables: ['prices', 'contract_rates', 'contract_unit_rates'], reload: () => pricing.reload() },
      { name: 'taxonomy', tables: ['product_lines'], reload: () => taxonomy.reload() },
      { name: 'budgets', tables: ['budgets'], reload: () => budgets.reload() },
      { name: 'webhooks', tables: ['webhooks'], reload: () => webhooks.reloadHooks() },
    ], stateBaseline, { watermark: () => app.ingestor.watermark(), sync: async () => { const again = await budgets.sync(); guard.soon(); return again; } }, app.log, config.CLUSTER_SYNC_MS);
    every(config.CLUSTER_SYNC_MS, 'shared state sync', () => shared.tick());
  }
  every(config.BUDGET_EVAL_INTERVAL_MS, 'guardrail evaluation', () => guard.evaluate({ anomalies: true }));
  app.addHook('onClose', async () => webhooks.close());
  if (!opts.engine) {
    app.addHook('onClose', async () => {
      // The applier first: it finishes its pass and gives up its lease while the engine is up.
      await applier.close();
      await engine.client.close();
    });
  }
  if (keys.length === 0) {
    app.log.warn('NO API KEYS CONFIGURED: every request on loopback is treated as admin. Set API_KEYS before exposing this service.');
  }

  registerErrorHandling(app);
  registerBoundedJsonParser(app, config.MAX_JSON_DEPTH);
  registerMetrics(app, app.metrics);
  registerAuth(app, keys);
  registerRateLimit(app, { max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS });
  // Bodies are JSON, except where the ingest routes read NDJSON, OTLP protobuf and gzip themselves.
  registerBodyGuard(app, {
    [`POST ${API_PREFIX}/events`]: { types: ndjsonTypes, gzip: true },
    'POST /v1/traces': { types: protobufTypes, gzip: true },
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
    await api.register(keyRoutes);
  }, { prefix: API_PREFIX });
  // The web dashboard at / (web/), reading only the API above.
  await app.register(dashboardRoutes, { keysConfigured: keys.length > 0 });
  await app.ready();
  return app;
}
