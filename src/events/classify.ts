// Decides, item by item, whether a posted item becomes a ledger row or a quarantine record.
// Nothing is dropped: every item that is not accepted leaves a quarantine record with its reason.
import { createHash } from 'node:crypto';
import { depthExceeds, toWellFormed, truncateDepth } from '../json-body.js';
import { fromUnits, toUnits } from '../pricing/decimal.js';
import { fastParse } from './fast-parse.js';
import { findPersonalData, personalDataIn, personalDataMessage, redactPersonalData, scrubPersonalData, type PersonalKind } from './personal-data.js';
import { eventSchema, foldAliases, knownFields, toRow, type CostEvent, type CostEventRow } from './schema.js';

export type RawItem = { value: unknown } | { unparsable: string; error: string };

export type Disposition = 'quarantined' | 'rejected';
export type QuarantineRecord = {
  quarantine_id: string;
  received_at: string;
  event_id: string;
  product_line_id: string;
  disposition: Disposition;
  reason: string;
  errors: string[];
  payload: string;
};

export type Classified =
  | { kind: 'event'; index: number; event: CostEvent; row: CostEventRow }
  | { kind: 'quarantine'; index: number; record: QuarantineRecord };

const MAX_PAYLOAD_CHARS = 65_536;
/** An event is an object of scalars, with `usage` and `attributes` one level down: depth 2. */
export const ITEM_MAX_DEPTH = 8;
/** The default per-event money ceiling (MAX_EVENT_COST_USD). */
export const DEFAULT_MAX_EVENT_COST_USD = '1000000';

/** Per-event limits that come from configuration. */
export type ItemLimits = { maxEventCostUsd?: string };

// Fields whose values are enums, timestamps, money or counts: not ids, never personal data.
const notIdentifying = new Set(['timestamp', 'type', 'environment', 'status', 'unit', 'cost_usd', 'revenue_usd', 'quantity',
  'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'duration_ms', 'attempt']);

function quarantine(index: number, receivedAt: string, disposition: Disposition, reason: string, errors: string[], payload: string, item?: Record<string, unknown>): Classified {
  // Stored text is well-formed Unicode (a lone surrogate, or a pair cut by the slice, is replaced).
  const stored = toWellFormed(redactPersonalData(payload).slice(0, MAX_PAYLOAD_CHARS));
  const str = (v: unknown) => (typeof v === 'string' ? toWellFormed(redactPersonalData(v).slice(0, 256)) : '');
  return {
    kind: 'quarantine',
    index,
    record: {
      quarantine_id: createHash('sha256').update(`${reason}\n${stored}`).digest('hex').slice(0, 32),
      received_at: receivedAt,
      event_id: str(item?.event_id),
      product_line_id: str(item?.product_line_id),
      disposition,
      reason,
      errors: errors.map((e) => toWellFormed(redactPersonalData(e))),
      payload: stored,
    },
  };
}

/**
 * Only known fields are kept for the record (an unknown field could carry prompt text), and every
 * email, phone or card number is replaced by a marker. Depth is already bounded by classify.
 */
function storablePayload(folded: Record<string, unknown>): string {
  const kept: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(folded)) {
    if (knownFields.has(k)) kept[k] = scrubPersonalData(v);
    // An unknown field's name is kept (it says what was refused) unless it is personal data itself.
    else kept[redactPersonalData(k) === k ? k : `[redacted-field-${++n}]`] = '[dropped]';
  }
  return JSON.stringify(kept);
}

/** Does any object under `value` (depth-checked already) have an own "__proto__" key? */
function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, '__proto__')) return true;
  for (const child of Object.values(value)) if (child !== null && typeof child === 'object' && hasProtoKey(child)) return true;
  return false;
}

// Dimensions take few values, repeated event after event (a model name with a date in it costs a
// pattern scan each time): their verdicts are remembered, up to a bound. Ids are checked each time.
const fewValues = new Set(['product_line_id', 'agent_id', 'agent_version', 'step_name', 'segment', 'intent', 'feature', 'feature_flag',
  'priority_tier', 'prompt_version', 'provider', 'model', 'tool']);
const verdicts = new Map<string, PersonalKind | null>();
function rememberedPersonalDataIn(s: string): PersonalKind | undefined {
  let kind = verdicts.get(s);
  if (kind === undefined) {
    kind = personalDataIn(s) ?? null;
    if (verdicts.size >= 10_000) verdicts.clear();
    verdicts.set(s, kind);
  }
  return kind ?? undefined;
}

/** Personal data in id fields, dimensions and attributes, as one message per field. */
function personalDataErrors(folded: Record<string, unknown>): string[] {
  let errors: string[] | undefined;
  for (const k in folded) {
    if (!knownFields.has(k) || notIdentifying.has(k)) continue;
    const v = folded[k];
    let found: { path: string; kind: PersonalKind }[];
    if (typeof v === 'string') {
      const kind = fewValues.has(k) ? rememberedPersonalDataIn(v) : personalDataIn(v);
      if (!kind) continue;
      found = [{ path: k, kind }];
    } else {
      found = findPersonalData(v, k);
    }
    for (const f of found) (errors ??= []).push(`${f.path}: ${personalDataMessage(f.kind)}`);
  }
  return errors ?? [];
}

