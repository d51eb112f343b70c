// Proxies over the official OpenAI and Anthropic clients: every method and type is kept, and the
// calls that cost money are observed from their real response objects (usage, model, status).
// Only numbers and names are read: no prompt or completion text ever leaves the process.
import type { CallHandle, Usage } from './types.js';

type Begin = (info: { provider: string; model?: string; op: string }) => CallHandle;
type Handler = (original: (...args: unknown[]) => unknown, args: unknown[], begin: Begin) => unknown;
type AnyRecord = Record<string, any>;

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** OpenAI usage: chat/completions (prompt_tokens…) and Responses (input_tokens…); cached ⊂ input. */
export function openaiUsage(u: AnyRecord | null | undefined): Usage | undefined {
  if (!u) return undefined;
  const input = num(u.prompt_tokens) ?? num(u.input_tokens);
  const output = num(u.completion_tokens) ?? num(u.output_tokens) ?? (input !== undefined ? 0 : undefined);
  const inDetails = u.prompt_tokens_details ?? u.input_tokens_details;
  const outDetails = u.completion_tokens_details ?? u.output_tokens_details;
  return { input_tokens: input, output_tokens: output, cache_read_tokens: num(inDetails?.cached_tokens), reasoning_tokens: num(outDetails?.reasoning_tokens) };
}

/** Anthropic reports input WITHOUT cache reads and writes; the ledger's input_tokens includes them. */
export function anthropicUsage(u: AnyRecord | null | undefined): Usage | undefined {
  if (!u) return undefined;
  const read = num(u.cache_read_input_tokens) ?? 0;
  const write = num(u.cache_creation_input_tokens) ?? 0;
  const input = num(u.input_tokens);
  return { input_tokens: input === undefined ? undefined : input + read + write, output_tokens: num(u.output_tokens), cache_read_tokens: read || undefined, cache_write_tokens: write || undefined };
}

/** Observe a provider stream in place: its own iterator is wrapped, so for-await, tee() and helpers all pass through. */
function observeStream(stream: AnyRecord, onChunk: (chunk: AnyRecord) => boolean | void, onEnd: (err?: unknown, cancelled?: boolean) => void): void {
  const original = stream.iterator;
  if (typeof original !== 'function') return onEnd();
  stream.iterator = function (this: unknown) {
    const inner = original.call(this) as AsyncIterable<AnyRecord>;
    return (async function* () {
      let ended = false;
      try {
        for await (const chunk of inner) if (onChunk(chunk) !== false) yield chunk;
        ended = true;
        onEnd();
      } catch (err) {
        ended = true;
        onEnd(err);
        throw err;
      } finally {
        if (!ended) onEnd(undefined, true);
      }
    })();
  };
}

/** Record when a provider promise settles, and hand the caller the very same promise (APIPromise stays). */
function tap(p: unknown, call: CallHandle, onValue: (v: AnyRecord) => void): unknown {
  if (!p || typeof (p as Promise<unknown>).then !== 'function') {
    call.finish({ status: 'success' });
    return p;
  }
  (p as Promise<AnyRecord>).then(onValue, (err) => call.finish({ status: statusOf(err), error: err }));
  return p;
}

export function statusOf(err: unknown): 'error' | 'timeout' | 'cancelled' {
  const name = (err as { name?: string } | undefined)?.name ?? '';
  if (/Timeout/i.test(name)) return 'timeout';
  if (/Abort|UserAbort/i.test(name)) return 'cancelled';
  return 'error';
}

const openaiCreate = (op: string): Handler => (original, args, begin) => {
  const params = (args[0] ?? {}) as AnyRecord;
  const call = begin({ provider: 'openai', model: params.model, op });
  let injected = false;
  if (params.stream === true && op === 'chat' && params.stream_options?.include_usage === undefined) {
    // Usage arrives only when asked for; the extra usage-only chunk is hidden from the caller again.
    args = [{ ...params, stream_options: { ...params.stream_options, include_usage: true } }, ...args.slice(1)];
    injected = true;
  }
  const p = original(...args);
  return tap(p, call, (value) => {
    if (params.stream !== true) return call.finish({ status: 'success', model: value.model, usage: openaiUsage(value.usage) });
    let usage: Usage | undefined;
    let model: string | undefined;
    let failed = false;
    observeStream(value, (chunk) => {
      model = chunk.model ?? chunk.response?.model ?? model;
      if (chunk.usage) usage = openaiUsage(chunk.usage);
      if (chunk.response?.usage) usage = openaiUsage(chunk.response.usage);
      if (chunk.type === 'response.failed') failed = true;
      return !(injected && chunk.usage && Array.isArray(chunk.choices) && chunk.choices.length === 0);
    }, (err, cancelled) => call.finish({ status: err ? statusOf(err) : cancelled ? 'cancelled' : failed ? 'error' : 'success', model, usage, error: err }));
  });
};

