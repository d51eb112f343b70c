// The one span shape the mapper reads, whichever OTLP encoding it arrived in (protobuf or JSON).
// Only primitives survive in attributes: arrays and maps are never cost or attribution values.

export type AttrValue = string | number | boolean;
export type Attributes = Map<string, AttrValue>;

export type OtlpSpan = {
  traceId: string; // lower-case hex, '' when absent or malformed
  spanId: string;
  parentSpanId: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
  statusCode: number; // 0 unset, 1 ok, 2 error
  attributes: Attributes;
  resource: Attributes;
};

/** A body that is not an OTLP trace export at all (400), as opposed to a bad span inside one. */
export class OtlpDecodeError extends Error {}

export const MAX_VALUE_DEPTH = 16;

/** Integers beyond 2^53 are kept as their decimal text so they are refused, never rounded. */
export function int64Value(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}
