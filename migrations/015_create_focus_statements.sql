-- FOCUS statements of closed months: the rows of the FOCUS 1.2 / 1.3 export (a superset of both
-- column sets) frozen at close or at a re-issue, in order, and the SHA-256 of each file a user can
-- download for the whole month. Months closed before this existed keep statement_rows untouched.
CREATE TABLE IF NOT EXISTS focus_statement_rows {{ON_CLUSTER}}
(
    statement_month        Date,
    issue_id               String,
    row_no                 UInt64,
    AllocatedMethodDetails Nullable(String),
    AllocatedMethodId      Nullable(String),
    AllocatedResourceId    Nullable(String),
    AllocatedResourceName  Nullable(String),
    AllocatedTags          Nullable(String),
    BilledCost             Decimal(38, 18),
    BillingAccountId       String,
    BillingAccountName     String,
    BillingCurrency        String,
    BillingPeriodEnd       DateTime('UTC'),
    BillingPeriodStart     DateTime('UTC'),
    ChargeCategory         String,
    ChargeClass            Nullable(String),
    ChargeDescription      String,
    ChargeFrequency        String,
    ChargePeriodEnd        DateTime('UTC'),
    ChargePeriodStart      DateTime('UTC'),
    ConsumedQuantity       Nullable(Decimal(38, 12)),
    ConsumedUnit           Nullable(String),
    ContractedCost         Decimal(38, 18),
    ContractedUnitPrice    Nullable(Decimal(38, 20)),
    EffectiveCost          Decimal(38, 18),
    HostProviderName       Nullable(String),
    InvoiceId              String,
    InvoiceIssuerName      String,
    ListCost               Decimal(38, 18),
    ListUnitPrice          Nullable(Decimal(38, 20)),
    PricingCategory        Nullable(String),
    PricingQuantity        Nullable(Decimal(38, 12)),
    PricingUnit            Nullable(String),
    ProviderName           String,
    PublisherName          String,
    ServiceCategory        String,
    ServiceName            String,
    ServiceProviderName    String,
    ServiceSubcategory     String,
    SkuId                  Nullable(String),
    SkuMeter               Nullable(String),
    SkuPriceDetails        Nullable(String),
    SkuPriceId             Nullable(String),
    SubAccountId           String,
    SubAccountName         String,
    Tags                   String,
    x_AllocationMethod     String,
    x_BillingMode          String,
    x_CostCenter           String,
    x_CostSource           String,
    x_Environment          String,
    x_EventCount           UInt64,
    x_Owner                String,
    x_Agent                String,
    x_SharedCostId         String
)
ENGINE = {{REPLICATED}}MergeTree
ORDER BY (statement_month, issue_id, row_no);

-- One row per statement issue and downloadable file: which rows, their totals, and the SHA-256 of
-- the exact bytes of the whole-month file (so `sha256sum` on the download verifies it).
CREATE TABLE IF NOT EXISTS focus_statement_files {{ON_CLUSTER}}
(
    statement_month    Date,
    issue_id           String,
    kind               LowCardinality(String),
    focus_version      LowCardinality(String),
    format             LowCardinality(String),
    sha256             String,
    bytes              UInt64,
    rows               UInt64,
    effective_cost_usd Decimal(38, 18),
    billed_cost_usd    Decimal(38, 18),
    snapshot           DateTime64(3, 'UTC'),
    issued_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(issued_at)
ORDER BY (statement_month, issue_id, focus_version, format);
