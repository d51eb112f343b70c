// Batching transport: a bounded in-memory queue drained in the background, retries with
// exponential backoff and full jitter, counters. Recording never blocks and never throws: when the
// queue is full the new item is dropped and counted (the caller's work matters more than telemetry).

export type SendOutcome =
  | { kind: 'ok'; accepted: number; duplicates: number; quarantined: number; rejected: number }
  | { kind: 'retry'; retryAfterMs?: number; error: string }
  | { kind: 'fatal'; error: string };

export type TransportOptions = {
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  onError?: (err: Error) => void;
};

export type Stats = {
  queued: number; // waiting now
  sent: number; // items delivered (the server answered for them)
  accepted: number;
  duplicates: number;
  quarantined: number;
  rejected: number;
  retried: number; // batch send attempts that were retried
  dropped: number; // items given up on: queue full, retries exhausted, or refused (4xx)
  failedBatches: number;
};

export class Transport<T> {
  readonly #queue: T[] = [];
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly stats: Stats = { queued: 0, sent: 0, accepted: 0, duplicates: 0, quarantined: 0, rejected: 0, retried: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly opts: TransportOptions, private readonly send: (batch: T[]) => Promise<SendOutcome>) {}

  push(item: T): void {
    // After shutdown() nothing sends it: given up on, and said so (a shutdown still flushing takes it).
    if (this.#closed && !this.#inFlight) {
      this.stats.dropped++;
      this.report(new Error('agent-ledger: the ledger is shut down; an event recorded after shutdown() was dropped'));
      return;
    }
    if (this.#queue.length >= this.opts.maxQueue) {
      this.stats.dropped++;
      this.report(new Error(`agent-ledger: queue full (${this.opts.maxQueue}); an event was dropped`));
      return;
    }
    this.#queue.push(item);
    this.stats.queued = this.#queue.length;
    if (this.#closed) return;
    if (this.#queue.length >= this.opts.batchSize) this.kick(0);
    else if (!this.#timer) this.kick(this.opts.flushIntervalMs);
  }

  /** Send everything queued now; resolves when it is delivered or given up on. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight) {
      if (!this.#inFlight) this.#inFlight = this.drain().finally(() => (this.#inFlight = undefined));
      await this.#inFlight;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.flush();
  }

  get pending(): number {
    return this.#queue.length + (this.#inFlight ? 1 : 0);
  }

  private kick(ms: number): void {
    if (this.#timer) {
      if (ms > 0) return;
      clearTimeout(this.#timer);
    }
    // unref: a pending flush never keeps a process alive (flush on exit handles the end).
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#inFlight) this.#inFlight = this.drain().finally(() => (this.#inFlight = undefined));
    }, ms);
    this.#timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.opts.batchSize);
      this.stats.queued = this.#queue.length;
      await this.deliver(batch);
    }
  }

  private async deliver(batch: T[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let outcome: SendOutcome;
      try {
        outcome = await this.send(batch);
      } catch (err) {
        outcome = { kind: 'retry', error: (err as Error).message };
      }
      if (outcome.kind === 'ok') {
        this.stats.sent += batch.length;
        this.stats.accepted += outcome.accepted;
        this.stats.duplicates += outcome.duplicates;
        this.stats.quarantined += outcome.quarantined;
        this.stats.rejected += outcome.rejected;
        return;
      }
      if (outcome.kind === 'fatal' || attempt >= this.opts.maxRetries) {
        this.stats.dropped += batch.length;
        this.stats.failedBatches++;
        this.report(new Error(`agent-ledger: ${batch.length} events dropped after ${attempt + 1} attempt(s): ${outcome.error}`));
        return;
      }
      this.stats.retried++;
      // Full jitter: a random wait up to the exponential cap, so many clients do not retry in step.
      const cap = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** attempt);
      const wait = Math.max(outcome.retryAfterMs ?? 0, Math.random() * cap);
      await new Promise((r) => setTimeout(r, Math.min(wait, this.opts.retryMaxMs)));
    }
  }

  private report(err: Error): void {
    try {
      this.opts.onError?.(err);
    } catch {
      // A throwing error hook must not break the transport.
    }
  }
}
