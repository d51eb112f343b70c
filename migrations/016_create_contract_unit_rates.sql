-- Contracted rates for non-token units (calls, characters, seconds, GPU / CPU / GB hours, …): a
-- discount off the list per-unit price or an override per unit, per provider and item (tool or
-- model, '' = every item of the provider), effective-dated like token contracts.
CREATE TABLE IF NOT EXISTS contract_unit_rates {{ON_CLUSTER}}
(
    provider       LowCardinality(String),
    item           String,
    unit           LowCardinality(String),
    effective_from DateTime64(3, 'UTC'),
    effective_to   Nullable(DateTime64(3, 'UTC')),
    kind           LowCardinality(String),
    discount_pct   Decimal(9, 6) DEFAULT 0,
    per_unit       Nullable(Decimal(38, 12)),
    created_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(created_at)
ORDER BY (provider, item, unit, effective_from);
