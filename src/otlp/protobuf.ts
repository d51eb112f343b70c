// A minimal protobuf reader for ExportTraceServiceRequest (opentelemetry/proto/collector/trace/v1)
// and the writer for its response. The wire format is small and fixed, so a hand reader is faster
// and safer than a generated one: unknown fields are skipped, every length is bounds-checked.
import { int64Value, MAX_VALUE_DEPTH, OtlpDecodeError, type Attributes, type AttrValue, type OtlpSpan } from './spans.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos: number;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new OtlpDecodeError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new OtlpDecodeError('varint longer than 10 bytes');
  }

  /** Tags and lengths: small varints read without BigInt. */
  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new OtlpDecodeError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new OtlpDecodeError('length or tag out of range');
  }

  fixed64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field: returns [start, end) and moves past it. */
  bytes(): [number, number] {
    const len = this.uint32();
    this.need(len);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.bytes();
    try {
      return decoder.decode(this.buf.subarray(s, e));
    } catch {
      throw new OtlpDecodeError('a string field is not valid UTF-8');
    }
  }

  hex(): string {
    const [s, e] = this.bytes();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('hex');
  }

  sub(): Reader {
    const [s, e] = this.bytes();
    return new Reader(this.buf, s, e);
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.need(8), (this.pos += 8);
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.need(4), (this.pos += 4);
    else throw new OtlpDecodeError(`unsupported wire type ${wireType}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new OtlpDecodeError('truncated message');
  }

  /** Iterate fields: calls fn(fieldNumber, wireType) which must consume the field or return false. */
  fields(fn: (field: number, wire: number) => boolean): void {
    while (!this.done()) {
      const tag = this.uint32();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 0) throw new OtlpDecodeError('field number 0');
      if (!fn(field, wire)) this.skip(wire);
    }
  }
}

/** AnyValue: primitives kept, arrays / maps / bytes skipped (never attribution or cost values). */
function anyValue(r: Reader, depth: number): AttrValue | undefined {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`attribute values nested deeper than ${MAX_VALUE_DEPTH}`);
  let value: AttrValue | undefined;
  r.fields((f, w) => {
    if (f === 1 && w === 2) value = r.string();
    else if (f === 2 && w === 0) value = r.varint() !== 0n;
    else if (f === 3 && w === 0) value = int64Value(BigInt.asIntN(64, r.varint()));
    else if (f === 4 && w === 1) value = r.double();
    else if ((f === 5 || f === 6) && w === 2) {
      // Walk nested values only to bound their depth; the content is dropped.
      const inner = r.sub();
      inner.fields((g, gw) => {
        if (g === 1 && gw === 2) {
          const item = inner.sub();
          if (f === 5) anyValue(item, depth + 1);
          else keyValue(item, depth + 1);
          return true;
        }
        return false;
      });
      value = undefined;
    } else return false;
    return true;
  });
  return value;
}

function keyValue(r: Reader, depth: number): [string, AttrValue | undefined] {
  let key = '';
  let value: AttrValue | undefined;
  r.fields((f, w) => {
    if (f === 1 && w === 2) key = r.string();
    else if (f === 2 && w === 2) value = anyValue(r.sub(), depth);
    else return false;
    return true;
  });
  return [key, value];
}

function attribute(r: Reader, into: Attributes): void {
  const [key, value] = keyValue(r, 0);
  if (key !== '' && value !== undefined) into.set(key, value);
}

function span(r: Reader, resource: Attributes): OtlpSpan {
  const s: OtlpSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', startNs: 0n, endNs: 0n, statusCode: 0, attributes: new Map(), resource };
  r.fields((f, w) => {
    if (f === 1 && w === 2) s.traceId = r.hex();
    else if (f === 2 && w === 2) s.spanId = r.hex();
    else if (f === 4 && w === 2) s.parentSpanId = r.hex();
    else if (f === 5 && w === 2) s.name = r.string();
    else if (f === 7 && w === 1) s.startNs = r.fixed64();
    else if (f === 8 && w === 1) s.endNs = r.fixed64();
    else if (f === 9 && w === 2) attribute(r.sub(), s.attributes);
    else if (f === 15 && w === 2) {
      const st = r.sub();
      st.fields((g, gw) => (g === 3 && gw === 0 ? ((s.statusCode = Number(st.varint())), true) : false));
    } else return false;
    return true;
  });
  return s;
}

/** Decode an ExportTraceServiceRequest into spans, each carrying its resource's attributes. */
export function decodeTraceRequest(buf: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const r = new Reader(buf);
  r.fields((f, w) => {
    if (f !== 1 || w !== 2) return false;
    const rs = r.sub();
    // The resource may come after the scope spans on the wire: collect both, then join.
    const resource: Attributes = new Map();
    const scopes: Reader[] = [];
    rs.fields((g, gw) => {
      if (g === 1 && gw === 2) {
        const res = rs.sub();
        res.fields((h, hw) => (h === 1 && hw === 2 ? (attribute(res.sub(), resource), true) : false));
      } else if (g === 2 && gw === 2) scopes.push(rs.sub());
      else return false;
      return true;
    });
    for (const ss of scopes) ss.fields((h, hw) => (h === 2 && hw === 2 ? (spans.push(span(ss.sub(), resource)), true) : false));
    return true;
  });
  return spans;
}

function varintBytes(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** ExportTraceServiceResponse; an empty message when nothing was rejected (as the spec asks). */
export function encodeTraceResponse(partial?: { rejectedSpans: number; errorMessage: string }): Buffer {
  if (!partial) return Buffer.alloc(0);
  const msg = Buffer.from(partial.errorMessage, 'utf8');
  const inner = Buffer.from([0x08, ...varintBytes(BigInt(partial.rejectedSpans)), 0x12, ...varintBytes(BigInt(msg.length))]);
  const body = Buffer.concat([inner, msg]);
  return Buffer.concat([Buffer.from([0x0a, ...varintBytes(BigInt(body.length))]), body]);
}
