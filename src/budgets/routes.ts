// Guardrail routes: budgets (CRUD, status, the pre-flight check), webhooks and their deliveries,
// anomalies and the top-spenders digest.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { anomalyDimensions, detectAnomalies, parseWindow, topSpenders } from '../anomalies/detect.js';
import { ApiError } from '../errors.js';
import { decimalPattern, text } from '../events/schema.js';
import { personalDataIn, personalDataMessage } from '../events/personal-data.js';
import { toUnits } from '../pricing/decimal.js';
import type { Principal } from '../auth.js';
import { scopeDimensions, type Budget, type BudgetInput } from './service.js';
import { budgetStatus } from './status.js';
import { isoFromClickHouseTime } from '../clickhouse-time.js';
import { budgetWindows } from './windows.js';
import { checkAttributes, checkBody } from './check-body.js';

const value = text(256).min(1);
const AMOUNT = decimalPattern(24);
const budgetBody = z.strictObject({
  name: value,
  scope: z.strictObject(Object.fromEntries(Object.keys(scopeDimensions).map((d) => [d, value.optional()])) as Record<keyof typeof scopeDimensions, z.ZodOptional<typeof value>>)
    .refine((s) => Object.keys(s).length > 0, 'name at least one dimension'),
  window: z.enum(budgetWindows),
  // zod runs a refinement even after the pattern failed: the amount is parsed only when it matched.
  amount_usd: z.string().regex(AMOUNT, 'must be a decimal string such as "5.00"').refine((v) => !AMOUNT.test(v) || toUnits(v) > 0n, 'must be more than 0'),
  thresholds: z.array(z.number().gt(0).max(10)).max(10).default([0.5, 0.8, 1]).refine((t) => new Set(t).size === t.length, 'thresholds must be distinct'),
  action: z.enum(['alert', 'block']).default('alert'),
});
const instant = z.iso.datetime({ offset: true }).optional().describe('evaluate as of this instant (default now)');
const dimension = z.enum(anomalyDimensions);

