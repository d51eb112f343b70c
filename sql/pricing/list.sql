-- Price versions, optionally only those in force at {at}, optionally for one provider / item.
SELECT provider, item, unit, toString(effective_from) AS effective_from,
       toString(input_per_mtok) AS input_per_mtok, toString(output_per_mtok) AS output_per_mtok,
       toString(cache_read_per_mtok) AS cache_read_per_mtok, toString(cache_write_per_mtok) AS cache_write_per_mtok,
       toString(reasoning_per_mtok) AS reasoning_per_mtok, toString(per_unit) AS per_unit,
       tier_above_tokens, toString(tier_input_per_mtok) AS tier_input_per_mtok, toString(tier_output_per_mtok) AS tier_output_per_mtok,
       source, catalog_version
FROM prices FINAL
WHERE ({provider:String} = '' OR provider = lower({provider:String}))
  AND ({item:String} = '' OR item = lower({item:String}))
  AND effective_from <= {at:DateTime64(3, 'UTC')}
ORDER BY provider, item, unit, effective_from DESC
{{latest_only}}
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'pricing.list'
