-- The price book: one row per version of a price (provider + item + unit + effective_from).
-- LLM prices are per million tokens per bucket; other units carry per_unit. A NULL cache or
-- reasoning price means "priced at the input (cache) or output (reasoning) rate".
CREATE TABLE IF NOT EXISTS prices {{ON_CLUSTER}}
(
    provider             LowCardinality(String),
    item                 String,
    unit                 LowCardinality(String),
    effective_from       DateTime64(3, 'UTC'),
    input_per_mtok       Decimal(38, 12) DEFAULT 0,
    output_per_mtok      Decimal(38, 12) DEFAULT 0,
    cache_read_per_mtok  Nullable(Decimal(38, 12)),
    cache_write_per_mtok Nullable(Decimal(38, 12)),
    reasoning_per_mtok   Nullable(Decimal(38, 12)),
    per_unit             Decimal(38, 12) DEFAULT 0,
    -- Long-context tier: when a request's input_tokens exceed tier_above_tokens, every token of it
    -- is priced at the tier rates (a NULL tier rate falls back to the base rate).
    tier_above_tokens        UInt64 DEFAULT 0,
    tier_input_per_mtok      Nullable(Decimal(38, 12)),
    tier_output_per_mtok     Nullable(Decimal(38, 12)),
    tier_cache_read_per_mtok Nullable(Decimal(38, 12)),
    tier_cache_write_per_mtok Nullable(Decimal(38, 12)),
    source               LowCardinality(String),
    catalog_version      String DEFAULT '',
    created_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(created_at)
ORDER BY (provider, item, unit, effective_from);

-- Which catalogs were loaded, so the default list prices are loaded once per catalog version.
CREATE TABLE IF NOT EXISTS price_catalogs {{ON_CLUSTER}}
(
    version   String,
    models    UInt32,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(loaded_at)
ORDER BY version;

-- Contracted rates: a discount off list, or an override price, per provider (model '' = all its
-- models) with its own effective window.
CREATE TABLE IF NOT EXISTS contract_rates {{ON_CLUSTER}}
(
    provider             LowCardinality(String),
    model                String,
    effective_from       DateTime64(3, 'UTC'),
    effective_to         Nullable(DateTime64(3, 'UTC')),
    kind                 LowCardinality(String),
    discount_pct         Decimal(9, 6) DEFAULT 0,
    input_per_mtok       Nullable(Decimal(38, 12)),
    output_per_mtok      Nullable(Decimal(38, 12)),
    cache_read_per_mtok  Nullable(Decimal(38, 12)),
    cache_write_per_mtok Nullable(Decimal(38, 12)),
    reasoning_per_mtok   Nullable(Decimal(38, 12)),
    created_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(created_at)
ORDER BY (provider, model, effective_from);
