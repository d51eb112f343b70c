// Decides, item by item, whether a posted item becomes a ledger row or a quarantine record.
// Nothing is dropped: every item that is not accepted leaves a quarantine record with its reason.
import { createHash } from 'node:crypto';
import { eventSchema, foldAliases, knownFields, looksLikeEmail, redactEmails, toRow, type CostEvent, type CostEventRow } from './schema.js';

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

function quarantine(index: number, receivedAt: string, disposition: Disposition, reason: string, errors: string[], payload: string, item?: Record<string, unknown>): Classified {
  const stored = redactEmails(payload).slice(0, MAX_PAYLOAD_CHARS);
  const str = (v: unknown) => (typeof v === 'string' ? redactEmails(v).slice(0, 256) : '');
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
      errors: errors.map(redactEmails),
      payload: stored,
    },
  };
}

/** Only known fields are kept for the record: an unknown field could carry prompt text. */
function storablePayload(folded: Record<string, unknown>, unknown: string[]): string {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(folded)) kept[k] = knownFields.has(k) ? v : '[dropped]';
  for (const k of ['customer_id', 'user_id']) if (looksLikeEmail(kept[k])) kept[k] = '[redacted-email]';
  return JSON.stringify(kept, (k, v) => (unknown.includes(k) ? '[dropped]' : v));
}

/** A check a valid event must also pass (e.g. the governed taxonomy); returns why it is held back. */
export type Admission = (e: CostEvent) => { reason: string; message: string } | undefined;

export function classify(raw: RawItem, index: number, receivedAt: string, admit?: Admission): Classified {
  if ('unparsable' in raw) return quarantine(index, receivedAt, 'rejected', 'invalid_json', [raw.error], raw.unparsable);
  const value = raw.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return quarantine(index, receivedAt, 'rejected', 'not_an_object', ['each event must be a JSON object'], JSON.stringify(value) ?? 'undefined');
  }
  const { folded, conflicts } = foldAliases(value as Record<string, unknown>);
  const unknown = Object.keys(folded).filter((k) => !knownFields.has(k));
  // Serialized only for items that end up in quarantine: accepted events never pay for it.
  const reject = (disposition: Disposition, reason: string, errors: string[]) =>
    quarantine(index, receivedAt, disposition, reason, errors, storablePayload(folded, unknown), folded);

  const personal = ['customer_id', 'user_id'].filter((k) => looksLikeEmail(folded[k]));
  if (personal.length > 0) {
    const errors = personal.map((k) => `${k}: looks like an email address; send an opaque id (e.g. a hash) instead`);
    return reject('rejected', 'personal_data', errors);
  }
  if (unknown.length > 0) {
    const errors = unknown.map((k) => `${k}: unknown field (put extra tags in attributes; prompt and completion text are never stored)`);
    return reject('rejected', 'unknown_field', errors);
  }
  if (conflicts.length > 0) return reject('rejected', 'invalid_event', conflicts);

  const parsed = eventSchema.safeParse(folded);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`);
    return reject('rejected', 'invalid_event', errors);
  }
  if (!parsed.data.product_line_id) {
    // Fail closed: an event nobody pays for is kept aside, not counted.
    return reject('quarantined', 'missing_product_line', ['product_line_id: required to attribute the cost']);
  }
  const refused = admit?.(parsed.data);
  if (refused) return reject('quarantined', refused.reason, [refused.message]);
  return { kind: 'event', index, event: parsed.data, row: toRow(parsed.data, receivedAt) };
}
