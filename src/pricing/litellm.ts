// Import of LiteLLM's model_prices_and_context_window.json: per-token prices become prices per
// million tokens; cache, reasoning and *_above_200k_tokens tiers are kept; per-character and
// per-second prices become unit prices. Entries without a usable price are reported, not guessed.
import { numberToDecimalString, shiftDecimal, toUnits } from './decimal.js';

type Entry = Record<string, unknown>;
export type ImportReport = { imported: number; tokens: number; characters: number; seconds: number; tiered: number; skipped: { key: string; reason: string }[] };

const perMillion = (v: unknown): string | null | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return null;
  const s = shiftDecimal(numberToDecimalString(v), 6);
  toUnits(s);
  return s;
};
const perUnit = (v: unknown): string | null | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return null;
  const s = numberToDecimalString(v);
  toUnits(s);
  return s;
};

/** Split "provider/model" keys: the provider comes from litellm_provider, the prefix is dropped. */
function itemOf(key: string, provider: string): string {
  const k = key.toLowerCase();
  return k.startsWith(`${provider}/`) ? k.slice(provider.length + 1) : k;
}

export function litellmRows(file: Record<string, unknown>, effectiveFrom: string): { rows: Record<string, unknown>[]; report: ImportReport } {
  const rows: Record<string, unknown>[] = [];
  const report: ImportReport = { imported: 0, tokens: 0, characters: 0, seconds: 0, tiered: 0, skipped: [] };
  for (const [key, value] of Object.entries(file)) {
    if (key === 'sample_spec') continue;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      report.skipped.push({ key, reason: 'not an object' });
      continue;
    }
    const e = value as Entry;
    const provider = typeof e.litellm_provider === 'string' ? e.litellm_provider.toLowerCase() : '';
    const item = itemOf(key, provider);
    const base = { provider, item, effective_from: effectiveFrom, source: 'litellm', catalog_version: 'litellm import' };
    try {
      const input = perMillion(e.input_cost_per_token);
      const output = perMillion(e.output_cost_per_token);
      let added = false;
      if (input !== undefined || output !== undefined) {
        if (input === null || output === null) throw new Error('token prices must be non-negative numbers');
        // As PUT /prices: a token price without a provider would price every provider's model of that name.
        if (!provider) throw new Error('token prices need a provider (litellm_provider)');
        const tierInput = perMillion(e.input_cost_per_token_above_200k_tokens);
        const tierOutput = perMillion(e.output_cost_per_token_above_200k_tokens);
        const tierCacheRead = perMillion(e.cache_read_input_token_cost_above_200k_tokens);
        const tierCacheWrite = perMillion(e.cache_creation_input_token_cost_above_200k_tokens);
        const tiered = [tierInput, tierOutput, tierCacheRead, tierCacheWrite].some((v) => v !== undefined && v !== null);
        rows.push({
          ...base, unit: 'tokens',
          input_per_mtok: input ?? '0', output_per_mtok: output ?? '0',
          cache_read_per_mtok: perMillion(e.cache_read_input_token_cost) ?? null,
          cache_write_per_mtok: perMillion(e.cache_creation_input_token_cost) ?? null,
          reasoning_per_mtok: perMillion(e.output_cost_per_reasoning_token) ?? null,
          per_unit: '0',
          tier_above_tokens: tiered ? 200_000 : 0,
          tier_input_per_mtok: tierInput ?? null, tier_output_per_mtok: tierOutput ?? null,
          tier_cache_read_per_mtok: tierCacheRead ?? null, tier_cache_write_per_mtok: tierCacheWrite ?? null,
        });
        report.tokens++;
        if (tiered) report.tiered++;
        added = true;
      }
      for (const [field, unit] of [['input_cost_per_character', 'characters'], ['input_cost_per_second', 'seconds']] as const) {
        const price = perUnit(e[field]);
        if (price === undefined) continue;
        if (price === null) throw new Error(`${field} must be a non-negative number`);
        rows.push({ ...base, unit, per_unit: price });
        report[unit]++;
        added = true;
      }
      if (!added) report.skipped.push({ key, reason: 'no per-token, per-character or per-second price' });
    } catch (err) {
      report.skipped.push({ key, reason: (err as Error).message });
    }
  }
  report.imported = rows.length;
  return { rows, report };
}
