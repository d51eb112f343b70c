// Coordination between API processes that share one ClickHouse and nothing else. ClickHouse has
// no compare-and-set, but it deduplicates inserts by token: of several inserts of one claim key
// only the first is stored, so whoever reads back its own name owns the key. On that: claims
// ("announce this crossing once"), and leases with terms and heartbeats (one applier at a time).
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from '../sql.js';

export class Claims {
  /** This process's name in claims: unique per start, readable in logs. */
  readonly owner: string;
  constructor(private readonly client: ClickHouseClient, private readonly replicated = false, name = `${process.pid}`) {
    this.owner = `${name}-${randomUUID().slice(0, 8)}`;
  }

  /** Try to own `key`; true when this process holds it (now or from an earlier call). */
  async claim(key: string): Promise<boolean> {
    await this.client.insert({
      table: 'ledger_claims',
      values: [{ key, owner: this.owner }],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: `claim:${key}` },
    });
    return (await this.ownerOf(key)) === this.owner;
  }

  async ownerOf(key: string): Promise<string | undefined> {
    const rows = await (await this.client.query({
      query: sql('cluster/claim-owner'),
      query_params: { key },
      format: 'JSONEachRow',
      // On replicated tables, read what Keeper has acknowledged, not a lagging replica.
      clickhouse_settings: this.replicated ? { select_sequential_consistency: '1' } : {},
    })).json<{ owner: string }>();
    return rows[0]?.owner || undefined;
  }

  lease(name: string, ttlMs: number): Lease {
    return new Lease(this.client, this, name, ttlMs);
  }
}

type Latest = { key: string; owner: string; last_seen_ms: number; now_ms: number };

/**
 * A lease held by at most one process at a time. Terms are claims `lease:<name>:<term>`; the
 * holder writes a heartbeat every ttl/4; a term whose last sign of life is older than ttl (by the
 * engine's clock) may be taken over by claiming the next term. The holder trusts its lease only
 * until ttl − margin after it last sent a heartbeat (by its own monotonic clock), so work it starts
 * inside that bound ends before anyone else may take over.
 */
export class Lease {
  #term: string | undefined;
  #validUntil = 0;
  #lastBeat = 0;
  constructor(private readonly client: ClickHouseClient, private readonly claims: Claims, readonly name: string, readonly ttlMs: number) {}

  get prefix(): string {
    return `lease:${this.name}:`;
  }

  /** The claim key of the term this process holds, if it holds one. */
  get term(): string | undefined {
    return this.held(0) ? this.#term : undefined;
  }

  /** Held, with at least `marginMs` of validity left. */
  held(marginMs: number): boolean {
    return this.#term !== undefined && performance.now() + marginMs < this.#validUntil;
  }

  /** Keep or take the lease; returns whether this process holds it afterwards. Call often. */
  async tick(): Promise<boolean> {
    const sentAt = performance.now();
    if (this.#term && this.held(0)) {
      if (sentAt - this.#lastBeat < this.ttlMs / 4) return true;
      await this.client.insert({ table: 'lease_heartbeats', values: [{ lease_key: this.#term, owner: this.claims.owner }], format: 'JSONEachRow' });
      const latest = await this.latest();
      if (latest?.key !== this.#term) return this.#lose();
      this.#lastBeat = sentAt;
      this.#validUntil = sentAt + this.ttlMs;
      return true;
    }
    this.#term = undefined;
    const latest = await this.latest();
    // Our own term whose validity lapsed here (a slow heartbeat, a stalled event loop) is not
    // resumed: another process may be claiming the next term right now on the engine's clock.
    // Claiming the next term ourselves is the compare-and-set that settles it.
    const ours = latest?.owner === this.claims.owner;
    // A released term (no owner) is over at once; a held one only after ttl without a sign of life.
    if (latest && !ours && latest.owner !== '' && latest.now_ms - latest.last_seen_ms <= this.ttlMs) return false;
    const next = `${this.prefix}${String(latest ? Number(latest.key.slice(this.prefix.length)) + 1 : 1).padStart(12, '0')}`;
    if (!(await this.claims.claim(next))) return false;
    this.#term = next;
    this.#lastBeat = sentAt;
    this.#validUntil = sentAt + this.ttlMs;
    return true;
  }

  /** Give the lease up now (shutdown), so another process need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.#term) return;
    const term = this.#term;
    this.#lose();
    // Claiming the next term on nobody's behalf ends ours at once; the next taker claims the one after.
    const next = `${this.prefix}${String(Number(term.slice(this.prefix.length)) + 1).padStart(12, '0')}`;
    await this.client.insert({
      table: 'ledger_claims',
      values: [{ key: next, owner: '' }],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: `claim:${next}` },
    });
  }

  async latest(): Promise<Latest | undefined> {
    const rows = await (await this.client.query({ query: sql('cluster/lease-latest'), query_params: { prefix: this.prefix }, format: 'JSONEachRow' })).json<Latest>();
    const row = rows[0];
    return row ? { ...row, last_seen_ms: Number(row.last_seen_ms), now_ms: Number(row.now_ms) } : undefined;
  }

  #lose(): false {
    this.#term = undefined;
    this.#validUntil = 0;
    return false;
  }
}
