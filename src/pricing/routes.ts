// The price book API: list and add versions, import LiteLLM's price file, contracted rates,
// unpriced events, and re-pricing.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { text } from '../events/schema.js';
import { fillSlots, sql } from '../sql.js';
import { litellmRows } from './litellm.js';
import { reprice } from './reprice.js';
import { toClickHouseTime } from '../clickhouse-time.js';

const money = z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^\d{1,26}(\.\d{1,12})?$/, 'must be a non-negative decimal with at most 12 decimal places'));
const instant = z.iso.datetime({ offset: true, message: 'must be ISO-8601 with an offset' }).transform((v) => toClickHouseTime(v));
const name = text(256).min(1).transform((v) => v.toLowerCase());
const units = ['tokens', 'characters', 'seconds', 'calls', 'requests', 'gpu_hours', 'cpu_core_hours', 'gb_hours', 'events'] as const;

const priceInput = z.strictObject({
  provider: name.or(z.literal('')).default(''),
  item: name.describe('model id for tokens; tool, model or "*" for other units'),
  unit: z.enum(units).default('tokens'),
  effective_from: instant,
  input_per_mtok: money.optional(),
  output_per_mtok: money.optional(),
  cache_read_per_mtok: money.optional(),
  cache_write_per_mtok: money.optional(),
  reasoning_per_mtok: money.optional(),
  per_unit: money.optional(),
}).superRefine((p, ctx) => {
  if (p.unit === 'tokens' && (p.input_per_mtok === undefined || p.output_per_mtok === undefined)) ctx.addIssue({ code: 'custom', path: ['input_per_mtok'], message: 'token prices need input_per_mtok and output_per_mtok' });
  if (p.unit !== 'tokens' && p.per_unit === undefined) ctx.addIssue({ code: 'custom', path: ['per_unit'], message: `a ${p.unit} price needs per_unit` });
  if (p.unit === 'tokens' && !p.provider) ctx.addIssue({ code: 'custom', path: ['provider'], message: 'token prices need a provider' });
});

const contractInput = z.strictObject({
  provider: name,
  model: name.or(z.literal('')).default('').describe('empty: every model of the provider; for a non-token unit, the tool or model it prices (empty: every item)'),
  unit: z.enum(units).default('tokens').describe('tokens (default), or a non-token unit (calls, characters, gpu_hours, …) priced per unit'),
  effective_from: instant,
  effective_to: instant.optional(),
  discount_pct: z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^\d{1,3}(\.\d{1,6})?$/)).optional().describe('percent off list, e.g. "20"'),
  override: z.strictObject({
    input_per_mtok: money.optional(), output_per_mtok: money.optional(), cache_read_per_mtok: money.optional(),
    cache_write_per_mtok: money.optional(), reasoning_per_mtok: money.optional(), per_unit: money.optional(),
  }).optional(),
}).superRefine((c, ctx) => {
  const perUnitOnly = c.override && Object.keys(c.override).every((k) => k === 'per_unit');
  if (c.unit !== 'tokens' && c.override && (!perUnitOnly || c.override.per_unit === undefined)) ctx.addIssue({ code: 'custom', path: ['override'], message: `a ${c.unit} override takes per_unit only` });
  if (c.unit === 'tokens' && c.override?.per_unit !== undefined) ctx.addIssue({ code: 'custom', path: ['override', 'per_unit'], message: 'per_unit is for non-token units; give unit' });
  if ((c.discount_pct === undefined) === (c.override === undefined)) ctx.addIssue({ code: 'custom', path: ['discount_pct'], message: 'give exactly one of discount_pct or override' });
  if (c.discount_pct !== undefined && Number(c.discount_pct) > 100) ctx.addIssue({ code: 'custom', path: ['discount_pct'], message: 'at most 100' });
  if (c.effective_to !== undefined && c.effective_to <= c.effective_from) ctx.addIssue({ code: 'custom', path: ['effective_to'], message: 'must be after effective_from' });
});

