// Configuration: one zod schema over the environment, parsed once at start.
// A bad value fails fast with a message that names the variable.
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier').default('agent_ledger'),
  CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a plain cluster name').optional(),
  // With CLICKHOUSE_CLUSTER (docs/operations.md "ClickHouse cluster"): DDL ON CLUSTER (false when the
  // database replicates DDL itself, e.g. a Replicated database), and Replicated* engines (false:
  // sharded without replicas).
  CLICKHOUSE_ON_CLUSTER: bool.default(true),
  CLICKHOUSE_REPLICATED: bool.default(true),
  // Server mode: the longest a ClickHouse call may stay silent before it fails (then 503 engine_unavailable).
  CLICKHOUSE_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  // Embedded engine: memory for decompressed blocks that short reads share (src/clickhouse.ts); 0 = none.
  ENGINE_UNCOMPRESSED_CACHE_MB: int(0, 65_536).default(256),
  API_KEYS: z.string().optional(),
  API_KEYS_FILE: z.string().optional(),
  MAX_BODY_BYTES: int(1024, 512 * 1024 * 1024).default(16 * 1024 * 1024),
  MAX_BATCH_EVENTS: int(1, 100_000).default(10_000),
  // Ingestion in two steps (docs/ingestion.md "Many writers"): rows per apply insert; how many
  // logged-but-unapplied rows a process lets pile up, and how long a batch waits for the backlog
  // to fall under that before 503; and (server mode) the applier lease and polling.
  INGEST_APPLY_MAX_ROWS: int(1, 10_000_000).default(100_000),
  INGEST_APPLY_MIN_ROWS: int(0, 10_000_000).default(50_000),
  INGEST_APPLY_DELAY_MS: int(0, 60_000).default(2000),
  INGEST_MAX_BACKLOG_ROWS: int(1000, 100_000_000).default(200_000),
  INGEST_APPLY_WAIT_MS: int(100, 600_000).default(30_000),
  APPLIER_LEASE_MS: int(1000, 600_000).default(10_000),
  APPLIER_POLL_MS: int(5, 60_000).default(50),
  APPLY_TIMEOUT_MS: int(1000, 600_000).default(4_000),
  // Hardening (docs/hardening.md): per-event money ceiling (≤ 10^12 so no Decimal(38,12) sum can
  // overflow), JSON nesting depth of any body, and how much of an oversized body is read before 413.
  MAX_EVENT_COST_USD: z.string().regex(/^[1-9]\d{0,11}(\.\d{1,12})?$/, 'must be a decimal amount between 1 and 999999999999.999999999999').default('1000000'),
  MAX_SHARED_COST_USD: z.string().regex(/^[1-9]\d{0,12}(\.\d{1,2})?$/, 'must be a decimal amount between 1 and 9999999999999.99').default('1000000000'),
  MAX_JSON_DEPTH: int(8, 256).default(64),
  MAX_DRAIN_BYTES: int(0, 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  // The HTTP server (docs/hardening.md "Hostile HTTP clients"): the longest a client may take to send
  // a whole request, headers and body (then 408 request_timeout; a 16 MiB gzip batch must fit), and
  // how long an idle keep-alive connection stays open (above the usual 60 s of load balancers).
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1000, 3_600_000).default(72_000),
  RATE_LIMIT_MAX: int(1, 10_000_000).default(6000),
  RATE_LIMIT_WINDOW_MS: int(100, 3_600_000).default(60_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MIGRATE_ON_START: bool.default(true),
  TAXONOMY_MODE: z.enum(['open', 'governed']).default('open'),
  PRICE_BOOK_REFRESH_MS: int(0, 86_400_000).default(60_000),
  LOAD_PRICE_CATALOG: bool.default(true),
  BUDGET_SYNC_MS: int(0, 86_400_000).default(30_000),
  BUDGET_EVAL_INTERVAL_MS: int(0, 86_400_000).default(60_000),
  // Several API processes on one ClickHouse server (docs/operations.md "Several API processes"):
  // how often each process picks up configuration another changed (prices, taxonomy, budgets,
  // webhooks) and re-reads budget spend (0 = never); how long a month close or shared-cost entry
  // waits for another process's before 503; how long a holder that died blocks the others.
  CLUSTER_SYNC_MS: int(0, 3_600_000).default(1_000),
  CLUSTER_LOCK_WAIT_MS: int(100, 3_600_000).default(60_000),
  CLUSTER_LOCK_TTL_MS: int(1000, 600_000).default(10_000),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5_000),
  WEBHOOK_MAX_ATTEMPTS: int(1, 20).default(8),
  WEBHOOK_RETRY_BASE_MS: int(1, 3_600_000).default(1_000),
  ANOMALY_RATIO: z.coerce.number().min(1).max(1000).default(2),
  ANOMALY_MIN_SPEND_USD: z.string().regex(/^\d{1,12}(\.\d{1,12})?$/, 'must be a decimal amount').default('1'),
  ANOMALY_DIMENSIONS: z.string().regex(/^(user|feature|customer|agent|model)(,(user|feature|customer|agent|model))*$/, 'comma list of user, feature, customer, agent, model').default('user,feature,customer,agent,model'),
  CACHE_TTL_MS: int(0, 86_400_000).default(10_000),
  CACHE_CLOSED_TTL_MS: int(0, 86_400_000).default(300_000),
  CACHE_MAX_ENTRIES: int(1, 1_000_000).default(5_000),
  CACHE_MAX_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  // The organization running agent-ledger: the FOCUS billing account and invoice issuer of its statements.
  FOCUS_BILLING_ACCOUNT_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits . _ : - (at most 64)').default('agent-ledger'),
  FOCUS_BILLING_ACCOUNT_NAME: z.string().min(1).max(256).default('agent-ledger'),
});

export type Env = z.input<typeof envSchema>;
export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {}

/** Parse configuration from an environment-like record; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" so `FOO= npm start` behaves like not setting FOO.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Build a config for tests and tools: defaults plus overrides, without touching process.env. */
export function configWith(overrides: Partial<Record<keyof Env, string | number | boolean>>): Config {
  const asStrings = Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, String(v)]));
  return loadConfig(asStrings);
}
