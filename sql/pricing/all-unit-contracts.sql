-- Contracted rates for non-token units, loaded into memory with the price book.
SELECT provider, item, unit, toUnixTimestamp64Milli(effective_from) AS effective_from,
       toUnixTimestamp64Milli(effective_to) AS effective_to, kind, toString(discount_pct) AS discount_pct,
       toString(per_unit) AS per_unit
FROM contract_unit_rates FINAL
SETTINGS log_comment = 'pricing.all-unit-contracts'
