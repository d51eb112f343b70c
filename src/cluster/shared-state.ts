// Server mode: what every process holds in memory (price book, taxonomy, budgets, webhooks, budget
// spend) follows what the other processes write. Every CLUSTER_SYNC_MS one query fingerprints the
// configuration tables (row count and a hash of every stored row, so no writer has to remember to
// bump a version) and only what changed is reloaded; budget spend is re-read when the ledger's
// watermark moved, i.e. when any process's events were applied since the last read.
import type { ClickHouseClient } from '@clickhouse/client';

/** The configuration tables held in memory by some process (fixed identifiers, never user input). */
export const stateTables = ['prices', 'contract_rates', 'contract_unit_rates', 'product_lines', 'budgets', 'webhooks'] as const;
export type StateTable = (typeof stateTables)[number];
export type Fingerprints = Map<StateTable, string>;

/** Row count and the sum of every stored row's hash, per table: any insert or delete changes it (merges do too: a harmless reload). */
export async function fingerprintState(client: ClickHouseClient): Promise<Fingerprints> {
  const query = stateTables.map((t) => `SELECT '${t}' AS t, toString(count()) AS n, toString(sum(cityHash64(*))) AS h FROM ${t}`).join('\nUNION ALL\n');
  const rows = await (await client.query({ query: `${query}\nSETTINGS log_comment = 'cluster.state-fingerprint'`, format: 'JSONEachRow' })).json<{ t: StateTable; n: string; h: string | null }>();
  return new Map(rows.map((r) => [r.t, `${r.n}:${r.h ?? '0'}`]));
}

export type Watched = { name: string; tables: readonly StateTable[]; reload: () => Promise<unknown> };
export type SpendFollower = {
  /** The ledger's watermark (src/events/applier.ts): it moves whenever any process's rows are applied. */
  watermark: () => Promise<number>;
  /** Re-read spend (and act on it); true asks for another read next round (the read may have counted rows twice). */
  sync: () => Promise<boolean>;
};
type Log = { warn: (obj: unknown, msg: string) => void };

/** Runs `round` no more than one at a time; a call during a round asks for one more right after it. */
class Rounds {
  #running: Promise<void> | undefined;
  #again = false;
  constructor(private readonly round: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.round();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}

/**
 * Two independent rounds, so a slow spend read never delays a configuration change: `config`
 * (fingerprint, reload what changed) and `spend` (re-read budget spend if the ledger moved).
 * Call tick() every CLUSTER_SYNC_MS; a round that overruns is followed at once by the next.
 */
export class SharedState {
  #prints: Fingerprints;
  #watermark: number | undefined;
  readonly #config = new Rounds(() => this.#configRound());
  readonly #spend = new Rounds(() => this.#spendRound());
  #warnedAt = -Infinity;

  /** `baseline`: fingerprints taken before the initial loads, so a change made meanwhile is not missed. */
  constructor(private readonly client: ClickHouseClient, private readonly watched: Watched[], baseline: Fingerprints, private readonly spend: SpendFollower, private readonly log: Log, private readonly slowMs = Infinity) {
    this.#prints = new Map(baseline);
  }

  /** Both rounds, once each (or once more after the running one). */
  async tick(): Promise<void> {
    await Promise.all([this.#timed('configuration', this.#config), this.#timed('budget spend', this.#spend)]);
  }

  async #timed(what: string, rounds: Rounds): Promise<void> {
    const started = performance.now();
    try {
      await rounds.run();
    } catch (err) {
      this.log.warn({ err }, `shared state: ${what} round failed`);
    }
    const ms = performance.now() - started;
    // The bound each process promises is CLUSTER_SYNC_MS plus a round: say when a round stretches it.
    if (ms > this.slowMs && performance.now() - this.#warnedAt > 60_000) {
      this.#warnedAt = performance.now();
      this.log.warn({ ms: Math.round(ms) }, `shared state: a ${what} round took longer than CLUSTER_SYNC_MS, which stretches the bound on seeing other processes' changes`);
    }
  }

  async #configRound(): Promise<void> {
    // Read the fingerprints before reloading: a change landing during a reload shows in the next round.
    const now = await fingerprintState(this.client);
    const changed = this.watched.filter((w) => w.tables.some((t) => now.get(t) !== this.#prints.get(t)));
    await Promise.all(changed.map(async (w) => {
      try {
        await w.reload();
        for (const t of w.tables) this.#prints.set(t, now.get(t)!);
      } catch (err) {
        // Fingerprint kept: the next round tries again.
        this.log.warn({ err }, `shared state: reloading ${w.name} failed`);
      }
    }));
  }

  async #spendRound(): Promise<void> {
    const mark = await this.spend.watermark();
    if (mark === this.#watermark) return;
    const again = await this.spend.sync();
    this.#watermark = again ? undefined : mark;
  }
}
