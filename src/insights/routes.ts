// GET /api/v1/insights/*: the questions the ledger exists to answer, read-only, scoped by key,
// cached like /agent-costs. Handlers parse, call one domain function, and render.
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { prefersCsv } from '../accept.js';
import { LAST_YEAR, wallClockToUtc } from '../costs/time.js';
import { agentsReport, heatmapReport } from './agents.js';
import { agentsVsHumansReport } from './agents-vs-humans.js';
import { customerMargins, customerSorts, invoiceDrafts, invoicesCsv } from './customers.js';
import { costPerTaskReport, driverKeys } from './drivers.js';
import { insightsCache, json } from './http.js';
import { runFlow, windowFlow } from './money-flow.js';
import { cacheIdentity, filterQuerystring, invalid, parseInsightFilters, parseKeys, parseWindow, scoped, windowQuerystring, type Filters } from './params.js';
import { agentsResponse, agentsVsHumansResponse, costPerTaskResponse, customersResponse, heatmapResponse, invoicesResponse, moneyFlowResponse, unitEconomicsResponse } from './schemas.js';
import { unitEconomicsKeys, unitEconomicsReport } from './unit-economics.js';

const limit = z.coerce.number().int().min(1).max(10_000).default(100);
const common = { ...windowQuerystring, ...filterQuerystring };
const route = (operationId: string, summary: string, description: string) => ({ tags: ['insights'], operationId, summary, description });
const config = { roles: ['read'] as const, scope: 'filtered' as const };

