// OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions: ids are hex, enums are integers,
// 64-bit integers may be strings) into the same span shape the protobuf reader produces.
import { MAX_VALUE_DEPTH, OtlpDecodeError, type Attributes, type AttrValue, type OtlpSpan } from './spans.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown, what: string): unknown[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${what} must be an array`);
  return v;
};
// Receivers accept the proto field names too (the spec's JSON mapping allows both).
const field = (o: Obj, camel: string, snake: string) => (o[camel] !== undefined ? o[camel] : o[snake]);

const hexId = (v: unknown, bytes: number): string => (typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(v) ? v.toLowerCase() : typeof v === 'string' && v === '' ? '' : v === undefined ? '' : 'invalid');

function int64(v: unknown): number | string | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
    const n = BigInt(v);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : v;
  }
  return undefined;
}

function nanos(v: unknown): bigint {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.trunc(v));
  return 0n;
}

function anyValue(v: unknown, depth: number): AttrValue | undefined {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`attribute values nested deeper than ${MAX_VALUE_DEPTH}`);
  if (!isObj(v)) return undefined;
  const s = field(v, 'stringValue', 'string_value');
  if (typeof s === 'string') return s;
  const b = field(v, 'boolValue', 'bool_value');
  if (typeof b === 'boolean') return b;
  const i = field(v, 'intValue', 'int_value');
  if (i !== undefined) return int64(i);
  const d = field(v, 'doubleValue', 'double_value');
  if (typeof d === 'number') return d;
  if (typeof d === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(d)) return Number(d);
  // Arrays and maps are walked only to bound their depth; their content is never used.
  const arr = field(v, 'arrayValue', 'array_value');
  if (isObj(arr)) for (const item of list(arr.values, 'arrayValue.values')) anyValue(item, depth + 1);
  const kv = field(v, 'kvlistValue', 'kvlist_value');
  if (isObj(kv)) for (const item of list(kv.values, 'kvlistValue.values')) if (isObj(item)) anyValue(item.value, depth + 1);
  return undefined;
}

function attributes(v: unknown, what: string): Attributes {
  const out: Attributes = new Map();
  for (const kv of list(v, what)) {
    if (!isObj(kv) || typeof kv.key !== 'string' || kv.key === '') continue;
    const value = anyValue(kv.value, 0);
    if (value !== undefined) out.set(kv.key, value);
  }
  return out;
}

/** Decode a parsed OTLP/JSON ExportTraceServiceRequest. */
export function decodeTraceJson(body: unknown): OtlpSpan[] {
  if (!isObj(body)) throw new OtlpDecodeError('the body must be an OTLP ExportTraceServiceRequest object ({"resourceSpans":[...]})');
  const spans: OtlpSpan[] = [];
  for (const rs of list(field(body, 'resourceSpans', 'resource_spans'), 'resourceSpans')) {
    if (!isObj(rs)) throw new OtlpDecodeError('each resourceSpans item must be an object');
    const res = rs.resource;
    const resource = isObj(res) ? attributes(res.attributes, 'resource.attributes') : new Map<string, AttrValue>();
    for (const ss of list(field(rs, 'scopeSpans', 'scope_spans'), 'scopeSpans')) {
      if (!isObj(ss)) throw new OtlpDecodeError('each scopeSpans item must be an object');
      for (const sp of list(ss.spans, 'spans')) {
        if (!isObj(sp)) throw new OtlpDecodeError('each span must be an object');
        const status = sp.status;
        const code = isObj(status) ? status.code : undefined;
        spans.push({
          traceId: hexId(field(sp, 'traceId', 'trace_id'), 16),
          spanId: hexId(field(sp, 'spanId', 'span_id'), 8),
          parentSpanId: hexId(field(sp, 'parentSpanId', 'parent_span_id'), 8),
          name: typeof sp.name === 'string' ? sp.name : '',
          startNs: nanos(field(sp, 'startTimeUnixNano', 'start_time_unix_nano')),
          endNs: nanos(field(sp, 'endTimeUnixNano', 'end_time_unix_nano')),
          statusCode: typeof code === 'number' ? code : code === 'STATUS_CODE_ERROR' ? 2 : code === 'STATUS_CODE_OK' ? 1 : 0,
          attributes: attributes(sp.attributes, 'span.attributes'),
          resource,
        });
      }
    }
  }
  return spans;
}
