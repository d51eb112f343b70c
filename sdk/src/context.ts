// Attribution context carried through async code (awaits, timers, fan-out) by AsyncLocalStorage,
// so a call site deep in an agent knows who pays without threading ids by hand.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';

/** The business and graph dimensions an event is attributed to (the event's own field names). */
export type Attribution = {
  product_line_id?: string;
  environment?: 'production' | 'staging' | 'development';
  workflow_id?: string;
  run_id?: string;
  customer_id?: string;
  user_id?: string;
  segment?: string;
  intent?: string;
  feature?: string;
  feature_flag?: string;
  priority_tier?: string;
  prompt_version?: string;
  agent_id?: string;
  agent_version?: string;
  step_name?: string;
  /** Extra string tags (at most 64). */
  attributes?: Record<string, string>;
};

export const attributionFields = [
  'product_line_id', 'environment', 'workflow_id', 'customer_id', 'user_id', 'segment', 'intent', 'feature',
  'feature_flag', 'priority_tier', 'prompt_version', 'agent_id', 'agent_version', 'step_name',
] as const;

/** Retries share one holder, so every attempt after the first can point at the first (retry_of). */
export type RetryState = { attempt: number; firstEventId?: string };

export type Frame = Omit<Attribution, 'run_id'> & {
  run_id: string;
  parent_run_id?: string;
  trace_id: string; // 32 hex: the root run's trace
  span_id?: string; // the enclosing wrapped call (tool), parent of calls made inside it
  retry?: RetryState;
};

export const storage = new AsyncLocalStorage<Frame>();
// Ids come from a pooled random buffer: a synchronous randomBytes() per call costs ~25 µs on a busy
// machine, more than the whole rest of a wrapped call.
let pool = Buffer.alloc(0);
let offset = 0;
function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);

export function currentFrame(): Frame | undefined {
  return storage.getStore();
}

/** A new run: inherits the enclosing run's attribution and becomes its child (parent_run_id). */
export function childFrame(attrs: Attribution, parent = storage.getStore()): Frame {
  const { run_id, attributes, ...rest } = attrs;
  return {
    ...parent,
    ...defined(rest),
    attributes: parent?.attributes || attributes ? { ...parent?.attributes, ...attributes } : undefined,
    run_id: run_id ?? randomUUID(),
    parent_run_id: parent?.run_id,
    trace_id: parent?.trace_id ?? newTraceId(),
    retry: undefined,
  };
}

/** The same run with more or different tags (a step, an agent node). */
export function scopedFrame(attrs: Omit<Attribution, 'run_id'>, parent = storage.getStore()): Frame {
  const base = parent ?? childFrame({});
  const { attributes, ...rest } = attrs;
  return { ...base, ...defined(rest), attributes: base.attributes || attributes ? { ...base.attributes, ...attributes } : undefined };
}

function defined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const serializable = [...attributionFields, 'run_id', 'parent_run_id', 'trace_id', 'span_id'] as const;

/** The context as a plain JSON string for a job payload (no functions, no secrets, no text). */
export function serializeFrame(frame: Frame | undefined): string {
  if (!frame) throw new TypeError('no attribution context to serialize: call inside ledger.run()');
  const out: Record<string, unknown> = { v: 1 };
  for (const k of serializable) if (frame[k] !== undefined) out[k] = frame[k];
  if (frame.attributes) out.attributes = frame.attributes;
  return JSON.stringify(out);
}

/** Parse a serialized context, keeping only known string fields (a job payload is untrusted input). */
export function parseFrame(serialized: string | Record<string, unknown>): Frame {
  const raw = typeof serialized === 'string' ? (JSON.parse(serialized) as unknown) : serialized;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TypeError('not a serialized attribution context');
  const src = raw as Record<string, unknown>;
  const frame: Record<string, unknown> = {};
  for (const k of serializable) if (typeof src[k] === 'string') frame[k] = src[k];
  if (src.attributes && typeof src.attributes === 'object' && !Array.isArray(src.attributes)) {
    frame.attributes = Object.fromEntries(Object.entries(src.attributes as Record<string, unknown>).filter(([, v]) => typeof v === 'string'));
  }
  if (typeof frame.run_id !== 'string' || typeof frame.trace_id !== 'string') throw new TypeError('a serialized context needs run_id and trace_id');
  return frame as Frame;
}
