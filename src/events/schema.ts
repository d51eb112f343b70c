// The canonical cost event (v1): aliases folded in, validated by zod, then turned into a row.
// Token rule: input_tokens INCLUDES cache_read_tokens and cache_write_tokens, and output_tokens
// INCLUDES reasoning_tokens (OpenAI / OTel GenAI semantics), so each bucket is priced once.
import { z } from 'zod';
import { toClickHouseTime } from '../clickhouse-time.js';
import { isWellFormed } from '../json-body.js';
import { numberToDecimalString } from '../pricing/decimal.js';

export const eventTypes = ['llm', 'tool', 'compute', 'vector_db', 'payment', 'human_escalation', 'infrastructure', 'outcome'] as const;
export const environments = ['production', 'staging', 'development'] as const;
export const statuses = ['success', 'error', 'timeout', 'cancelled', 'retry', 'failure'] as const;
export const units = ['characters', 'seconds', 'calls', 'requests', 'gpu_hours', 'cpu_core_hours', 'gb_hours'] as const;

// Control characters are refused in every string; everything else is stored verbatim.
export const noControlChars = /^[^\u0000-\u001f\u007f]*$/;
export const text = (max: number) =>
  z.string().max(max, `at most ${max} characters`).regex(noControlChars, 'control characters are not allowed')
    .refine(isWellFormed, 'must be valid Unicode (a lone surrogate such as \\ud800 is not text)');
export const productLinePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const eventIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
export const productLineId = z.string().regex(productLinePattern, 'must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit');
const id = text(256);
const dimension = text(256);
// Per-event ceilings that keep every sum in range (docs/hardening.md): a token bucket ≤ 10^9, so a
// UInt64 sum holds ≥ 9·10^9 events of the largest size; a quantity ≤ 10^12, so a Decimal(38,12)
// sum holds ≥ 1.7·10^14 of them. Money has a configurable ceiling, checked in classify.ts.
export const MAX_EVENT_TOKENS = 1_000_000_000;
export const MAX_EVENT_QUANTITY_DIGITS = 12;
const tokens = z.number().int('must be an integer').min(0, 'must be ≥ 0').max(MAX_EVENT_TOKENS, `at most ${MAX_EVENT_TOKENS} per event`);
const count = z.number().int('must be an integer').min(0, 'must be ≥ 0').max(Number.MAX_SAFE_INTEGER);
export const decimalPattern = (integerDigits: number) => new RegExp(`^\\d{1,${integerDigits}}(\\.\\d{1,12})?$`);
/**
 * Whether a JSON number is the decimal its sender wrote: a literal of at most 15 significant digits
 * reads back exactly as its shortest form, a longer one may not (123456.123456789012 parses to
 * 123456.12345678901, 0.1234567890125 would round at 12 places). Longer amounts must be strings.
 */