const priceRow = z.object({
  provider: z.string(), item: z.string(), unit: z.string(), effective_from: z.string(),
  input_per_mtok: z.string(), output_per_mtok: z.string(), cache_read_per_mtok: z.string().nullable(), cache_write_per_mtok: z.string().nullable(),
  reasoning_per_mtok: z.string().nullable(), per_unit: z.string(), tier_above_tokens: z.number(), tier_input_per_mtok: z.string().nullable(),
  tier_output_per_mtok: z.string().nullable(), source: z.string(), catalog_version: z.string(),
});

const unpricedRow = z.object({ provider: z.string(), model: z.string(), tool: z.string(), unit: z.string(), events: z.number(), input_tokens: z.number(), output_tokens: z.number(), quantity: z.string(), first_seen: z.string(), last_seen: z.string() });

export const pricingRoutes: FastifyPluginAsyncZod = async (app) => {
  const { client } = app.engine;
  const reload = () => app.pricing.reload();

  app.get('/prices', {
    config: { roles: ['read', 'export', 'ingest'], scope: 'none' },
    schema: {
      tags: ['pricing'], operationId: 'listPrices',
      summary: 'Price versions (per million tokens per bucket, or per unit)',
      querystring: z.strictObject({
        provider: z.string().max(256).optional(),
        model: z.string().max(256).optional().describe('model id (or tool) as stored'),
        at: z.iso.datetime({ offset: true }).optional().describe('only the versions in force at this instant'),
        limit: z.coerce.number().int().min(1).max(10_000).default(1000),
        cursor: z.string().max(256).optional(),
      }),
      response: { 200: z.object({ prices: z.array(priceRow), next_cursor: z.string().nullable() }) },
    },
  }, async (request) => {
    const { provider = '', model = '', at, limit, cursor } = request.query;
    const offset = cursor ? decodeCursor(cursor, z.object({ o: z.number().int().min(0) })).o : 0;
    const query = fillSlots(sql('pricing/list'), { latest_only: at ? 'LIMIT 1 BY provider, item, unit' : '' });
    const rows = await (await client.query({
      query,
      query_params: { provider, item: model, at: at ? toClickHouseTime(at) : '2299-12-31 00:00:00.000', limit: limit + 1, offset },
      format: 'JSONEachRow',
    })).json<z.infer<typeof priceRow>>();
    return { prices: rows.slice(0, limit), next_cursor: rows.length > limit ? encodeCursor({ o: offset + limit }) : null };
  });

  app.put('/prices', {
    config: { roles: [] },
    schema: {
      tags: ['pricing'], operationId: 'addPrices',
      summary: 'Add price versions (admin); a version with the same provider, item, unit and effective_from replaces the earlier one',
      body: z.strictObject({ prices: z.array(priceInput).min(1).max(10_000) }),
      response: { 200: z.object({ added: z.number() }) },
    },
  }, async (request) => {
    const rows = request.body.prices.map((p) => ({ ...p, per_unit: p.per_unit ?? '0', input_per_mtok: p.input_per_mtok ?? '0', output_per_mtok: p.output_per_mtok ?? '0', source: 'manual' }));
    await client.insert({ table: 'prices', values: rows, format: 'JSONEachRow' });
    await reload();
    return { added: rows.length };
  });

  app.post('/prices/import', {
    config: { roles: [] },
    schema: {
      tags: ['pricing'], operationId: 'importLitellmPrices',
      summary: "Import LiteLLM's model_prices_and_context_window.json (admin)",
      description: 'The body is the file itself. Per-token prices become per-million prices; cache, reasoning and *_above_200k_tokens tiers are kept; per-character and per-second prices become unit prices.',
      querystring: z.strictObject({ effective_from: instant.optional().describe('default: now') }),
      body: z.record(z.string(), z.unknown()),
      response: {
        200: z.object({ imported: z.number(), tokens: z.number(), characters: z.number(), seconds: z.number(), tiered: z.number(), skipped: z.array(z.object({ key: z.string(), reason: z.string() })) }),
      },
    },
  }, async (request) => {
    const effectiveFrom = request.query.effective_from ?? toClickHouseTime(Date.now());
    const { rows, report } = litellmRows(request.body, effectiveFrom);
    if (rows.length > 0) await client.insert({ table: 'prices', values: rows, format: 'JSONEachRow' });
    await reload();
    return report;
  });

  app.get('/prices/contracts', {
    config: { roles: ['read', 'export'], scope: 'none' },
    schema: { tags: ['pricing'], operationId: 'listContracts', summary: 'Contracted rates', response: { 200: z.object({ contracts: z.array(z.record(z.string(), z.unknown())) }) } },
  }, async () => ({
    contracts: [
      ...await (await client.query({ query: sql('pricing/all-contracts'), format: 'JSONEachRow' })).json<Record<string, unknown>>(),
      ...(await (await client.query({ query: sql('pricing/all-unit-contracts'), format: 'JSONEachRow' })).json<Record<string, unknown>>()),
    ],
  }));

  app.put('/prices/contracts', {
    config: { roles: [] },
    schema: {
      tags: ['pricing'], operationId: 'addContracts',
      summary: 'Add contracted rates (admin): a discount off list or an override, per provider or model, with effective dates',
      body: z.strictObject({ contracts: z.array(contractInput).min(1).max(1000) }),
      response: { 200: z.object({ added: z.number() }) },
    },
  }, async (request) => {
    const rows = request.body.contracts.filter((c) => c.unit === 'tokens').map(({ override, discount_pct, unit: _unit, ...c }) => ({
      ...c, effective_to: c.effective_to ?? null, kind: override ? 'override' : 'discount', discount_pct: discount_pct ?? '0', ...(override ?? {}),
    }));
    // Non-token units have their own table (keyed by unit), priced per unit rather than per million tokens.
    const unitRows = request.body.contracts.filter((c) => c.unit !== 'tokens').map(({ override, discount_pct, model, ...c }) => ({
      ...c, item: model, effective_to: c.effective_to ?? null, kind: override ? 'override' : 'discount', discount_pct: discount_pct ?? '0', per_unit: override?.per_unit ?? null,
    }));
    if (rows.length > 0) await client.insert({ table: 'contract_rates', values: rows, format: 'JSONEachRow' });
    if (unitRows.length > 0) await client.insert({ table: 'contract_unit_rates', values: unitRows, format: 'JSONEachRow' });
    await reload();
    return { added: rows.length + unitRows.length };
  });

  app.get('/prices/unpriced', {
    config: { roles: ['read', 'ingest'] },
    schema: {
      tags: ['pricing'], operationId: 'listUnpriced',
      summary: 'What was accepted without a price (cost 0) and not priced since',
      querystring: z.strictObject({ from: instant.optional(), to: instant.optional() }),
      response: {
        200: z.object({ unpriced: z.array(unpricedRow) }),
      },
    },
  }, async (request) => ({
    unpriced: await (await client.query({
      query: sql('pricing/unpriced'),
      query_params: { from: request.query.from ?? '2000-01-01 00:00:00.000', to: request.query.to ?? '2299-12-31 00:00:00.000' },
      format: 'JSONEachRow',
    })).json<z.infer<typeof unpricedRow>>(),
  }));

  app.post('/reprice', {
    config: { roles: [] },
    schema: {
      tags: ['pricing'], operationId: 'repriceWindow', problems: { 400: ['cost_out_of_range'] },
      summary: 'Re-price priced events in a window with the current book (admin); appends correction rows, never mutates history',
      body: z.strictObject({ from: instant, to: instant, provider: z.string().max(256).optional(), model: z.string().max(256).optional() }),
      response: { 200: z.object({ examined: z.number(), repriced: z.number(), old_cost_usd: z.string(), new_cost_usd: z.string(), delta_usd: z.string() }) },
    },
  }, async (request) => reprice(app, request.body));
};
