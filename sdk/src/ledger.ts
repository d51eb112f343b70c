// The Ledger: attribution context, call-site wrappers that fail closed, the budget pre-flight, and
// a background transport to agent-ledger (POST /api/v1/events) or any OTLP endpoint (GenAI spans).
import { randomUUID } from 'node:crypto';
import { attributionFields, childFrame, currentFrame, newSpanId, newTraceId, parseFrame, scopedFrame, serializeFrame, storage, type Attribution, type Frame, type RetryState } from './context.js';
import { AttributionError, BudgetCheckUnavailableError, BudgetExceededError, type BudgetVerdict } from './errors.js';
import { toOtlpJson } from './otel.js';
import { statusOf, wrapAnthropicClient, wrapOpenAIClient } from './providers.js';
import { Transport, type SendOutcome, type Stats } from './transport.js';
import type { CallHandle, CostEvent, EventType, Finish } from './types.js';

export type LedgerOptions = {
  /** agent-ledger's base URL, e.g. http://127.0.0.1:8080 */
  endpoint: string;
  /** an ingest key (sent as Authorization: Bearer) */
  apiKey?: string;
  /** attribution applied to every event unless the context says otherwise */
  defaults?: Omit<Attribution, 'run_id'>;
  /** 'fail' (default): a wrapped call without the required fields throws before the provider is called; 'quarantine': it runs and its event is sent for quarantine */
  mode?: 'fail' | 'quarantine';
  /** fields a wrapped call must have (default ['product_line_id']) */
  required?: (keyof Attribution)[];
  /** 'events' (default): POST /api/v1/events; 'otlp': GenAI spans to otlpEndpoint */
  exporter?: 'events' | 'otlp';
  /** full OTLP/HTTP traces URL for exporter 'otlp' (default `${endpoint}/v1/traces`) */
  otlpEndpoint?: string;
  otlpHeaders?: Record<string, string>;
  serviceName?: string;
  batchSize?: number;
  flushIntervalMs?: number;
  maxQueue?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  /** how long a budget verdict is reused (default 2000 ms) */
  checkTtlMs?: number;
  /** when the check cannot be answered: 'open' (default) lets work proceed, 'closed' throws */
  checkFailure?: 'open' | 'closed';
  /** run check() before every wrapped LLM call (default false) */
  checkBeforeCalls?: boolean;
  /** flush the queue when the process is about to exit (default true) */
  flushOnExit?: boolean;
  onError?: (err: Error) => void;
};

export type ToolOptions = { cost_usd?: string; quantity?: string; unit?: string; type?: EventType };
export type RetryOptions = { attempts?: number; baseMs?: number; maxMs?: number; retryIf?: (err: unknown) => boolean };
const checkDims: Record<string, string> = { product_line_id: 'product_line', environment: 'environment', customer_id: 'customer', user_id: 'user', feature: 'feature', agent_id: 'agent', agent_version: 'agent_version', segment: 'segment' };

export class Ledger {
  readonly #opts: LedgerOptions & { required: (keyof Attribution)[] };
  readonly #transport: Transport<CostEvent>;
  readonly #checks = new Map<string, { at: number; verdict: Promise<BudgetVerdict> }>();
  readonly #onExit = () => void this.flush();