export const exactNumber = (v: number) =>
  Number.isFinite(v) && numberToDecimalString(Math.abs(v)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length <= 15;
/** A decimal as text: a number in its shortest exact form (no exponent), a string trimmed. */
export const decimalText = (v: string | number) => (typeof v === 'number' ? numberToDecimalString(v) : v.trim());
/** A non-negative decimal: a string, or a JSON number that is the decimal its sender wrote, as text. */
export const decimal = (integerDigits: number, message: string) => z
  .union([z.string(), z.number().finite().refine(exactNumber, 'a JSON number of more than 15 significant digits is not exact: send the amount as a decimal string')])
  .transform(decimalText)
  .pipe(z.string().regex(decimalPattern(integerDigits), message));
// Money: a decimal string (preferred) or a JSON number; at most 12 decimal places, never negative
// here. Up to 40 digits parse, so an amount over the ceiling is refused as cost_out_of_range.
const money = decimal(40, 'must be a non-negative decimal with at most 12 decimal places');
const quantity = decimal(MAX_EVENT_QUANTITY_DIGITS, `must be a non-negative decimal below 10^${MAX_EVENT_QUANTITY_DIGITS} with at most 12 decimal places`);

// Unknown fields are caught before parsing (classify.ts) with a reason of their own, so the
// hot path uses a plain object; the documented schema is the strict one.
const eventObject = z.object({
    event_id: z.string().regex(eventIdPattern, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -'),
    timestamp: z.iso.datetime({ offset: true, message: 'must be ISO-8601 with a time zone offset, e.g. 2026-01-31T12:00:00Z' }),
    type: z.enum(eventTypes),
    product_line_id: productLineId.optional(),
    environment: z.enum(environments).default('production'),
    workflow_id: id.optional(),
    run_id: id.optional(),
    parent_run_id: id.optional(),
    trace_id: id.optional(),
    span_id: id.optional(),
    parent_span_id: id.optional(),
    agent_id: dimension.optional(),
    agent_version: dimension.optional(),
    step_name: dimension.optional(),
    customer_id: id.optional(),
    user_id: id.optional(),
    segment: dimension.optional(),
    intent: dimension.optional(),
    feature: dimension.optional(),
    feature_flag: dimension.optional(),
    priority_tier: dimension.optional(),
    prompt_version: dimension.optional(),
    provider: dimension.optional(),
    model: dimension.optional(),
    tool: dimension.optional(),
    input_tokens: tokens.optional(),
    output_tokens: tokens.optional(),
    cache_read_tokens: tokens.optional(),
    cache_write_tokens: tokens.optional(),
    reasoning_tokens: tokens.optional(),
    quantity: quantity.optional(),
    unit: z.enum(units).optional(),
    duration_ms: count.optional(),
    cost_usd: money.optional(),
    revenue_usd: money.optional(),
    status: z.enum(statuses).default('success'),
    attempt: z.number().int().min(1).max(65535).optional(),
    retry_of: id.optional(),
    attributes: z
      .record(text(128).min(1), text(1024))
      .refine((a) => Object.keys(a).length <= 64, 'at most 64 attributes')
      .optional(),
});
export const eventDocSchema = eventObject.strict();

/** The rules across fields, as [field, message] pairs; the fast path (fast-parse.ts) applies the same. */
export function crossFieldIssues(e: z.output<typeof eventObject>): [string, string][] {
  const issues: [string, string][] = [];
  if ((e.cache_read_tokens ?? 0) + (e.cache_write_tokens ?? 0) > (e.input_tokens ?? 0)) {
    issues.push(['input_tokens', 'input_tokens must include cache_read_tokens and cache_write_tokens (OpenAI/OTel semantics); add them to input_tokens']);
  }
  if ((e.reasoning_tokens ?? 0) > (e.output_tokens ?? 0)) issues.push(['output_tokens', 'output_tokens must include reasoning_tokens']);
  if ((e.quantity === undefined) !== (e.unit === undefined)) issues.push(['unit', 'quantity and unit go together']);
  if (e.status === 'failure' && e.type !== 'outcome') issues.push(['status', 'status "failure" is only for outcome events']);
  if (e.revenue_usd !== undefined && e.type !== 'outcome') issues.push(['revenue_usd', 'revenue_usd is only for outcome events']);
  const t = Date.parse(e.timestamp);
  if (t < Date.UTC(2000, 0, 1) || t > Date.now() + 24 * 3600 * 1000) issues.push(['timestamp', 'must be 2000-01-01T00:00:00Z or later and at most 24 hours in the future']);
  return issues;
}

export const eventSchema = eventObject.superRefine((e, ctx) => {
  for (const [path, message] of crossFieldIssues(e)) ctx.addIssue({ code: 'custom', path: [path], message });
});

export type CostEvent = z.output<typeof eventSchema>;
export const knownFields = new Set(Object.keys(eventObject.shape));
/** The pattern zod checks timestamps against (ISO-8601 with Z or an offset, real calendar dates). */
export const timestampPattern = (eventObject.shape.timestamp as unknown as { _zod: { def: { pattern: RegExp } } })._zod.def.pattern;

// Seed-style and OTLP aliases; each maps to exactly one canonical field.
export const aliases: Record<string, string> = {
  intent_category: 'intent',
  customer_segment: 'segment',
  product_line: 'product_line_id',
  'agent.id': 'agent_id',
  'agent.version': 'agent_version',
  'tokens.input': 'input_tokens',
  'tokens.output': 'output_tokens',
  'tokens.cache_read': 'cache_read_tokens',
  'tokens.cache_write': 'cache_write_tokens',
  'tokens.reasoning': 'reasoning_tokens',
  'cost.usd': 'cost_usd',
  'gen_ai.request.model': 'model',
  'gen_ai.provider.name': 'provider',
  'gen_ai.system': 'provider',
  'gen_ai.usage.input_tokens': 'input_tokens',
  'gen_ai.usage.output_tokens': 'output_tokens',
};
const usageFields = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'quantity', 'unit'];

/**
 * Fold aliases and a nested `usage` object into canonical top-level fields. Returns the folded
 * object and any conflicts (the same field given twice with different values, or a malformed usage).
 */
export function foldAliases(item: Record<string, unknown>): { folded: Record<string, unknown>; conflicts: string[] } {
  const folded: Record<string, unknown> = {};
  const conflicts: string[] = [];
  const put = (field: string, value: unknown, from: string) => {
    if (field in folded && JSON.stringify(folded[field]) !== JSON.stringify(value)) {
      conflicts.push(`${from}: conflicts with ${field}`);
      return;
    }
    folded[field] = value;
  };
  for (const [key, value] of Object.entries(item)) {
    if (value === undefined) continue;
    if (key === 'usage' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (usageFields.includes(k)) put(k, v, `usage.${k}`);
        else put(`usage.${k}`, v, `usage.${k}`);
      }
    } else if (key === 'usage') conflicts.push('usage: must be an object such as {"input_tokens":100,"output_tokens":20}');
    else put(aliases[key] ?? key, value, key);
  }
  return { folded, conflicts };
}