export const guardrailRoutes: FastifyPluginAsyncZod = async (app) => {
  const { budgets, guard, webhooks } = app;
  const notFound = (id: string) => new ApiError(404, 'unknown_budget', `no budget ${id}`);
  // A key scoped to product lines sees only budgets on those product lines.
  const visible = (principal: Principal | undefined, b: Budget) => !principal?.productLines || (b.scope.product_line !== undefined && principal.productLines.includes(b.scope.product_line));
  // Budget names and scope values are stored and sent in every notification and webhook: personal
  // data is refused as the ingest refuses it (reason personal_data), each field named, never echoed.
  const refusePersonalData = (input: BudgetInput) => {
    const fields: [string, string][] = [['name', input.name], ...Object.entries(input.scope).map(([d, v]): [string, string] => [`scope.${d}`, v ?? ''])];
    const errors = fields.flatMap(([parameter, v]) => {
      const kind = personalDataIn(v);
      return kind ? [{ parameter, message: personalDataMessage(kind) }] : [];
    });
    if (errors.length > 0) throw new ApiError(400, 'personal_data', errors.map((e) => `${e.parameter}: ${e.message}`).join('; '), { errors });
    return input;
  };
  const unscopedOnly = (principal: Principal | undefined) => {
    if (principal?.productLines) throw new ApiError(403, 'forbidden_scope', 'this route covers every product line; a scoped key cannot read it');
  };

  app.post('/budgets', {
    config: { roles: [] },
    schema: { tags: ['budgets'], operationId: 'createBudget', successStatus: 201, problems: { 400: ['personal_data'] }, summary: 'Create a budget (admin)', body: budgetBody },
  }, async (request, reply) => reply.code(201).send(await budgets.save(refusePersonalData(request.body as BudgetInput))));

  app.get('/budgets', { config: { roles: ['read', 'ingest'], scope: 'filtered' }, schema: { tags: ['budgets'], operationId: 'listBudgets', summary: 'List budgets' } }, async (request) => ({
    budgets: budgets.list().filter((b) => visible(request.principal, b)),
  }));

  app.get('/budgets/status', {
    config: { roles: ['read'], scope: 'filtered' },
    schema: { tags: ['budgets'], operationId: 'getBudgetStatus', summary: 'Spend, percentage, month-end projection and projected exhaustion day per budget', querystring: z.strictObject({ at: instant }) },
  }, async (request) => {
    const at = request.query.at ? Date.parse(request.query.at) : Date.now();
    const shown = budgets.all().filter((b) => visible(request.principal, b));
    return { at: new Date(at).toISOString(), budgets: await Promise.all(shown.map((b) => budgetStatus(budgets, b, at))) };
  });

  app.post('/budgets/check', {
    config: { roles: ['ingest', 'read'], scope: 'filtered' },
    schema: {
      tags: ['budgets'], operationId: 'checkBudget',
      summary: 'Pre-flight check before starting work: may it run?',
      description: 'The flat attributes of the work about to start, under the dimension names or their event-field aliases (customer_id, agent_id, user_id, workflow_id, step_name, intent_category, customer_segment, product_line_id), plus run_id and estimated_cost_usd; all strings. An unknown name is refused. A budget applies when every dimension of its scope is present with the same value (run budgets also need run_id). An exhausted block budget denies; alert budgets never deny.',
      body: checkBody,
    },
  }, async (request) => {
    const { estimated_cost_usd: estimate, ...attrs } = checkAttributes(request.body);
    // A scoped key learns nothing about other product lines' budgets.
    const scoped = request.principal?.productLines ? (b: Budget) => visible(request.principal, b) : undefined;
    return budgets.check(attrs, estimate ? toUnits(estimate) : 0n, scoped);
  });

  app.get('/budgets/:id', { config: { roles: ['read', 'ingest'], scope: 'filtered' }, schema: { tags: ['budgets'], operationId: 'getBudget', problems: { 404: ['unknown_budget'] }, summary: 'One budget', params: z.object({ id: z.string().max(64) }) } }, async (request) => {
    const b = budgets.get(request.params.id);
    if (!b || !visible(request.principal, b)) throw notFound(request.params.id);
    return b;
  });

  app.put('/budgets/:id', {
    config: { roles: [] },
    schema: { tags: ['budgets'], operationId: 'replaceBudget', problems: { 400: ['personal_data'], 404: ['unknown_budget'] }, summary: 'Replace a budget (admin)', params: z.object({ id: z.string().max(64) }), body: budgetBody },
  }, async (request) => {
    if (!budgets.get(request.params.id)) throw notFound(request.params.id);
    return budgets.save(refusePersonalData(request.body as BudgetInput), request.params.id);
  });

  app.delete('/budgets/:id', {
    config: { roles: [] },
    schema: { tags: ['budgets'], operationId: 'deleteBudget', problems: { 404: ['unknown_budget'] }, summary: 'Delete a budget (admin)', params: z.object({ id: z.string().max(64) }) },
  }, async (request, reply) => {
    const b = budgets.get(request.params.id);
    if (!b) throw notFound(request.params.id);
    await budgets.save(b, b.id, true);
    return reply.code(204).send();
  });

  app.post('/webhooks', {
    config: { roles: [] },
    schema: {
      tags: ['webhooks'], operationId: 'createWebhook', successStatus: 201, problems: { 400: ['webhook_url_forbidden'] },
      summary: 'Register a webhook (admin); loopback and private addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true',
      body: z.strictObject({ url: z.string().min(1).max(2048), secret: z.string().min(16, 'at least 16 characters').max(256) }),
    },
  }, async (request, reply) => {
    const created = await webhooks.create(request.body.url, request.body.secret);
    if ('problem' in created) throw new ApiError(400, 'webhook_url_forbidden', `url: ${created.problem}`, { errors: [{ parameter: 'url', message: created.problem }] });
    return reply.code(201).send(created);
  });

  app.get('/webhooks', { config: { roles: [] }, schema: { tags: ['webhooks'], operationId: 'listWebhooks', summary: 'Registered webhooks (secrets are never returned)' } }, async () => ({ webhooks: webhooks.list() }));

  app.delete('/webhooks/:id', { config: { roles: [] }, schema: { tags: ['webhooks'], operationId: 'deleteWebhook', problems: { 404: ['unknown_webhook'] }, summary: 'Remove a webhook', params: z.object({ id: z.string().max(64) }) } }, async (request, reply) => {
    if (!(await webhooks.remove(request.params.id))) throw new ApiError(404, 'unknown_webhook', `no webhook ${request.params.id}`);
    return reply.code(204).send();
  });

  app.get('/webhooks/deliveries', {
    config: { roles: [] },
    schema: { tags: ['webhooks'], operationId: 'listWebhookDeliveries', summary: 'Every delivery attempt and its outcome', querystring: z.strictObject({ webhook_id: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) }) },
  }, async (request) => ({
    deliveries: (await (await app.engine.client.query({
      query: `SELECT d.notification_id AS notification_id, n.type AS type, d.webhook_id AS webhook_id, d.attempt AS attempt, d.outcome AS outcome,
                     d.http_status AS http_status, d.error AS error, toString(d.attempted_at) AS attempted_at, toString(d.next_attempt_at) AS next_attempt_at
              FROM webhook_deliveries AS d LEFT JOIN (SELECT id, type FROM notifications FINAL) AS n ON n.id = d.notification_id
              WHERE ({webhook_id:String} = '' OR d.webhook_id = {webhook_id:String})
              ORDER BY d.attempted_at DESC, d.attempt DESC LIMIT {limit:UInt32}`,
      query_params: { webhook_id: request.query.webhook_id ?? '', limit: request.query.limit },
      format: 'JSONEachRow',
    })).json<{ attempted_at: string; next_attempt_at: string | null }>())
      .map((d) => ({ ...d, attempted_at: isoFromClickHouseTime(d.attempted_at), next_attempt_at: d.next_attempt_at === null ? null : isoFromClickHouseTime(d.next_attempt_at) })),
  }));

  app.get('/notifications', {
    config: { roles: ['read'] },
    schema: {
      tags: ['webhooks'], operationId: 'listNotifications', summary: 'Notifications raised (budget thresholds, exhaustion, anomalies), newest first',
      querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).default(1000).describe('at most this many, newest first') }),
    },
    preHandler: async (request) => unscopedOnly(request.principal),
  }, async (request) => ({
    notifications: (await (await app.engine.client.query({
      query: 'SELECT id, type, payload, toString(created_at) AS created_at FROM notifications FINAL ORDER BY created_at DESC LIMIT {limit:UInt32}',
      query_params: { limit: request.query.limit },
      format: 'JSONEachRow',
    })).json<{ payload: string; created_at: string }>())
      .map((n) => ({ ...n, payload: JSON.parse(n.payload), created_at: isoFromClickHouseTime(n.created_at) })),
  }));

  app.get('/anomalies', {
    config: { roles: ['read'], scope: 'filtered' },
    schema: {
      tags: ['anomalies'], operationId: 'listAnomalies',
      summary: 'Hourly cost per value against its 7-day baseline for the same hour',
      querystring: z.strictObject({
        dimension, window: z.string().max(8).default('24h'), at: instant,
        ratio: z.coerce.number().min(1).max(1000).optional(), min_spend_usd: z.string().regex(/^\d{1,12}(\.\d{1,12})?$/).optional(),
      }),
    },
  }, async (request) => {
    const q = request.query;
    const to = q.at ? Date.parse(q.at) : Date.now();
    const anomalies = await detectAnomalies(app.engine.client, {
      dimension: q.dimension, to, windowMs: parseWindow(q.window), ratio: q.ratio ?? app.config.ANOMALY_RATIO,
      minSpend: q.min_spend_usd ?? app.config.ANOMALY_MIN_SPEND_USD, scope: request.principal?.productLines,
    });
    return { dimension: q.dimension, window: q.window, at: new Date(to).toISOString(), anomalies };
  });

  app.get('/reports/top-spenders', {
    config: { roles: ['read'], scope: 'filtered' },
    schema: { tags: ['anomalies'], operationId: 'getTopSpenders', summary: 'Top spenders of a dimension in a window (daily digest)', querystring: z.strictObject({ dimension, window: z.string().max(8).default('24h'), limit: z.coerce.number().int().min(1).max(1000).default(10), at: instant }) },
  }, async (request) => {
    const q = request.query;
    const to = q.at ? Date.parse(q.at) : Date.now();
    const windowMs = parseWindow(q.window);
    // The window read, so a digest can be reproduced later (with at=to).
    return {
      dimension: q.dimension, window: q.window, from: new Date(to - windowMs).toISOString(), to: new Date(to).toISOString(),
      spenders: await topSpenders(app.engine.client, { dimension: q.dimension, to, windowMs, limit: q.limit, scope: request.principal?.productLines }),
    };
  });

  app.post('/guardrails/evaluate', {
    config: { roles: [] },
    schema: {
      tags: ['budgets'], operationId: 'evaluateGuardrails', summary: 'Evaluate budgets and anomalies now (admin; also runs on an interval); the body is optional',
      // A request without a body arrives as null: it runs with the defaults, as {} does.
      body: z.strictObject({ anomalies: z.boolean().default(true), at: instant }).nullish(),
    },
  }, async (request) => {
    // "Now" includes what this process has acknowledged: its commits are applied first.
    await app.ingestor.settle();
    await budgets.sync();
    await guard.evaluate({ anomalies: request.body?.anomalies ?? true, at: request.body?.at ? Date.parse(request.body.at) : undefined });
    return { evaluated: true };
  });
};
