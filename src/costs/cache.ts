// Response cache for analytics: bounded by entries and bytes, keyed by the caller's scope and the
// normalized query. Windows that ended more than an hour ago live longer than windows touching
// "now"; an insert in this process drops every entry whose window it touches at once (and every
// entry with runs in the product lines where a run got an event), and other processes' inserts
// are bounded by the TTL.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Committed } from '../events/ingest.js';

/**
 * `runs`: the answer counts runs or sums whole runs, which an event outside its window can change
 * (a late event moves its run's start; a run's attributes are the greatest over all its events).
 */
export type CachedResponse = { body: string; contentType: string; etag: string; headers: Record<string, string>; from: number; to: number; scope?: string[]; runs: boolean; expiresAt?: number };

export type CacheOptions = { maxEntries: number; maxBytes: number; ttlMs: number; closedTtlMs: number };

export class ResponseCache {
  readonly #lru: LRUCache<string, CachedResponse>;
  constructor(private readonly opts: CacheOptions) {
    this.#lru = new LRUCache({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (v, k) => Math.max(1, v.body.length + k.length),
      ttlAutopurge: false,
    });
  }

  get(key: string): CachedResponse | undefined {
    return this.#lru.get(key);
  }

  /** TTL for a window: short when it reaches into the last hour (data still arriving). */
  ttlFor(to: number, now = Date.now()): number {
    return to <= now - 3_600_000 ? this.opts.closedTtlMs : this.opts.ttlMs;
  }

  /** Store an entry; an entry stored again under a second key keeps its first expiry. */
  set(key: string, value: CachedResponse): void {
    if (this.opts.ttlMs <= 0) return;
    value.expiresAt ??= Date.now() + this.ttlFor(value.to);
    const ttl = value.expiresAt - Date.now();
    if (ttl > 0) this.#lru.set(key, value, { ttl });
  }

  /**
   * Drop entries an insert may have changed: an overlapping window in a visible product line, and
   * any entry with runs in a product line where an event of a run arrived, whatever its window.
   */
  invalidate(c: Committed): void {
    const sees = (entry: CachedResponse, lines: Set<string>) => !entry.scope || entry.scope.some((pl) => lines.has(pl));
    for (const [key, entry] of this.#lru.entries()) {
      const overlaps = entry.from <= c.maxTimestamp && c.minTimestamp < entry.to;
      if ((overlaps && sees(entry, c.productLines)) || (entry.runs && c.runProductLines.size > 0 && sees(entry, c.runProductLines))) this.#lru.delete(key);
    }
  }
}

export const etagOf = (body: string) => `"${createHash('sha1').update(body).digest('base64url')}"`;

/** Does an If-None-Match header name this ETag (or *)? */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
