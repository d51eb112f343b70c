// Turns spend into notifications: thresholds crossed and budgets exhausted (once per budget,
// window and threshold; per run for run budgets) and anomalies (once per dimension, value, hour
// and kind). Runs on an interval and right after an insert touches a block budget.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { detectAnomalies, type AnomalyDimension } from '../anomalies/detect.js';
import { fromUnits } from '../pricing/decimal.js';
import type { Webhooks } from '../webhooks/service.js';
import type { Budgets } from './service.js';
import { windowBounds } from './windows.js';
import { toClickHouseTime } from '../clickhouse-time.js';

export type GuardOptions = { anomalyDimensions: AnomalyDimension[]; ratio: number; minSpend: string };

export class Guard {
  #fired = new Set<string>();
  #chain: Promise<unknown> = Promise.resolve();
  #pending = false;
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

  /** Store a notification once per key and hand it to the webhooks. */
  async notify(dedupKey: string, type: string, data: Record<string, unknown>): Promise<boolean> {
    if (this.#fired.has(dedupKey)) return false;
    this.#fired.add(dedupKey);
    const notification = { id: randomUUID(), dedup_key: dedupKey, type, payload: '' };
    notification.payload = JSON.stringify({ id: notification.id, type, created_at: new Date().toISOString(), data });
    await this.client.insert({ table: 'notifications', values: [{ ...notification, created_at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow' });
    this.webhooks.enqueue(notification);
    return true;
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

  async #evaluate({ anomalies = false, at = Date.now() }: { anomalies?: boolean; at?: number }): Promise<void> {
    for (const b of this.budgets.all()) {
      const thresholds = [...b.thresholds].sort((x, y) => x - y);
      const check = async (spent: bigint, key: string, extra: Record<string, unknown>) => {
        for (const t of thresholds) {
          if (spent * 1_000_000n < b.amount * BigInt(Math.round(t * 1_000_000))) break;
          await this.notify(`${key}:${t}`, t >= 1 ? 'budget.exhausted' : 'budget.threshold_crossed', {
            budget_id: b.id, name: b.name, scope: b.scope, window: b.window, action: b.action, threshold: t, spent_usd: fromUnits(spent), limit_usd: b.amount_usd, ...extra,
          });
        }
      };
      if (b.window === 'run') {
        for (const [runId, spent] of this.budgets.runSpends(b)) await check(spent, `budget:${b.id}:run:${runId}`, { run_id: runId });
      } else {
        const { start, end } = windowBounds(b.window, at);
        await check(this.budgets.spent(b), `budget:${b.id}:${start}`, { window_start: new Date(start).toISOString(), window_end: new Date(end).toISOString() });
      }
    }
    if (!anomalies) return;
    for (const dimension of this.opts.anomalyDimensions) {
      const found = await detectAnomalies(this.client, { dimension, to: at, windowMs: 3_600_000, ratio: this.opts.ratio, minSpend: this.opts.minSpend });
      for (const a of found) await this.notify(`anomaly:${a.dimension}:${a.value}:${a.hour}:${a.kind}`, 'anomaly.detected', a);
    }
  }
}
