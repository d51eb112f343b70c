-- The taxonomy registry: who pays. Cost center and owner feed chargeback; in governed mode only
-- product lines listed here are accepted.
CREATE TABLE IF NOT EXISTS product_lines {{ON_CLUSTER}}
(
    id           String,
    name         String,
    cost_center  String DEFAULT '',
    owner        String DEFAULT '',
    budget_owner String DEFAULT '',
    updated_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY id;
