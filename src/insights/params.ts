// Query-string parsing shared by the insights routes: the analytics window, the filters an insight
// accepts (run attributes plus model), group-by keys, and the "inputs" block every answer carries.
import { z } from 'zod';
import type { Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import { canonicalDimension, type Dimension } from '../costs/dimensions.js';
import { parseWindow, windowQuerystring, type ParsedWindow } from '../costs/params.js';
import { scopedQuery } from '../costs/service.js';

/** Dimensions an insight can filter or group by: the run attributes and the model a run used. */
export const insightDimensions = ['product_line', 'environment', 'agent', 'agent_version', 'segment', 'intent', 'feature', 'customer', 'model'] as const;
export type InsightDimension = (typeof insightDimensions)[number];
const aliases: Record<string, InsightDimension> = { intent_category: 'intent', customer_segment: 'segment' };

const MAX_FILTER_VALUES = 100;
const filterParam = z.string().max(8192).optional();
export const filterQuerystring = Object.fromEntries([...insightDimensions, ...Object.keys(aliases)].map((d) => [d, filterParam.describe(`filter: one value or a comma list`)])) as Record<InsightDimension, typeof filterParam>;
export { windowQuerystring };

export const invalid = (parameter: string, message: string) => new ApiError(400, 'invalid_request', `${parameter}: ${message}`, { errors: [{ parameter, message }] });

export type Filters = Partial<Record<InsightDimension, string[]>>;

export function parseInsightFilters(q: Record<string, unknown>): Filters {
  const out: Filters = {};
  const seen: Partial<Record<InsightDimension, string>> = {};
  for (const [name, raw] of Object.entries(q)) {
    const d = (insightDimensions as readonly string[]).includes(name) ? (name as InsightDimension) : aliases[name];
    if (!d || typeof raw !== 'string') continue;
    if (seen[d]) throw invalid(name, `the ${d} filter is given twice (as ${seen[d]} and ${name})`);
    const values = [...new Set(raw.split(','))];
    if (values.length > MAX_FILTER_VALUES) throw invalid(name, `at most ${MAX_FILTER_VALUES} values`);
    if (values.some((v) => v.length > 256)) throw invalid(name, 'values are at most 256 characters');
    out[d] = values;
    seen[d] = name;
  }
  return out;
}

export function parseKeys(value: string | undefined, parameter: string, allowed: readonly string[], max: number, fallback: string[]): InsightDimension[] {
  if (!value) return fallback as InsightDimension[];
  const out: InsightDimension[] = [];
  for (const raw of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const name = aliases[raw] ?? canonicalDimension(raw) ?? raw;
    if (!allowed.includes(name)) throw invalid(parameter, `unknown key "${raw.slice(0, 64)}"; use ${allowed.join(', ')}`);
    if (out.includes(name as InsightDimension)) throw invalid(parameter, `${name} given twice`);
    out.push(name as InsightDimension);
  }
  if (out.length === 0) return fallback as InsightDimension[];
  if (out.length > max) throw invalid(parameter, `at most ${max} keys`);
  return out;
}

/** The caller's scope applied: filters narrowed to visible product lines (never widened). */
export type Scoped = { filters: Filters; scope?: string[] };
export function scoped(principal: Principal | undefined, filters: Filters): Scoped {
  const r = scopedQuery(principal, filters as Partial<Record<Dimension, string[]>>);
  return { filters: r.filters as Filters, scope: r.scope };
}

export type Window = ParsedWindow;
export { parseWindow };

const iso = (ms: number) => new Date(ms).toISOString();

/** What an answer was computed from, so a reader can check it. */
export function inputs(window: Window, filters: Filters, extra: Record<string, unknown> = {}) {
  return { from: iso(window.from), to: iso(window.to), tz: window.tz, filters, ...extra };
}

/** Identity of a request for the cache: the resolved window, the filters and the other parameters. */
export function cacheIdentity(path: string, window: Window, rest: Record<string, unknown>) {
  return { path, window: [window.from, window.to], tz: window.tz, ...rest };
}