/** The helpers (`.stream()`, `.parse()`) run the request on the unwrapped client, so they are observed through their final result. */
const openaiHelper = (op: string, final: string): Handler => (original, args, begin) => {
  const params = (args[0] ?? {}) as AnyRecord;
  const call = begin({ provider: 'openai', model: params.model, op });
  const result = original(...args) as AnyRecord;
  const done = typeof result?.[final] === 'function' ? result[final]() : result;
  tap(done, call, (value) => call.finish({ status: 'success', model: value.model, usage: openaiUsage(value.usage) }));
  return result;
};

const anthropicCreate: Handler = (original, args, begin) => {
  const params = (args[0] ?? {}) as AnyRecord;
  const call = begin({ provider: 'anthropic', model: params.model, op: 'chat' });
  return tap(original(...args), call, (value) => {
    if (params.stream !== true) return call.finish({ status: 'success', model: value.model, usage: anthropicUsage(value.usage) });
    const raw: AnyRecord = {};
    let model: string | undefined;
    observeStream(value, (event) => {
      if (event.type === 'message_start') {
        model = event.message?.model;
        Object.assign(raw, event.message?.usage);
      } else if (event.type === 'message_delta' && event.usage) {
        // Deltas carry cumulative counts; nulls mean "unchanged".
        for (const [k, v] of Object.entries(event.usage as AnyRecord)) if (typeof v === 'number') raw[k] = v;
      }
    }, (err, cancelled) => call.finish({ status: err ? statusOf(err) : cancelled ? 'cancelled' : 'success', model, usage: anthropicUsage(raw), error: err }));
  });
};

const openaiHandlers: Record<string, Handler> = {
  'chat.completions.create': openaiCreate('chat'),
  'chat.completions.parse': openaiHelper('chat', 'then'),
  'chat.completions.stream': openaiHelper('chat', 'finalChatCompletion'),
  'responses.create': openaiCreate('responses'),
  'responses.parse': openaiHelper('responses', 'then'),
  'responses.stream': openaiHelper('responses', 'finalResponse'),
  'completions.create': openaiCreate('text_completion'),
  'embeddings.create': openaiCreate('embeddings'),
};
const anthropicHandlers: Record<string, Handler> = { 'messages.create': anthropicCreate };

/** gate: an async pre-flight (the budget check); with it, calls return plain Promises. */
function proxy<T extends object>(target: T, handlers: Record<string, Handler>, begin: Begin, gate?: () => Promise<unknown>): T {
  const prefixes = new Set(Object.keys(handlers).flatMap((k) => k.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
  // Built once per object and path and reused: a wrapped call pays a Map lookup, not a new Proxy.
  const made = new Map<string, unknown>();
  const wrap = (obj: object, path: string): object => new Proxy(obj, {
    get(o, prop, receiver) {
      const value = Reflect.get(o, prop, receiver);
      if (typeof prop !== 'string') return value;
      const at = path ? `${path}.${prop}` : prop;
      if (!prefixes.has(at) || !value || (typeof value !== 'function' && typeof value !== 'object')) return value;
      const cached = made.get(at) as { of: unknown; by: unknown; wrapped: unknown } | undefined;
      if (cached && cached.of === value && cached.by === receiver) return cached.wrapped;
      let wrapped: unknown = value;
      const handler = handlers[at];
      if (handler && typeof value === 'function') {
        const call = (...args: unknown[]) => handler((...a) => (value as (...x: unknown[]) => unknown).apply(receiver, a), args, begin);
        wrapped = gate ? (...args: unknown[]) => gate().then(() => call(...args)) : call;
      } else if (typeof value === 'object') wrapped = wrap(value, at);
      made.set(at, { of: value, by: receiver, wrapped });
      return wrapped;
    },
  });
  return wrap(target, '') as T;
}

export const wrapOpenAIClient = <T extends object>(client: T, begin: Begin, gate?: () => Promise<unknown>): T => proxy(client, openaiHandlers, begin, gate);
export const wrapAnthropicClient = <T extends object>(client: T, begin: Begin, gate?: () => Promise<unknown>): T => proxy(client, anthropicHandlers, begin, gate);
