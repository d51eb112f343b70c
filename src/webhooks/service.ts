// Webhook delivery: every notification goes to every webhook, signed like Stripe
// (X-Ledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">), retried with
// exponential backoff, each attempt recorded. Deliveries run in the background, never on the
// ingest path; pending ones are picked up again after a restart.
import { createHmac, randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { postPinned } from './pinned-post.js';
import { resolveWebhookTarget, webhookUrlProblem, type Resolver } from './ssrf.js';
import { toClickHouseTime } from '../clickhouse-time.js';

export type Webhook = { id: string; url: string; secret: string };
export type Notification = { id: string; dedup_key: string; type: string; payload: string };
type Job = { notification: Notification; webhook: Webhook; attempt: number; due: number };

export type WebhookOptions = { allowPrivate: boolean; timeoutMs: number; maxAttempts: number; retryBaseMs: number; /** name resolution (tests) */ resolve?: Resolver };

export function sign(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Webhooks {
  #hooks = new Map<string, Webhook>();
  #jobs: Job[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #closed = false;
  constructor(private readonly client: ClickHouseClient, private readonly opts: WebhookOptions, private readonly log: FastifyBaseLogger) {}

  async load(): Promise<void> {
    const rows = await (await this.client.query({ query: 'SELECT id, url, secret FROM webhooks FINAL WHERE deleted = 0', format: 'JSONEachRow' })).json<Webhook>();
    this.#hooks = new Map(rows.map((w) => [w.id, w]));
    // Pick up deliveries that were pending when the process stopped.
    const pending = await (await this.client.query({
      query: `SELECT n.id AS id, n.dedup_key AS dedup_key, n.type AS type, n.payload AS payload, w.id AS webhook_id,
                     max(d.attempt) AS attempts, argMax(d.outcome, d.attempt) AS last_outcome,
                     toUnixTimestamp64Milli(argMax(d.next_attempt_at, d.attempt)) AS due
              FROM notifications AS n FINAL
              CROSS JOIN (SELECT id FROM webhooks FINAL WHERE deleted = 0) AS w
              LEFT JOIN webhook_deliveries AS d ON d.notification_id = n.id AND d.webhook_id = w.id
              GROUP BY n.id, n.dedup_key, n.type, n.payload, w.id
              HAVING last_outcome NOT IN ('delivered', 'failed')`,
      format: 'JSONEachRow',
    })).json<{ id: string; dedup_key: string; type: string; payload: string; webhook_id: string; attempts: number; due: number | null }>();
    for (const p of pending) {
      const webhook = this.#hooks.get(p.webhook_id);
      if (webhook) this.#jobs.push({ notification: p, webhook, attempt: Number(p.attempts) + 1, due: p.due ? Number(p.due) : Date.now() });
    }
    this.#schedule();
  }

  list(): Omit<Webhook, 'secret'>[] {
    return [...this.#hooks.values()].map(({ id, url }) => ({ id, url }));
  }

  async create(url: string, secret: string): Promise<{ id: string; url: string } | { problem: string }> {
    const problem = await webhookUrlProblem(url, this.opts.allowPrivate, this.opts.resolve);
    if (problem) return { problem };
    const hook = { id: randomUUID(), url, secret };
    await this.client.insert({ table: 'webhooks', values: [{ ...hook, updated_at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow' });
    this.#hooks.set(hook.id, hook);
    return { id: hook.id, url };
  }

  async remove(id: string): Promise<boolean> {
    const hook = this.#hooks.get(id);
    if (!hook) return false;
    await this.client.insert({ table: 'webhooks', values: [{ ...hook, deleted: 1, updated_at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow' });
    this.#hooks.delete(id);
    this.#jobs = this.#jobs.filter((j) => j.webhook.id !== id);
    return true;
  }

  /** Queue a stored notification for every webhook. */
  enqueue(notification: Notification): void {
    for (const webhook of this.#hooks.values()) this.#jobs.push({ notification, webhook, attempt: 1, due: Date.now() });
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#closed || this.#running) return;
    clearTimeout(this.#timer);
    if (this.#jobs.length === 0) return;
    const next = Math.min(...this.#jobs.map((j) => j.due));
    this.#timer = setTimeout(() => void this.#run(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      const due = this.#jobs.filter((j) => j.due <= Date.now());
      this.#jobs = this.#jobs.filter((j) => j.due > Date.now());
      await Promise.all(due.map((job) => this.#attempt(job)));
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  async #attempt(job: Job): Promise<void> {
    const { notification, webhook, attempt } = job;
    let status = 0;
    let error = '';
    // Resolve and check again (DNS may have changed since registration), then connect to exactly
    // the address that passed: no second lookup between the check and the connection.
    const target = await resolveWebhookTarget(webhook.url, this.opts.allowPrivate, this.opts.resolve);
    if ('problem' in target) error = target.problem;
    else {
      const t = Math.floor(Date.now() / 1000);
      try {
        const headers = { 'content-type': 'application/json', 'user-agent': 'agent-ledger-webhooks/1', 'x-ledger-signature': sign(webhook.secret, t, notification.payload), 'x-ledger-event': notification.type, 'x-ledger-delivery': notification.id };
        status = (await postPinned(target, headers, notification.payload, this.opts.timeoutMs)).status;
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (err) {
        error = (err as Error).message || String(err);
      }
    }
    const delivered = error === '';
    const final = delivered || attempt >= this.opts.maxAttempts;
    const nextAt = final ? null : Date.now() + this.opts.retryBaseMs * 2 ** (attempt - 1);
    try {
      await this.client.insert({
        table: 'webhook_deliveries',
        values: [{ notification_id: notification.id, webhook_id: webhook.id, attempt, outcome: delivered ? 'delivered' : final ? 'failed' : 'retrying', http_status: status, error: error.slice(0, 500), attempted_at: toClickHouseTime(Date.now()), next_attempt_at: nextAt === null ? null : toClickHouseTime(nextAt) }],
        format: 'JSONEachRow',
      });
    } catch (err) {
      this.log.warn({ err }, 'could not record a webhook delivery attempt');
    }
    if (nextAt !== null) this.#jobs.push({ ...job, attempt: attempt + 1, due: nextAt });
  }
}
