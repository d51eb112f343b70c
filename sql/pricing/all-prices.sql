-- The whole price book (it is small: a few thousand versions), loaded into memory for pricing.
SELECT provider, item, unit, toUnixTimestamp64Milli(effective_from) AS effective_from,
       toString(input_per_mtok) AS input_per_mtok, toString(output_per_mtok) AS output_per_mtok,
       toString(cache_read_per_mtok) AS cache_read_per_mtok, toString(cache_write_per_mtok) AS cache_write_per_mtok,
       toString(reasoning_per_mtok) AS reasoning_per_mtok, toString(per_unit) AS per_unit, source,
       tier_above_tokens, toString(tier_input_per_mtok) AS tier_input_per_mtok, toString(tier_output_per_mtok) AS tier_output_per_mtok,
       toString(tier_cache_read_per_mtok) AS tier_cache_read_per_mtok, toString(tier_cache_write_per_mtok) AS tier_cache_write_per_mtok
FROM prices FINAL
SETTINGS log_comment = 'pricing.all-prices'
