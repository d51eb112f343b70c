// Request bodies for POST /events: JSON (object with `events` or a bare array), NDJSON, and gzip
// of either. Size limits apply to the decompressed bytes, so a gzip bomb stops at MAX_BODY_BYTES.
import { isUtf8 } from 'node:buffer';
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, preParsingHookHandler } from 'fastify';
import { ApiError } from '../errors.js';
import { shiftDecimal } from '../pricing/decimal.js';
import type { RawItem } from './classify.js';

export const ndjsonTypes = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];

/** A line of NDJSON that is not JSON: kept as an item so it is reported and quarantined, not lost. */
export class UnparsableLine {
  constructor(readonly text: string, readonly error: string) {}
}

// A money field's JSON number token, as written: `"cost_usd": 12.5`. Inside a JSON string every
// quote is escaped, so `"cost_usd"` followed by a colon can only be a key (or the tail of a key
// that contains an escaped quote, which is an unknown field either way).
const moneyNumber = /("(?:cost_usd|revenue_usd|cost\.usd|quantity)"\s*:\s*)(-?)(\d+(?:\.\d+)?)(?:[eE]([+-]?\d{1,4}))?(?=\s*[,}\]\r\n]|\s*$)/g;

/**
 * Event JSON with the numbers of its money fields turned into decimal strings of exactly the
 * value written, before JSON.parse turns them into floats: 123456.123456789012 stays exactly that
 * (as a float it reads back 123456.123456789), 1.5e-7 (as JSON.stringify writes 0.00000015) is
 * "0.00000015", and 0.30000000000000004 or 1e-13 meet the decimal-string rules (at most 12
 * places) instead of being rounded. Text without such a field is returned as it is.
 */
export function quoteMoneyNumbers(text: string): string {
  if (!text.includes('_usd"') && !text.includes('"quantity"') && !text.includes('"cost.usd"')) return text;
  return text.replace(moneyNumber, (_all, key: string, sign: string, digits: string, exponent?: string) =>
    `${key}"${sign}${exponent === undefined ? digits : shiftDecimal(digits, Number(exponent))}"`);
}

export function registerNdjsonParser(app: FastifyInstance): void {
  app.addContentTypeParser(ndjsonTypes, { parseAs: 'buffer' }, (_req, bytes, done) => {
    // As for JSON bodies (json-body.ts): decoding bytes that are not UTF-8 would store U+FFFD.
    if (!isUtf8(bytes as Buffer)) return done(new ApiError(400, 'invalid_json', 'the NDJSON body is not valid UTF-8'), undefined);
    const items: unknown[] = [];
    for (const line of (bytes as Buffer).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        items.push(JSON.parse(quoteMoneyNumbers(line)));
      } catch (err) {
        items.push(new UnparsableLine(line, `invalid JSON: ${(err as Error).message}`));
      }
    }
    done(null, items);
  });
}

export const gunzipBody: preParsingHookHandler = async (request, _reply, payload) => {
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding === 'identity') return payload;
  if (encoding !== 'gzip') throw new ApiError(415, 'unsupported_content_encoding', `Content-Encoding ${encoding} is not supported; use gzip or none`);
  const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
  // Fastify compares Content-Length with the encoded byte count, and the limit with both.
  gunzip.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => (gunzip.receivedEncodedLength += chunk.length));
  payload.on('error', (err) => gunzip.destroy(err));
  // When the body is never read (a refused content type), nobody else listens: a corrupt stream
  // must not become an uncaught error. When it is read, Fastify's own listener answers 400.
  gunzip.on('error', () => undefined);
  return payload.pipe(gunzip);
};

/** The posted items, whatever the body format; anything else is not a batch. */
export function batchItems(body: unknown): RawItem[] {
  const list = Array.isArray(body) ? body : body && typeof body === 'object' && Array.isArray((body as { events?: unknown }).events) ? (body as { events: unknown[] }).events : undefined;
  if (!list) throw new ApiError(400, 'not_a_batch', 'the body must be {"events":[...]}, a JSON array of events, or NDJSON (one event per line)');
  return list.map((v) => (v instanceof UnparsableLine ? { unparsable: v.text, error: v.error } : { value: v }));
}
