// Webhook delivery: every notification goes to every webhook, signed like Stripe
// (X-Ledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">), retried with
// exponential backoff, each attempt recorded. Deliveries run in the background, never on the
// ingest path; pending ones are picked up again after a restart. With several processes on one
// ClickHouse server the notifications table is an outbox: only the holder of the `webhooks` lease
// delivers, picking up what any process stored, so each notification reaches a webhook once.
import { createHmac, randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { postPinned } from './pinned-post.js';
import { resolveWebhookTarget, webhookUrlProblem, type Resolver } from './ssrf.js';
import { toClickHouseTime } from '../clickhouse-time.js';
import type { Lease } from '../cluster/claims.js';

export type Webhook = { id: string; url: string; secret: string };
export type Notification = { id: string; dedup_key: string; type: string; payload: string };
type Job = { notification: Notification; webhook: Webhook; attempt: number; due: number };

export type WebhookOptions = {
  allowPrivate: boolean; timeoutMs: number; maxAttempts: number; retryBaseMs: number; /** name resolution (tests) */ resolve?: Resolver;
  /** Server mode: only the holder of this lease delivers; it polls the outbox every pollMs. */
  lease?: Lease; pollMs?: number;
};

const jobKey = (notificationId: string, webhookId: string) => `${notificationId}|${webhookId}`;
type PendingRow = { id: string; dedup_key: string; type: string; payload: string; webhook_id: string; url: string; secret: string; attempts: number; due: number | null };

// Deliveries still owed: per notification and webhook registered by the time it was raised, the
// last attempt's outcome is neither delivered nor failed. {recent} narrows it to recent notifications.
const PENDING = `SELECT n.id AS id, n.dedup_key AS dedup_key, n.type AS type, n.payload AS payload, w.id AS webhook_id, w.url AS url, w.secret AS secret,
       max(d.attempt) AS attempts, argMax(d.outcome, d.attempt) AS last_outcome,
       toUnixTimestamp64Milli(argMax(d.next_attempt_at, d.attempt)) AS due
FROM (SELECT id, dedup_key, type, payload, created_at FROM notifications FINAL WHERE 1 {recent}) AS n
CROSS JOIN (SELECT id, url, secret, updated_at FROM webhooks FINAL WHERE deleted = 0) AS w
LEFT JOIN (SELECT * FROM webhook_deliveries WHERE 1 {recent_deliveries}) AS d ON d.notification_id = n.id AND d.webhook_id = w.id
WHERE w.updated_at <= n.created_at
GROUP BY n.id, n.dedup_key, n.type, n.payload, w.id, w.url, w.secret
HAVING last_outcome NOT IN ('delivered', 'failed')`;

export function sign(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Webhooks {
  #hooks = new Map<string, Webhook>();
  #jobs: Job[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #closed = false;
  /** Server mode: jobs queued or in flight, and recently finished ones (a poll may still see them pending). */
  readonly #active = new Set<string>();
  readonly #done = new Map<string, number>();
  #term: string | undefined;
  #poller: NodeJS.Timeout | undefined;
  constructor(private readonly client: ClickHouseClient, private readonly opts: WebhookOptions, private readonly log: FastifyBaseLogger) {}

  async load(): Promise<void> {
    await this.reloadHooks();
    // Pick up deliveries that were pending when the process stopped (server mode: the lease holder does).
    if (!this.opts.lease) this.#queue(await this.#pending(''));
  }

  /** Re-read the registered webhooks (another process may have added or removed one). */
  async reloadHooks(): Promise<void> {
    const rows = await (await this.client.query({ query: 'SELECT id, url, secret FROM webhooks FINAL WHERE deleted = 0', format: 'JSONEachRow' })).json<Webhook>();
    this.#hooks = new Map(rows.map((w) => [w.id, w]));
    this.#jobs = this.#jobs.filter((j) => {
      if (this.#hooks.has(j.webhook.id)) return true;
      this.#active.delete(jobKey(j.notification.id, j.webhook.id));
      return false;
    });
  }

  /** Server mode: take part in the delivery lease and poll the outbox until close(). */
  start(): void {
    if (!this.opts.lease || this.#poller) return;
    const loop = () => {
      this.#poller = setTimeout(async () => {
        await this.poll().catch((err) => this.log.warn({ err }, 'webhooks: polling the outbox failed'));
        if (!this.#closed) loop();
      }, this.opts.pollMs ?? 1000);
      this.#poller.unref();
    };
    loop();
  }

  /** Server mode: keep or take the lease; as holder, queue every delivery still owed. */
  async poll(): Promise<void> {
    const lease = this.opts.lease;
    if (!lease || this.#closed) return;
    if (!(await lease.tick())) {
      if (this.#term !== undefined) this.#forget();
      return;
    }
    // A new term starts from the table alone: another holder may have delivered meanwhile.
    if (lease.term !== this.#term) {
      this.#forget();
      this.#term = lease.term;
    }
    const now = Date.now();
    for (const [key, at] of this.#done) if (now - at > this.#horizonMs()) this.#done.delete(key);
    const recent = 'AND created_at >= now64(3) - toIntervalMillisecond({horizon:UInt64})';
    this.#queue((await this.#pending(recent)).filter((p) => !this.#active.has(jobKey(p.id, p.webhook_id)) && !this.#done.has(jobKey(p.id, p.webhook_id))));
  }

  #forget(): void {
    this.#term = undefined;
    this.#jobs = [];
    this.#active.clear();
    this.#done.clear();
  }

  /** Notifications older than this have finished every attempt (the retry schedule plus an hour). */
  #horizonMs(): number {
    const span = this.opts.retryBaseMs * (2 ** Math.max(0, this.opts.maxAttempts - 1)) + this.opts.maxAttempts * this.opts.timeoutMs;
    return Math.min(span + 3_600_000, 400 * 86_400_000);
  }

  async #pending(recent: string): Promise<PendingRow[]> {
    const query = PENDING.replace('{recent}', recent).replace('{recent_deliveries}', recent ? `AND notification_id IN (SELECT id FROM notifications WHERE 1 ${recent})` : '');
    return (await this.client.query({ query, query_params: { horizon: this.#horizonMs() }, format: 'JSONEachRow' })).json<PendingRow>();
  }

  #queue(pending: PendingRow[]): void {
    for (const p of pending) {
      const webhook = { id: p.webhook_id, url: p.url, secret: p.secret };
      this.#active.add(jobKey(p.id, p.webhook_id));
      this.#jobs.push({ notification: p, webhook, attempt: Number(p.attempts) + 1, due: p.due ? Number(p.due) : Date.now() });
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
    for (const key of this.#active) if (key.endsWith(`|${id}`)) this.#active.delete(key);
    return true;
  }

  /** Queue a stored notification for every webhook (server mode: only the lease holder delivers; others leave it to its poll). */
  enqueue(notification: Notification): void {
    if (this.opts.lease && !this.opts.lease.held(0)) return;
    for (const webhook of this.#hooks.values()) {
      // The holder's poll may have queued it already.
      if (this.#active.has(jobKey(notification.id, webhook.id))) continue;
      this.#active.add(jobKey(notification.id, webhook.id));
      this.#jobs.push({ notification, webhook, attempt: 1, due: Date.now() });
    }
    this.#schedule();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#poller);
    await this.opts.lease?.release().catch(() => undefined);
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
    const key = jobKey(notification.id, webhook.id);
    // Server mode: attempt only with enough lease left to finish (timeout) and record it before
    // another process may take over; otherwise the next holder picks the job up from the table.
    const lease = this.opts.lease;
    if (lease && (!lease.held(this.opts.timeoutMs + 2000) || this.#closed)) {
      this.#active.delete(key);
      return;
    }
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
    else {
      this.#active.delete(key);
      if (lease) this.#done.set(key, Date.now());
    }
  }
}
