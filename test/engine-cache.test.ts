// The embedded engine's cache of decompressed blocks (ENGINE_UNCOMPRESSED_CACHE_MB, src/clickhouse.ts):
// configured on the engine itself, used by short reads, off when 0, and closed with the client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/clickhouse.js';
import { configWith } from '../src/config.js';

const dirs: string[] = [];
const open = (mb?: number) => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-cache-'));
  dirs.push(dir);
  return createEngine(configWith({ DATA_DIR: dir, LOG_LEVEL: 'warn', ...(mb === undefined ? {} : { ENGINE_UNCOMPRESSED_CACHE_MB: mb }) }));
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const text = async (e: Engine, query: string) => (await (await e.client.query({ query, format: 'TabSeparated' })).text()).trim();
const hits = async (e: Engine) => Number((await text(e, "SELECT sum(value) FROM system.events WHERE event = 'UncompressedCacheHits'")) || 0);

/** A table of 200,000 rows and a short read of 2,000 of them, twice: the hits the second read made. */
async function secondReadHits(e: Engine): Promise<{ hits: number; answer: string }> {
  await e.client.command({ query: 'CREATE TABLE t (k UInt32, v Decimal(38, 12)) ENGINE = MergeTree ORDER BY k' });
  await e.client.command({ query: 'INSERT INTO t SELECT number, number / 1000 FROM numbers(200000)' });
  const read = () => text(e, 'SELECT sum(v), count() FROM t WHERE k >= 100000 AND k < 102000');
  const first = await read();
  const before = await hits(e);
  expect(await read()).toBe(first);
  return { hits: (await hits(e)) - before, answer: first };
}

describe('the embedded engine block cache', () => {
  it('is 256 MiB by default, used by every statement of the session, and serves a repeated short read', async () => {
    const e = await open();
    try {
      expect(await text(e, "SELECT value FROM system.server_settings WHERE name = 'uncompressed_cache_size'")).toBe('268435456');
      expect(await text(e, "SELECT value FROM system.settings WHERE name = 'use_uncompressed_cache'")).toBe('1');
      const r = await secondReadHits(e);
      expect(r.answer).toBe('201999\t2000'); // Σ k / 1000 for k in [100000, 102000)
      expect(r.hits).toBeGreaterThan(0);
    } finally {
      await e.client.close();
    }
  });

  it('is off with ENGINE_UNCOMPRESSED_CACHE_MB=0, and the next engine (another directory) takes its own size', async () => {
    const off = await open(0);
    try {
      expect(await text(off, "SELECT value FROM system.server_settings WHERE name = 'uncompressed_cache_size'")).toBe('0');
      expect(await text(off, "SELECT value FROM system.settings WHERE name = 'use_uncompressed_cache'")).toBe('0');
      expect((await secondReadHits(off)).hits).toBe(0);
    } finally {
      await off.client.close();
    }
    // closing the client released the directory (the engine's configuring session included)
    const again = await open(64);
    try {
      expect(await text(again, "SELECT value FROM system.server_settings WHERE name = 'uncompressed_cache_size'")).toBe('67108864');
    } finally {
      await again.client.close();
    }
  });

  it('refuses a size that is not a whole number of MiB', () => {
    expect(() => configWith({ ENGINE_UNCOMPRESSED_CACHE_MB: 'lots' })).toThrow(/ENGINE_UNCOMPRESSED_CACHE_MB:/);
    expect(() => configWith({ ENGINE_UNCOMPRESSED_CACHE_MB: -1 })).toThrow(/ENGINE_UNCOMPRESSED_CACHE_MB:/);
  });
});
