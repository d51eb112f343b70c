-- All contracted rates, loaded into memory with the price book.
SELECT provider, model, toUnixTimestamp64Milli(effective_from) AS effective_from,
       toUnixTimestamp64Milli(effective_to) AS effective_to, kind, toString(discount_pct) AS discount_pct,
       toString(input_per_mtok) AS input_per_mtok, toString(output_per_mtok) AS output_per_mtok,
       toString(cache_read_per_mtok) AS cache_read_per_mtok, toString(cache_write_per_mtok) AS cache_write_per_mtok,
       toString(reasoning_per_mtok) AS reasoning_per_mtok
FROM contract_rates FINAL
SETTINGS log_comment = 'pricing.all-contracts'
