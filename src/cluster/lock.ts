// Mutual exclusion across API processes for rare, long operations whose check and write must not
// interleave (month close, re-issue, shared-cost entry). On a ClickHouse server: a lease
// (src/cluster/claims.ts) ticked until held, kept alive while the work runs, released after.
// Embedded: only one process can open the data directory, so the in-process queue is the whole lock.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

export type LockOptions = {
  /** How long to wait for the lock before answering 503 lock_busy (default CLUSTER_LOCK_WAIT_MS). */
  waitMs?: number;
  /** Lease time-to-live: how long a holder that died blocks the others (default CLUSTER_LOCK_TTL_MS). */
  ttlMs?: number;
  /** Pause between attempts while another process holds it. */
  pollMs?: number;
};
export type LockHandle = {
  /** Throws unless this process still holds the lock: call it right before the write that commits the work. */
  assertHeld(): void;
};

/** A FIFO mutex whose waiters give up after a deadline. */
class LocalMutex {
  #held = false;
  #waiters: (() => void)[] = [];

  acquire(waitMs: number): Promise<boolean> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== grant);
        resolve(false);
      }, waitMs);
      this.#waiters.push(grant);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }
}

// Keyed by engine: apps built on one engine object are one process (tests, tools).
const mutexes = new WeakMap<object, Map<string, LocalMutex>>();
function localMutex(owner: object, name: string): LocalMutex {
  let byName = mutexes.get(owner);
  if (!byName) mutexes.set(owner, (byName = new Map()));
  let m = byName.get(name);
  if (!m) byName.set(name, (m = new LocalMutex()));
  return m;
}

const busy = (name: string, waitMs: number) =>
  new ApiError(503, 'lock_busy', `another "${name}" operation has been running for more than ${Math.round(waitMs / 1000)} s; retry later`, { retry_after_seconds: 5 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `fn` while holding the lock `name` across every process on this ledger; others wait (up
 * to waitMs, then 503 lock_busy). A holder that dies blocks the others for at most ttlMs.
 */
export async function withClusterLock<T>(app: FastifyInstance, name: string, fn: (lock: LockHandle) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  // Lease keys are `lease:lock:<name>:<term>`; a colon in a name could make one lock's prefix another's.
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`lock name ${JSON.stringify(name)}: letters, digits, . _ - only`);
  const waitMs = opts.waitMs ?? app.config.CLUSTER_LOCK_WAIT_MS;
  const ttlMs = opts.ttlMs ?? app.config.CLUSTER_LOCK_TTL_MS;
  const pollMs = opts.pollMs ?? 100;
  const started = performance.now();
  // One contender per process: the lease is then ticked by one caller at a time.
  const local = localMutex(app.engine, name);
  if (!(await local.acquire(waitMs))) throw busy(name, waitMs);
  try {
    if (app.engine.mode !== 'server') return await fn({ assertHeld: () => undefined });
    const lease = app.claims.lease(`lock:${name}`, ttlMs);
    while (!(await lease.tick())) {
      if (performance.now() - started > waitMs) throw busy(name, waitMs);
      await sleep(pollMs);
    }
    // Heartbeats while the work runs (tick writes one every ttl/4; ticking more often is free).
    let beating: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      beating = beating.then(() => lease.tick()).catch((err) => app.log.warn({ err }, `lock ${name}: heartbeat failed`));
    }, Math.max(50, Math.floor(ttlMs / 8)));
    try {
      return await fn({
        assertHeld: () => {
          if (!lease.held(0)) throw new ApiError(503, 'lock_busy', `lost the "${name}" lock while working (engine slow or unreachable); nothing was committed, retry`, { retry_after_seconds: 5 });
        },
      });
    } finally {
      clearInterval(timer);
      await beating;
      await lease.release().catch((err) => app.log.warn({ err }, `lock ${name}: release failed (others wait for the lease to expire)`));
    }
  } finally {
    local.release();
  }
}