export const insightRoutes: FastifyPluginAsyncZod = async (app) => {
  const cached = insightsCache(app);
  const { client } = app.engine;

  /** The caller's view: window, filters narrowed to its product lines, and the product lines for cache invalidation. */
  const view = (request: FastifyRequest, q: Record<string, unknown> & { tz: string }) => {
    const window = parseWindow(q as Parameters<typeof parseWindow>[0]);
    const given: Filters = parseInsightFilters(q);
    const { filters, scope } = scoped(request.principal, given);
    const productLines = filters.product_line ?? request.principal?.productLines;
    return { window, filters, scope, productLines };
  };

  app.get('/insights/unit-economics', {
    config,
    schema: {
      ...route('getUnitEconomics', 'Unit economics by group: runs, success rate, cost per run and per success, failed and retry cost',
        'Runs started in the window (whole-run costs from run_facts). A run succeeds by its latest outcome event, else when none of its events errored (docs/insights.md).'),
      querystring: z.strictObject({ ...common, group_by: z.string().max(256).optional().describe(`comma list of up to 3 of: ${unitEconomicsKeys.join(', ')}`), limit }),
      response: { 200: unitEconomicsResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const v = view(request, q);
    const groupBy = parseKeys(q.group_by, 'group_by', unitEconomicsKeys, 3, []);
    return cached(request, reply, cacheIdentity('unit-economics', v.window, { filters: v.filters, groupBy, limit: q.limit }), v.window, v.productLines,
      async () => json(await unitEconomicsReport(client, v.window, v.filters, v.scope, groupBy, q.limit)));
  });

  app.get('/insights/cost-per-task', {
    config,
    schema: {
      ...route('getCostPerTask', 'The 5-minute question: cost per task now, its change against the previous window of equal length, and the top drivers',
        'Each driver (a group of `by`) splits its cost change into a volume effect and a unit-cost effect that add up exactly; drivers + others = the total change.'),
      querystring: z.strictObject({ ...common, by: z.enum(driverKeys).default('agent').describe('the dimension whose groups are the candidate drivers'), top: z.coerce.number().int().min(1).max(20).default(3) }),
      response: { 200: costPerTaskResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const v = view(request, q);
    // The previous window reaches back one window length: inserts there must drop the entry too.
    const span = { from: v.window.from - (v.window.to - v.window.from), to: v.window.to };
    return cached(request, reply, cacheIdentity('cost-per-task', v.window, { filters: v.filters, by: q.by, top: q.top }), span, v.productLines,
      async () => json(await costPerTaskReport(client, v.window, v.filters, v.scope, q.by, q.top)));
  });

  app.get('/insights/customers', {
    config,
    schema: {
      ...route('getCustomerMargins', 'Customers: cost, revenue, margin and margin %, negative margins flagged',
        'Cost: the customer\'s events in the window. Revenue: outcome events\' revenue_usd of the runs started in the window. Sorted by margin (worst first) unless `sort` says otherwise.'),
      querystring: z.strictObject({ ...common, sort: z.enum(customerSorts).default('margin').describe('margin and margin_pct ascending (worst first); cost and revenue descending'), negative_only: z.enum(['true', 'false']).default('false'), limit }),
      response: { 200: customersResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const v = view(request, q);
    return cached(request, reply, cacheIdentity('customers', v.window, { filters: v.filters, sort: q.sort, negative: q.negative_only, limit: q.limit }), v.window, v.productLines,
      async () => json(await customerMargins(client, v.window, v.filters, v.scope, q.sort, q.negative_only === 'true', q.limit)));
  });

  app.get('/insights/invoices', {
    config,
    schema: {
      ...route('getInvoiceDrafts', 'Invoice drafts per customer for a month: lines by step, source and metric that add up exactly',
        'Send `Accept: text/csv` (or `format=csv`) for CSV: one row per line and a `total` row per invoice. Filter with `customer` for one customer.'),
      querystring: z.strictObject({
        month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM').describe('the month, in tz'),
        tz: windowQuerystring.tz, ...filterQuerystring, format: z.enum(['json', 'csv']).optional(), limit,
      }),
      response: { 200: invoicesResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const [y, m] = q.month.split('-').map(Number) as [number, number];
    if (y < 2000 || y > LAST_YEAR) throw invalid('month', `must be 2000-01 … ${LAST_YEAR}-12`);
    const window = { from: wallClockToUtc(q.tz, y, m, 1), to: wallClockToUtc(q.tz, m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1), tz: q.tz, given: { from: true, to: true } };
    const { filters, scope } = scoped(request.principal, parseInsightFilters(q));
    const csv = q.format === 'csv' || (q.format === undefined && prefersCsv(request.headers.accept));
    return cached(request, reply, cacheIdentity('invoices', window, { filters, csv, limit: q.limit }), window, filters.product_line ?? request.principal?.productLines, async () => {
      const report = await invoiceDrafts(client, window, q.month, filters, scope, q.limit);
      if (!csv) return json(report);
      return { body: invoicesCsv(report), contentType: 'text/csv; charset=utf-8', headers: { 'content-disposition': `attachment; filename="invoices-${q.month}.csv"` } };
    });
  });

  const threshold = (d: number, text: string) => z.coerce.number().min(0).max(1_000_000_000).default(d).describe(text);
  app.get('/insights/agents', {
    config,
    schema: {
      ...route('getAgentSpend', 'Agents: spend with shares, calls, cost per call and per success, consolidation and distillation candidates',
        'consolidate: share ≥ consolidate_min_share and calls per day ≤ consolidate_max_calls_per_day (high cost, rarely called); distil: calls per day ≥ distil_min_calls_per_day.'),
      querystring: z.strictObject({
        ...common,
        consolidate_min_share: threshold(0.1, 'share of spend (0–1) at or above which a rarely called agent is a consolidation candidate'),
        consolidate_max_calls_per_day: threshold(100, 'calls per day at or below which an agent counts as rarely called'),
        distil_min_calls_per_day: threshold(10_000, 'calls per day at or above which an agent is a distillation candidate'),
      }),
      response: { 200: agentsResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const v = view(request, q);
    const t = { consolidate_min_share: q.consolidate_min_share, consolidate_max_calls_per_day: q.consolidate_max_calls_per_day, distil_min_calls_per_day: q.distil_min_calls_per_day };
    return cached(request, reply, cacheIdentity('agents', v.window, { filters: v.filters, t }), v.window, v.productLines,
      async () => json(await agentsReport(client, v.window, v.filters, v.scope, t)));
  });

  app.get('/insights/agents/heatmap', {
    config,
    schema: {
      ...route('getAgentHeatmap', 'Heatmap of spend: agent × hour of day, or agent × day',
        'Cells are exact decimal strings; `hottest` names the costliest cell. Hours and days are in tz.'),
      querystring: z.strictObject({ ...common, by: z.enum(['hour_of_day', 'day']).default('hour_of_day') }),
      response: { 200: heatmapResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const v = view(request, q);
    return cached(request, reply, cacheIdentity('heatmap', v.window, { filters: v.filters, by: q.by }), v.window, v.productLines,
      async () => json(await heatmapReport(client, v.window, v.filters, v.scope, q.by)));
  });

  app.get('/insights/money-flow', {
    config,
    schema: {
      ...route('getMoneyFlow', 'Money flow through the agent graph (JSON + Mermaid), for one run tree or aggregated over a window',
        'Spend edges (agent → model / tool / resource) add up to cost_usd; entry and delegation edges carry the started runs\' own cost. `mermaid` is `graph TD` text with costs on edges and the costliest agent highlighted. Send `Accept: text/plain` for the Mermaid text alone.'),
      problems: { 404: ['unknown_run'] },
      querystring: z.strictObject({ ...common, run_id: z.string().min(1).max(256).optional().describe('one run and every run below it (window and filters are then ignored)') }),
      response: { 200: moneyFlowResponse },
    },
  }, async (request, reply) => {
    const q = request.query;
    const v = view(request, q);
    const text = /^text\/plain\b/.test(request.headers.accept ?? '');
    // One run's flow does not depend on the window: it is cached for all time, dropped by any insert.
    const span = q.run_id ? { from: 0, to: Number.MAX_SAFE_INTEGER } : v.window;
    return cached(request, reply, cacheIdentity('money-flow', q.run_id ? { ...v.window, ...span } : v.window, { filters: q.run_id ? {} : v.filters, run: q.run_id ?? null, text }), span, v.scope, async () => {
      const flow = q.run_id ? await runFlow(client, q.run_id, v.window, v.scope) : await windowFlow(client, v.window, v.filters, v.scope);
      return text ? { body: `${flow.mermaid}\n`, contentType: 'text/plain; charset=utf-8' } : json(flow);
    });
  });

  app.get('/insights/agents-vs-humans', {
    config,
    schema: {
      ...route('getAgentsVsHumans', 'Agents vs humans: cost per resolved task of agent-only runs, of runs with a human escalation, and blended',
        'Runs started in the window; a run is resolved when it succeeds (docs/insights.md).'),
      querystring: z.strictObject(common),
      response: { 200: agentsVsHumansResponse },
    },
  }, async (request, reply) => {
    const v = view(request, request.query);
    return cached(request, reply, cacheIdentity('agents-vs-humans', v.window, { filters: v.filters }), v.window, v.productLines,
      async () => json(await agentsVsHumansReport(client, v.window, v.filters, v.scope)));
  });
};