// An opaque id that is an email address is personal data: refused and never stored in clear.
const emailLike = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}/g;
const emailInside = new RegExp(emailLike.source);
export const looksLikeEmail = (v: unknown) => typeof v === 'string' && v.includes('@') && emailInside.test(v);
export const redactEmails = (s: string) => s.replace(emailLike, '[redacted-email]');

export type CostEventRow = ReturnType<typeof toRow>;

// A validated timestamp in UTC with 0-3 fractional digits is already the ClickHouse text but for
// the T and Z; anything else (offsets, more digits) goes through Date. Validation checked the calendar.
const utcMillis = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?Z$/;
function utcToClickHouseTime(timestamp: string): string {
  const m = utcMillis.exec(timestamp);
  return m ? `${m[1]} ${m[2]}.${(m[3] ?? '').padEnd(3, '0')}` : toClickHouseTime(timestamp);
}

/** The cost_events row for a validated event; price columns are filled by the pricing step. */
export function toRow(e: CostEvent, receivedAt: string) {
  const reported = e.cost_usd !== undefined;
  return {
    event_id: e.event_id,
    timestamp: utcToClickHouseTime(e.timestamp),
    received_at: receivedAt,
    type: e.type,
    product_line_id: e.product_line_id ?? '',
    environment: e.environment,
    workflow_id: e.workflow_id ?? '',
    run_id: e.run_id ?? '',
    parent_run_id: e.parent_run_id ?? '',
    trace_id: e.trace_id ?? '',
    span_id: e.span_id ?? '',
    parent_span_id: e.parent_span_id ?? '',
    agent_id: e.agent_id ?? '',
    agent_version: e.agent_version ?? '',
    step_name: e.step_name ?? '',
    customer_id: e.customer_id ?? '',
    user_id: e.user_id ?? '',
    segment: e.segment ?? '',
    intent: e.intent ?? '',
    feature: e.feature ?? '',
    feature_flag: e.feature_flag ?? '',
    priority_tier: e.priority_tier ?? '',
    prompt_version: e.prompt_version ?? '',
    provider: e.provider ?? '',
    model: e.model ?? '',
    tool: e.tool ?? '',
    input_tokens: e.input_tokens ?? 0,
    output_tokens: e.output_tokens ?? 0,
    cache_read_tokens: e.cache_read_tokens ?? 0,
    cache_write_tokens: e.cache_write_tokens ?? 0,
    reasoning_tokens: e.reasoning_tokens ?? 0,
    quantity: e.quantity ?? '0',
    unit: e.unit ?? '',
    duration_ms: e.duration_ms ?? 0,
    cost_usd: e.cost_usd ?? '0',
    list_cost_usd: e.cost_usd ?? '0',
    cost_source: (reported ? 'reported' : 'unpriced') as 'reported' | 'priced' | 'unpriced',
    price_version: '',
    revenue_usd: e.revenue_usd ?? '0',
    status: e.status,
    attempt: e.attempt ?? 1,
    retry_of: e.retry_of ?? '',
    attributes: e.attributes ?? {},
  };
}