  constructor(options: LedgerOptions) {
    if (!/^https?:\/\//.test(options.endpoint)) throw new TypeError('agent-ledger: endpoint must be an http(s) URL');
    this.#opts = { ...options, endpoint: options.endpoint.replace(/\/+$/, ''), required: options.required ?? ['product_line_id'] };
    const o = this.#opts;
    this.#transport = new Transport<CostEvent>({
      batchSize: o.batchSize ?? 100, flushIntervalMs: o.flushIntervalMs ?? 1000, maxQueue: o.maxQueue ?? 10_000,
      maxRetries: o.maxRetries ?? 10, retryBaseMs: o.retryBaseMs ?? 200, retryMaxMs: o.retryMaxMs ?? 30_000, onError: o.onError,
    }, (batch) => this.#send(batch));
    if (o.flushOnExit !== false) process.on('beforeExit', this.#onExit);
  }

  // ---- context -------------------------------------------------------------------------------
  /** Run fn as a new run (a child of the enclosing one, if any) with this attribution. */
  run<T>(attrs: Attribution, fn: () => T): T {
    return storage.run(childFrame(attrs), fn);
  }
  /** Same run, more tags (e.g. the graph node: { agent_id, step_name }). */
  scope<T>(attrs: Omit<Attribution, 'run_id'>, fn: () => T): T {
    return storage.run(scopedFrame(attrs), fn);
  }
  /** A node decorator: fn always runs under this agent / step. */
  node<A extends unknown[], R>(attrs: Omit<Attribution, 'run_id'>, fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => this.scope(attrs, () => fn(...args));
  }
  /** Fan-out: each item runs as its own child run (parent_run_id = this run), concurrently. */
  fanOut<I, R>(items: I[], fn: (item: I, index: number) => Promise<R>, attrs: Attribution = {}): Promise<R[]> {
    return Promise.all(items.map((item, i) => this.run({ ...attrs, attributes: { ...attrs.attributes, fan_out_index: String(i) } }, () => fn(item, i))));
  }
  current(): Readonly<Frame> | undefined {
    return currentFrame();
  }
  /** The context as a JSON string to put in a job payload. */
  serialize(): string {
    return serializeFrame(currentFrame());
  }
  /** In a worker: continue the serialized run (or start a child of it with { child: true }). */
  resume<T>(serialized: string | Record<string, unknown>, fn: () => T, opts: { child?: boolean } = {}): T {
    const frame = parseFrame(serialized);
    return storage.run(opts.child ? childFrame({}, frame) : frame, fn);
  }
  /** Retry fn with backoff; events of attempt n > 1 carry attempt n and retry_of = the first attempt's event. */
  async retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
    const attempts = opts.attempts ?? 3;
    const state: RetryState = { attempt: 1 };
    for (let attempt = 1; ; attempt++) {
      state.attempt = attempt;
      const frame = { ...scopedFrame({}), retry: state };
      try {
        return await storage.run(frame, () => fn(attempt));
      } catch (err) {
        if (attempt >= attempts || (opts.retryIf && !opts.retryIf(err))) throw err;
        const cap = Math.min(opts.maxMs ?? 10_000, (opts.baseMs ?? 200) * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, Math.random() * cap));
      }
    }
  }

  // ---- wrappers ------------------------------------------------------------------------------
  wrapOpenAI<T extends object>(client: T): T {
    return wrapOpenAIClient(client, (info) => this.#begin('llm', info.op, { provider: info.provider, model: info.model }), this.#gate());
  }
  wrapAnthropic<T extends object>(client: T): T {
    return wrapAnthropicClient(client, (info) => this.#begin('llm', info.op, { provider: info.provider, model: info.model }), this.#gate());
  }
  #gate(): (() => Promise<unknown>) | undefined {
    return this.#opts.checkBeforeCalls ? () => this.check() : undefined;
  }
  /** Any tool function: one `tool` event per call (1 call unless quantity says otherwise). */
  tool<A extends unknown[], R>(name: string, fn: (...args: A) => R | Promise<R>, opts: ToolOptions = {}): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const call = this.#begin(opts.type ?? 'tool', 'execute_tool', { tool: name });
      const done = { cost_usd: opts.cost_usd, quantity: opts.quantity ?? '1', unit: opts.unit ?? 'calls' };
      try {
        // Calls made inside the tool nest under its span.
        const result = (await storage.run({ ...scopedFrame({}), span_id: call.spanId }, () => fn(...args))) as R;
        call.finish({ status: 'success', ...done });
        return result;
      } catch (err) {
        call.finish({ status: statusOf(err), error: err, ...done });
        throw err;
      }
    };
  }
  /** A cost the wrappers cannot see (compute, a human escalation, a vector query…); fails closed like the wrappers. */
  record(event: Partial<Omit<CostEvent, 'event_id' | 'run_id' | 'trace_id' | 'span_id' | 'parent_span_id'>> & { type: EventType }): string {
    const { type, status = 'success', provider, model, tool, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, quantity, unit, revenue_usd, duration_ms, ...tags } = event;
    const call = this.#begin(type, type, { provider, model, tool }, tags);
    call.finish({ status: status as Finish['status'], usage: { input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens }, cost_usd, quantity, unit, revenue_usd, duration_ms });
    return call.eventId;
  }
  /** The run's outcome (success / failure, optional revenue) for cost per success and margin. */
  outcome(status: 'success' | 'failure', revenue_usd?: string): string {
    return this.record({ type: 'outcome', status, revenue_usd });
  }

  // ---- budget pre-flight ---------------------------------------------------------------------
  /** Ask the budget check for the current context; throws BudgetExceededError when a block budget is exhausted. */
  async check(extra: { estimated_cost_usd?: string; model?: string; tool?: string } = {}): Promise<BudgetVerdict> {
    const frame = { ...this.#opts.defaults, ...currentFrame() } as Frame;
    const body: Record<string, string> = {};
    for (const [field, dim] of Object.entries(checkDims)) if (frame[field as keyof Frame]) body[dim] = String(frame[field as keyof Frame]);
    if (frame.run_id) body.run_id = frame.run_id;
    Object.assign(body, extra);
    const key = JSON.stringify(body);
    const ttl = this.#opts.checkTtlMs ?? 2000;
    let cached = this.#checks.get(key);
    if (!cached || Date.now() - cached.at > ttl) {
      if (this.#checks.size > 1000) this.#checks.clear();
      cached = { at: Date.now(), verdict: this.#askBudget(body) };
      this.#checks.set(key, cached);
      cached.verdict.catch(() => this.#checks.delete(key));
    }
    let verdict: BudgetVerdict;
    try {
      verdict = await cached.verdict;
    } catch (err) {
      if (this.#opts.checkFailure === 'closed') throw new BudgetCheckUnavailableError((err as Error).message);
      return { allow: true, reason: `check unavailable: ${(err as Error).message}`, budgets: [] };
    }
    if (!verdict.allow) throw new BudgetExceededError(verdict);
    return verdict;
  }

  // ---- delivery ------------------------------------------------------------------------------
  get stats(): Readonly<Stats> {
    return { ...this.#transport.stats };
  }
  flush(): Promise<void> {
    return this.#transport.flush();
  }
  async shutdown(): Promise<void> {
    process.off('beforeExit', this.#onExit);
    await this.#transport.close();
  }

  #begin(type: EventType, op: string, what: { provider?: string; model?: string; tool?: string }, overrides: Partial<CostEvent> = {}): CallHandle {
    // On every wrapped call: plain property reads, no object spreads or deletes (they cost more than the rest).
    const frame: Partial<Frame> = currentFrame() ?? {};
    const defaults: Partial<Frame> = this.#opts.defaults ?? {};
    const pick = (k: keyof Frame & keyof CostEvent) => (overrides[k] ?? frame[k] ?? defaults[k]) as string | undefined;
    if (this.#opts.mode !== 'quarantine') {
      let missing: string[] | undefined;
      for (const k of this.#opts.required) if (!pick(k as 'product_line_id')) (missing ??= []).push(k);
      if (missing) throw new AttributionError(missing, `${what.provider ?? type} ${op}`);
    }
    // A wrapped call outside any run still gets a run of its own, so it is never orphaned.
    const runId = frame.run_id ?? randomUUID();
    const traceId = frame.trace_id ?? newTraceId();
    const eventId = randomUUID();
    const spanId = newSpanId();
    const retry = frame.retry;
    if (retry && retry.attempt === 1 && !retry.firstEventId) retry.firstEventId = eventId;
    const start = Date.now();
    const startedAt = performance.now();
    let finished = false;
    return {
      eventId,
      spanId,
      finish: (r: Finish) => {
        if (finished) return;
        finished = true;
        const e: Record<string, unknown> = { event_id: eventId, timestamp: new Date(start).toISOString(), type, run_id: runId, trace_id: traceId, span_id: spanId, status: r.status };
        const put = (k: string, v: unknown) => {
          if (v !== undefined) e[k] = v;
        };
        for (const k of attributionFields) put(k, pick(k));
        put('parent_run_id', frame.parent_run_id);
        put('parent_span_id', frame.span_id);
        put('provider', what.provider);
        put('model', r.model ?? what.model);
        put('tool', what.tool);
        const u = r.usage;
        if (u) for (const k of usageFields) put(k, u[k]);
        put('quantity', r.quantity);
        put('unit', r.unit);
        put('cost_usd', r.cost_usd);
        put('revenue_usd', r.revenue_usd);
        e.duration_ms = r.duration_ms ?? Math.round(performance.now() - startedAt);
        if (retry && retry.attempt > 1) {
          e.attempt = retry.attempt;
          put('retry_of', retry.firstEventId);
        }
        const attributes = overrides.attributes ?? frame.attributes ?? defaults.attributes;
        if (attributes || op !== type) e.attributes = op !== type ? { ...attributes, 'gen_ai.operation.name': op } : attributes;
        this.#transport.push(e as CostEvent);
      },
    };
  }

  async #send(batch: CostEvent[]): Promise<SendOutcome> {
    const o = this.#opts;
    const otlp = o.exporter === 'otlp';
    const url = otlp ? o.otlpEndpoint ?? `${o.endpoint}/v1/traces` : `${o.endpoint}/api/v1/events`;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}), ...(otlp ? o.otlpHeaders : {}) };
    const body = otlp ? toOtlpJson(batch, o.serviceName ?? 'agent-ledger-sdk') : JSON.stringify({ events: batch });
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(o.requestTimeoutMs ?? 10_000) });
    const text = await res.text();
    if (res.status === 429 || res.status >= 500) {
      const after = Number(res.headers.get('retry-after'));
      return { kind: 'retry', retryAfterMs: Number.isFinite(after) && after > 0 ? after * 1000 : undefined, error: `HTTP ${res.status}` };
    }
    if (res.status !== 200 && res.status !== 207) return { kind: 'fatal', error: `HTTP ${res.status}: ${text.slice(0, 300)}` };
    if (otlp) {
      // agent-ledger's own OTLP intake says what became of each event in a receipt header; any other
      // collector only counts rejected spans.
      const receipt = /accepted=(\d+); duplicates=(\d+); quarantined=(\d+); rejected=(\d+)/.exec(res.headers.get('x-agent-ledger-receipt') ?? '');
      if (receipt) {
        const [accepted, duplicates, quarantined, rejected] = receipt.slice(1).map(Number) as [number, number, number, number];
        return { kind: 'ok', accepted, duplicates, quarantined, rejected };
      }
      const rejected = Number((JSON.parse(text || '{}') as { partialSuccess?: { rejectedSpans?: string | number } }).partialSuccess?.rejectedSpans ?? 0);
      return { kind: 'ok', accepted: batch.length - rejected, duplicates: 0, quarantined: 0, rejected };
    }
    const receipt = JSON.parse(text) as { accepted: number; duplicates: number; quarantined: number; rejected: number };
    return { kind: 'ok', accepted: receipt.accepted, duplicates: receipt.duplicates, quarantined: receipt.quarantined, rejected: receipt.rejected };
  }

  async #askBudget(body: Record<string, string>): Promise<BudgetVerdict> {
    const res = await fetch(`${this.#opts.endpoint}/api/v1/budgets/check`, {
      method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(this.#opts.requestTimeoutMs ?? 10_000),
      headers: { 'content-type': 'application/json', ...(this.#opts.apiKey ? { authorization: `Bearer ${this.#opts.apiKey}` } : {}) },
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    return (await res.json()) as BudgetVerdict;
  }
}

const usageFields = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens'] as const;
