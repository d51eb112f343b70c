-- Runs counted by when they started, read by time. run_facts (migrations/012) is ordered by run, so
-- counting the runs started in any window read the start of every run in the ledger (one day of a
-- 30-day, 100M-event ledger cost what thirty did). These tables hold each run once, under its
-- start, with the attributes and bit sets the counts group and filter by. They are kept by the
-- applier (src/costs/run-starts.ts, sql/events/run-changes.sql): before each apply it computes the
-- new state of every run the apply touches (its start = earliest event, its attributes = greatest
-- value, its bit sets = OR, exactly as run_facts) from the apply's rows and the run's last state in
-- run_directory, and writes the runs whose state changed into run_changes: -1 with the state counted
-- so far, +1 with the new one. Views carry them into the tables below, so a run that moves (a late
-- earlier event, a new model) leaves its old day and group exactly. Counts are sums of the signs.

-- The changes; Null: stored only by the views below.
CREATE TABLE IF NOT EXISTS run_changes {{ON_CLUSTER}}
(
    product_line_id LowCardinality(String),
    run_id          String,
    sign            Int8,
    version         UInt64,
    started_at      DateTime64(3, 'UTC'),
    environment     LowCardinality(String),
    agent_id        LowCardinality(String),
    agent_version   LowCardinality(String),
    segment         LowCardinality(String),
    intent          LowCardinality(String),
    feature         LowCardinality(String),
    customer_id     String,
    user_id         String,
    workflow_id     String,
    prompt_version  LowCardinality(String),
    type_bits       UInt64,
    status_bits     UInt64,
    provider_bits   UInt64,
    model_bits      UInt64,
    tool_bits       UInt64
)
ENGINE = Null;

