// Query-string parsing for analytics routes: every parameter checked, every error naming it.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { canonicalDimension, dimensionAliases, dimensionNames, type Dimension } from './dimensions.js';
import { canonicalZone, granularities, isTimeZone, resolveWindow, type Granularity, type Window } from './time.js';

const MAX_GROUP_KEYS = 4;
const MAX_FILTER_VALUES = 100;

const listParam = z.union([z.string().max(8192), z.array(z.string().max(8192)).max(20)]).transform((v) => (Array.isArray(v) ? v.join(',') : v));
const filterShape = Object.fromEntries([...dimensionNames, ...Object.keys(dimensionAliases)].map((name) => [name, listParam.optional()]));

export const windowQuerystring = {
  from: z.string().max(64).optional().describe('start (inclusive): YYYY-MM-DD or ISO-8601 datetime; without an offset it is read in `tz`'),
  to: z.string().max(64).optional().describe('end (exclusive); default: now, rounded up to the minute'),
  date_range: z.string().max(64).optional().describe('YYYY-MM-DD,YYYY-MM-DD, both days included (instead of from/to); default window: the last 30 days'),
  tz: z.string().max(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').transform(canonicalZone).default('UTC').describe('IANA zone for dates without offset and for bucket edges (any spelling Intl accepts; answers give the canonical one)'),
};

export const agentCostsQuerystring = z.strictObject({
  ...windowQuerystring,
  group_by: listParam.optional().describe(`comma list of up to ${MAX_GROUP_KEYS} of: ${dimensionNames.join(', ')} (aliases: ${Object.keys(dimensionAliases).join(', ')})`),
  granularity: z.enum(granularities).optional().describe('adds a time bucket to each row'),
  sort: z.string().max(64).optional().describe('cost_usd (default) | events | bucket | one of the group_by keys'),
  order: z.enum(['asc', 'desc']).optional().describe('default desc for cost_usd/events, asc for keys'),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  cursor: z.string().max(2048).optional().describe('next_cursor of the previous page; the other parameters must stay the same'),
  source: z.enum(['auto', 'raw', 'rollup']).default('auto').describe('auto reads the narrowest hourly rollup that has every dimension involved (whole hours) plus raw events for the ragged edges; raw/rollup force one (rollup → 400 when no rollup can answer exactly)'),
  ...filterShape,
}).describe(`Filters: ${dimensionNames.join(', ')} — each one value or a comma list.`);

export const dimensionValuesQuerystring = z.strictObject({
  ...windowQuerystring,
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  cursor: z.string().max(2048).optional(),
  ...filterShape,
});

const invalid = (parameter: string, message: string) => new ApiError(400, 'invalid_request', `${parameter}: ${message}`, { errors: [{ parameter, message }] });

export function parseGroupBy(value: string | undefined): Dimension[] {
  if (!value) return [];
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const out: Dimension[] = [];
  for (const name of names) {
    const d = canonicalDimension(name);
    if (!d) throw invalid('group_by', `unknown dimension "${name.slice(0, 64)}"; use ${dimensionNames.join(', ')}`);
    if (out.includes(d)) throw invalid('group_by', `dimension ${d} given twice`);
    out.push(d);
  }
  if (out.length > MAX_GROUP_KEYS) throw invalid('group_by', `at most ${MAX_GROUP_KEYS} dimensions`);
  return out;
}

export function parseFilters(q: Record<string, unknown>): Partial<Record<Dimension, string[]>> {
  const filters: Partial<Record<Dimension, string[]>> = {};
  const source: Partial<Record<Dimension, string>> = {};
  for (const [name, raw] of Object.entries(q)) {
    const d = canonicalDimension(name);
    if (!d || typeof raw !== 'string' || !(name in filterShape)) continue;
    if (source[d]) throw invalid(name, `the ${d} filter is given twice (as ${source[d]} and ${name})`);
    const values = [...new Set(raw.split(','))];
    if (values.length > MAX_FILTER_VALUES) throw invalid(name, `at most ${MAX_FILTER_VALUES} values`);
    if (values.some((v) => v.length > 256)) throw invalid(name, 'values are at most 256 characters');
    filters[d] = values;
    source[d] = name;
  }
  return filters;
}

/** The window plus everything that identifies a query, in a stable order, for cache keys and cursors. */
export function normalizedKey(parts: Record<string, unknown>): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)]))
      : v;
  return JSON.stringify(sorted(parts));
}

export const hashOf = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 22);

export type ParsedWindow = Window & { tz: string };
export function parseWindow(q: { from?: string; to?: string; date_range?: string; tz: string }): ParsedWindow {
  return { ...resolveWindow(q, q.tz), tz: q.tz };
}

export function parseSort(sort: string | undefined, order: 'asc' | 'desc' | undefined, groupBy: Dimension[], granularity: Granularity | undefined) {
  const s = sort ?? 'cost_usd';
  let key: 'cost_usd' | 'events' | 'bucket' | Dimension;
  if (s === 'cost_usd' || s === 'events') key = s;
  else if (s === 'bucket' && granularity) key = 'bucket';
  else {
    const d = canonicalDimension(s);
    if (!d || !groupBy.includes(d)) throw invalid('sort', `must be cost_usd, events${granularity ? ', bucket' : ''}${groupBy.length ? ` or one of ${groupBy.join(', ')}` : ''}`);
    key = d;
  }
  return { sort: key, order: order ?? (key === 'cost_usd' || key === 'events' ? 'desc' as const : 'asc' as const) };
}
