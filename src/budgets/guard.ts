// Turns spend into notifications: thresholds crossed and budgets exhausted (once per budget,
// window and threshold; per run for run budgets) and anomalies (once per dimension, value, hour
// and kind). Runs on an interval and right after an insert touches a block budget. With several
// processes on one ClickHouse server every process evaluates; a claim on the notification's key
// decides which one stores and announces it.
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { detectAnomalies, type AnomalyDimension } from '../anomalies/detect.js';
import { fromUnits } from '../pricing/decimal.js';
import type { Webhooks } from '../webhooks/service.js';
import type { Budgets } from './service.js';
import { windowBounds } from './windows.js';
import { toClickHouseSecond, toClickHouseTime } from '../clickhouse-time.js';
import type { Claims } from '../cluster/claims.js';

export type GuardOptions = {
  anomalyDimensions: AnomalyDimension[]; ratio: number; minSpend: string;
  /** Server mode: several processes evaluate; the one that claims a notification's key announces it. */
  claims?: Claims;
  /** How long after losing a claim a process checks that the winner stored the notification. */
  recoverAfterMs?: number;
};

/** One id per notification key, whichever process raises it (a UUID-shaped digest). */
export function notificationId(dedupKey: string): string {
  const h = createHash('sha256').update(dedupKey).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

type Lost = { since: number; attempt: number; type: string; data: Record<string, unknown> };

export class Guard {
  #fired = new Set<string>();
  #chain: Promise<unknown> = Promise.resolve();
  #pending = false;
  /** Keys another process claimed: once recoverAfterMs has passed, checked for the stored notification. */
  readonly #lost = new Map<string, Lost>();
  constructor(
    private readonly client: ClickHouseClient,
    private readonly budgets: Budgets,
    private readonly webhooks: Webhooks,
    private readonly opts: GuardOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  async load(): Promise<void> {
    const rows = await (await this.client.query({ query: 'SELECT dedup_key FROM notifications FINAL', format: 'JSONEachRow' })).json<{ dedup_key: string }>();
    this.#fired = new Set(rows.map((r) => r.dedup_key));
  }

  /** Store a notification once per key (across processes: the claim's winner) and hand it to the webhooks. */
  async notify(dedupKey: string, type: string, data: Record<string, unknown>): Promise<boolean> {
    if (this.#fired.has(dedupKey)) return false;
    this.#fired.add(dedupKey);
    try {
      const claims = this.opts.claims;
      if (claims && !(await claims.claim(`notify:${dedupKey}`))) {
        this.#lost.set(dedupKey, { since: Date.now(), attempt: 0, type, data });
        return false;
      }
      await this.#store(dedupKey, type, data);
      return true;
    } catch (err) {
      // Not announced: the next evaluation tries again (a claim already won is won again).
      this.#fired.delete(dedupKey);
      throw err;
    }
  }

  async #store(dedupKey: string, type: string, data: Record<string, unknown>): Promise<void> {
    const notification = { id: notificationId(dedupKey), dedup_key: dedupKey, type, payload: '' };
    notification.payload = JSON.stringify({ id: notification.id, type, created_at: new Date().toISOString(), data });
    await this.client.insert({ table: 'notifications', values: [{ ...notification, created_at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow' });
    this.webhooks.enqueue(notification);
  }

  /**
   * A process that won a claim and died before storing the notification (one insert) would lose
   * it: after recoverAfterMs the losers look for it and, when it is missing, claim the key's next
   * attempt; that winner stores it under the same id, so nothing is announced twice.
   */
  async #recover(): Promise<void> {
    const claims = this.opts.claims;
    const after = this.opts.recoverAfterMs ?? 30_000;
    const due = [...this.#lost].filter(([, l]) => Date.now() - l.since >= after);
    if (!claims || due.length === 0) return;
    const stored = new Set((await (await this.client.query({
      query: 'SELECT DISTINCT dedup_key FROM notifications WHERE dedup_key IN {keys:Array(String)}',
      query_params: { keys: due.map(([key]) => key) },
      format: 'JSONEachRow',
    })).json<{ dedup_key: string }>()).map((r) => r.dedup_key));
    for (const [key, lost] of due) {
      if (stored.has(key)) {
        this.#lost.delete(key);
        continue;
      }
      lost.attempt += 1;
      lost.since = Date.now();
      if (await claims.claim(`notify:${key}#${lost.attempt}`)) {
        await this.#store(key, lost.type, lost.data);
        this.#lost.delete(key);
        this.log.warn(`notification ${key} was claimed but never stored; stored it now`);
      }
    }
  }

  /** Serialized so two evaluations never announce the same crossing twice. */
  evaluate(options: { anomalies?: boolean; at?: number } = {}): Promise<void> {
    const run = this.#chain.then(() => this.#evaluate(options));
    this.#chain = run.catch((err) => this.log.warn({ err }, 'guardrail evaluation failed'));
    return run;
  }

  /** After an insert that touched a block budget: evaluate soon, coalescing bursts. */
  soon(): void {
    if (this.#pending) return;
    this.#pending = true;
    setImmediate(() => {
      this.#pending = false;
      void this.evaluate().catch(() => undefined);
    });
  }

  /**
   * Without `at`, budgets are judged on the spend held in memory (the current windows, up to now).
   * With `at`, on the spend of the windows holding `at`, up to `at`, read as /budgets/status reads
   * it: a past instant is not judged on today's spend.
   */
  async #evaluate({ anomalies = false, at: given }: { anomalies?: boolean; at?: number }): Promise<void> {
    const at = given ?? Date.now();
    await this.#recover();
    for (const b of this.budgets.all()) {
      const thresholds = [...b.thresholds].sort((x, y) => x - y);
      const check = async (spent: bigint, key: string, extra: Record<string, unknown>) => {
        for (const t of thresholds) {
          if (spent * 1_000_000n < b.amount * BigInt(Math.round(t * 1_000_000))) break;
          await this.notify(`${key}:${t}`, t >= 1 ? 'budget.exhausted' : 'budget.threshold_crossed', {
            budget_id: b.id, name: b.name, scope: b.scope, window: b.window, action: b.action, threshold: t, spent_usd: fromUnits(spent), limit_usd: fromUnits(b.amount), ...extra,
          });
        }
      };
      if (b.window === 'run') {
        const runs = given === undefined ? this.budgets.runSpends(b) : (await this.budgets.spendAt(b, given)).runs;
        for (const [runId, spent] of runs) await check(spent, `budget:${b.id}:run:${runId}`, { run_id: runId });
      } else {
        const { start, end } = windowBounds(b.window, at);
        const spent = given === undefined ? this.budgets.spent(b) : (await this.budgets.spendAt(b, given)).total;
        await check(spent, `budget:${b.id}:${start}`, { window_start: new Date(start).toISOString(), window_end: new Date(end).toISOString() });
      }
    }
    if (!anomalies) return;
    for (const dimension of this.opts.anomalyDimensions) {
      const found = await detectAnomalies(this.client, { dimension, to: at, windowMs: 3_600_000, ratio: this.opts.ratio, minSpend: this.opts.minSpend });
      // The key keeps the hour as it was written before hours were ISO, so no anomaly is announced twice.
      for (const a of found) await this.notify(`anomaly:${a.dimension}:${a.value}:${toClickHouseSecond(a.hour)}:${a.kind}`, 'anomaly.detected', a);
    }
  }
}
