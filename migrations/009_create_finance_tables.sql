-- Finance: billing mode per product line, month close (periods + frozen statements), shared costs.
ALTER TABLE product_lines {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS billing_mode LowCardinality(String) DEFAULT 'chargeback';

CREATE TABLE IF NOT EXISTS periods {{ON_CLUSTER}}
(
    month              Date,
    status             LowCardinality(String),
    closed_at          DateTime64(3, 'UTC'),
    rows               UInt64,
    effective_cost_usd Decimal(38, 12),
    billed_cost_usd    Decimal(38, 12),
    list_cost_usd      Decimal(38, 12),
    content_hash       String
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(closed_at)
ORDER BY month;

-- The frozen statement of a closed month: the export rows as they were at close, in order.
CREATE TABLE IF NOT EXISTS statement_rows {{ON_CLUSTER}}
(
    statement_month     Date,
    row_no              UInt64,
    BillingPeriodStart  DateTime64(3, 'UTC'),
    BillingPeriodEnd    DateTime64(3, 'UTC'),
    ChargePeriodStart   DateTime64(3, 'UTC'),
    ChargePeriodEnd     DateTime64(3, 'UTC'),
    ChargeCategory      LowCardinality(String),
    ChargeClass         Nullable(String),
    BilledCost          Decimal(38, 12),
    EffectiveCost       Decimal(38, 12),
    ListCost            Decimal(38, 12),
    ContractedCost      Decimal(38, 12),
    BillingCurrency     LowCardinality(String),
    ServiceProviderName String,
    ServiceName         String,
    ServiceCategory     LowCardinality(String),
    SkuId               String,
    ConsumedQuantity    Decimal(38, 12),
    ConsumedUnit        String,
    PricingQuantity     Decimal(38, 12),
    PricingUnit         String,
    Tags                String,
    x_ProductLine       String,
    x_CostCenter        String,
    x_Owner             String,
    x_Environment       String,
    x_Agent             String,
    x_BillingMode       String,
    x_AllocationMethod  String,
    x_SharedCostId      String,
    x_EventCount        UInt64
)
ENGINE = {{REPLICATED}}MergeTree
ORDER BY (statement_month, row_no);

CREATE TABLE IF NOT EXISTS shared_costs {{ON_CLUSTER}}
(
    id          String,
    month       Date,
    name        String,
    amount_usd  Decimal(38, 12),
    method      LowCardinality(String),
    basis       LowCardinality(String),
    basis_value String,
    created_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(created_at)
ORDER BY (month, id);

CREATE TABLE IF NOT EXISTS shared_cost_allocations {{ON_CLUSTER}}
(
    shared_cost_id  String,
    month           Date,
    product_line_id String,
    weight          String,
    share           Decimal(38, 12),
    amount_usd      Decimal(38, 12)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree
ORDER BY (month, shared_cost_id, product_line_id);