/** A check a valid event must also pass (e.g. the governed taxonomy); returns why it is held back. */
export type Admission = (e: CostEvent) => { reason: string; message: string } | undefined;

export function classify(raw: RawItem, index: number, receivedAt: string, admit?: Admission, limits: ItemLimits = {}): Classified {
  if ('unparsable' in raw) return quarantine(index, receivedAt, 'rejected', 'invalid_json', [raw.error], raw.unparsable);
  const value = raw.value;
  // First, before anything walks the item: nesting is bounded (a 5,000-deep array is one rejected item).
  if (depthExceeds(value, ITEM_MAX_DEPTH)) {
    const shown = JSON.stringify(scrubPersonalData(truncateDepth(value, ITEM_MAX_DEPTH)));
    const item = !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    return quarantine(index, receivedAt, 'rejected', 'too_deep', [`the item is nested more than ${ITEM_MAX_DEPTH} levels deep`], shown, item && (scrubPersonalData(truncateDepth(item, 1)) as Record<string, unknown>));
  }
  // JSON.parse keeps a "__proto__" key as an own property; copying it (folding aliases) would set a
  // prototype and smuggle in inherited fields. Fastify refuses such JSON bodies; NDJSON lines and
  // direct callers get the same answer here, item by item.
  if (hasProtoKey(value)) return quarantine(index, receivedAt, 'rejected', 'invalid_json', ['a "__proto__" key is not allowed'], '"[dropped]"');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return quarantine(index, receivedAt, 'rejected', 'not_an_object', ['each event must be a JSON object'], JSON.stringify(scrubPersonalData(value)) ?? 'undefined');
  }
  const { folded, conflicts } = foldAliases(value as Record<string, unknown>);
  const unknown = Object.keys(folded).filter((k) => !knownFields.has(k));
  // Serialized only for items that end up in quarantine: accepted events never pay for it.
  const reject = (disposition: Disposition, reason: string, errors: string[]) =>
    quarantine(index, receivedAt, disposition, reason, errors, storablePayload(folded), scrubPersonalData(folded) as Record<string, unknown>);

  const personal = personalDataErrors(folded);
  if (personal.length > 0) return reject('rejected', 'personal_data', personal);
  if (unknown.length > 0) {
    const errors = unknown.map((k) => `${k}: unknown field (put extra tags in attributes; prompt and completion text are never stored)`);
    return reject('rejected', 'unknown_field', errors);
  }
  if (conflicts.length > 0) return reject('rejected', 'invalid_event', conflicts);

  let event = fastParse(folded);
  if (!event) {
    const parsed = eventSchema.safeParse(folded);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`);
      return reject('rejected', 'invalid_event', errors);
    }
    event = parsed.data;
  }
  const ceiling = toUnits(limits.maxEventCostUsd ?? DEFAULT_MAX_EVENT_COST_USD);
  const overCeiling: string[] = [];
  for (const field of ['cost_usd', 'revenue_usd'] as const) {
    const amount = event[field];
    if (amount === undefined) continue;
    const units = toUnits(amount);
    if (units > ceiling) overCeiling.push(`${field}: ${amount} is over the per-event ceiling of ${fromUnits(ceiling)} USD (MAX_EVENT_COST_USD)`);
    else event[field] = fromUnits(units);
  }
  if (overCeiling.length > 0) return reject('rejected', 'cost_out_of_range', overCeiling);
  if (!event.product_line_id) {
    // Fail closed: an event nobody pays for is kept aside, not counted.
    return reject('quarantined', 'missing_product_line', ['product_line_id: required to attribute the cost']);
  }
  const refused = admit?.(event);
  if (refused) return reject('quarantined', refused.reason, [refused.message]);
  return { kind: 'event', index, event, row: toRow(event, receivedAt) };
}

/**
 * Quarantine an event that passed classify but was priced over the ceiling (a price book error,
 * not the client's): kept with the canonical event as payload, so a replay after the fix prices it again.
 */
export function quarantinePriced(c: Extract<Classified, { kind: 'event' }>, receivedAt: string, limits: ItemLimits = {}): Classified | undefined {
  const ceiling = toUnits(limits.maxEventCostUsd ?? DEFAULT_MAX_EVENT_COST_USD);
  const over = (['cost_usd', 'list_cost_usd'] as const).filter((f) => toUnits(c.row[f]) > ceiling);
  if (over.length === 0) return undefined;
  const errors = over.map((f) => `${f}: priced at ${c.row[f]} (${c.row.price_version}), over the per-event ceiling of ${fromUnits(ceiling)} USD (MAX_EVENT_COST_USD); check the price book, then replay`);
  return quarantine(c.index, receivedAt, 'quarantined', 'cost_out_of_range', errors, JSON.stringify(c.event), c.event as Record<string, unknown>);
}