-- Each run's last state (the +1 rows), looked up by run id before each apply. Small granules: an
-- apply looks up a few thousand runs spread over the whole key range.
CREATE TABLE IF NOT EXISTS run_directory {{ON_CLUSTER}}
(
    product_line_id LowCardinality(String),
    run_id          String,
    version         UInt64,
    started_at      DateTime64(3, 'UTC'),
    environment     LowCardinality(String),
    agent_id        LowCardinality(String),
    agent_version   LowCardinality(String),
    segment         LowCardinality(String),
    intent          LowCardinality(String),
    feature         LowCardinality(String),
    customer_id     String,
    user_id         String,
    workflow_id     String,
    prompt_version  LowCardinality(String),
    type_bits       UInt64,
    status_bits     UInt64,
    provider_bits   UInt64,
    model_bits      UInt64,
    tool_bits       UInt64
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
ORDER BY (run_id, product_line_id)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS run_directory_mv {{ON_CLUSTER}} TO run_directory AS
SELECT product_line_id, run_id, version, started_at, environment, agent_id, agent_version, segment, intent, feature,
       customer_id, user_id, workflow_id, prompt_version, type_bits, status_bits, provider_bits, model_bits, tool_bits
FROM run_changes
WHERE sign = 1;

-- One row per run (after merges: a -1 and its +1 sum to 0 and the row goes), under its start.
CREATE TABLE IF NOT EXISTS run_starts {{ON_CLUSTER}}
(
    product_line_id LowCardinality(String),
    started_at      DateTime64(3, 'UTC'),
    run_id          String,
    environment     LowCardinality(String),
    agent_id        LowCardinality(String),
    agent_version   LowCardinality(String),
    segment         LowCardinality(String),
    intent          LowCardinality(String),
    feature         LowCardinality(String),
    customer_id     String,
    user_id         String,
    workflow_id     String,
    prompt_version  LowCardinality(String),
    type_bits       UInt64,
    status_bits     UInt64,
    provider_bits   UInt64,
    model_bits      UInt64,
    tool_bits       UInt64,
    runs            Int64
)
ENGINE = {{REPLICATED}}SummingMergeTree(runs)
PARTITION BY toYYYYMM(started_at)
PRIMARY KEY (product_line_id, started_at)
ORDER BY (product_line_id, started_at, run_id, environment, agent_id, agent_version, segment, intent, feature, customer_id, user_id, workflow_id, prompt_version, type_bits, status_bits, provider_bits, model_bits, tool_bits);

CREATE MATERIALIZED VIEW IF NOT EXISTS run_starts_mv {{ON_CLUSTER}} TO run_starts AS
SELECT product_line_id, started_at, run_id, environment, agent_id, agent_version, segment, intent, feature, customer_id,
       user_id, workflow_id, prompt_version, type_bits, status_bits, provider_bits, model_bits, tool_bits, toInt64(sign) AS runs
FROM run_changes;

-- Runs per UTC day of start by the purchase dimensions (as cost_purchase_daily, models and tools
-- as bit sets), the business ones (as cost_business_daily) and the customer ones (as
-- cost_customer_daily): a 30-day count reads days × the groups that occur instead of every run.
CREATE TABLE IF NOT EXISTS run_counts_purchase_daily {{ON_CLUSTER}}
(
    day             DateTime('UTC'),
    product_line_id LowCardinality(String),
    environment     LowCardinality(String),
    agent_id        LowCardinality(String),
    agent_version   LowCardinality(String),
    type_bits       UInt64,
    status_bits     UInt64,
    provider_bits   UInt64,
    model_bits      UInt64,
    tool_bits       UInt64,
    runs            Int64
)
ENGINE = {{REPLICATED}}SummingMergeTree(runs)
PARTITION BY toYYYYMM(day)
ORDER BY (product_line_id, day, environment, agent_id, agent_version, type_bits, status_bits, provider_bits, model_bits, tool_bits);

CREATE MATERIALIZED VIEW IF NOT EXISTS run_counts_purchase_daily_mv {{ON_CLUSTER}} TO run_counts_purchase_daily AS
SELECT toStartOfDay(started_at, 'UTC') AS day, product_line_id, environment, agent_id, agent_version,
       type_bits, status_bits, provider_bits, model_bits, tool_bits, toInt64(sign) AS runs
FROM run_changes;

CREATE TABLE IF NOT EXISTS run_counts_business_daily {{ON_CLUSTER}}
(
    day             DateTime('UTC'),
    product_line_id LowCardinality(String),
    environment     LowCardinality(String),
    agent_id        LowCardinality(String),
    agent_version   LowCardinality(String),
    segment         LowCardinality(String),
    intent          LowCardinality(String),
    feature         LowCardinality(String),
    runs            Int64
)
ENGINE = {{REPLICATED}}SummingMergeTree(runs)
PARTITION BY toYYYYMM(day)
ORDER BY (product_line_id, day, environment, agent_id, agent_version, segment, intent, feature);

CREATE MATERIALIZED VIEW IF NOT EXISTS run_counts_business_daily_mv {{ON_CLUSTER}} TO run_counts_business_daily AS
SELECT toStartOfDay(started_at, 'UTC') AS day, product_line_id, environment, agent_id, agent_version, segment, intent, feature, toInt64(sign) AS runs
FROM run_changes;

CREATE TABLE IF NOT EXISTS run_counts_customer_daily {{ON_CLUSTER}}
(
    day             DateTime('UTC'),
    product_line_id LowCardinality(String),
    environment     LowCardinality(String),
    segment         LowCardinality(String),
    customer_id     String,
    runs            Int64
)
ENGINE = {{REPLICATED}}SummingMergeTree(runs)
PARTITION BY toYYYYMM(day)
ORDER BY (product_line_id, day, environment, segment, customer_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS run_counts_customer_daily_mv {{ON_CLUSTER}} TO run_counts_customer_daily AS
SELECT toStartOfDay(started_at, 'UTC') AS day, product_line_id, environment, segment, customer_id, toInt64(sign) AS runs
FROM run_changes;

-- Existing ledgers: every run of run_facts as a +1 (src/costs/run-starts.ts, with progress output).
-- @rebuild-run-starts
