// FOCUS column sets (1.2 and 1.3) and the row sources of a month's export: live rows at a snapshot
// (usage + shared-cost allocations), a closed month's frozen FOCUS statement, or the legacy
// statement of a month closed before FOCUS statements existed (kept byte for byte).
import type { FastifyInstance } from 'fastify';
import { sql } from '../sql.js';
import { toClickHouseTime } from '../clickhouse-time.js';
import { lateSources, type Month, type Period } from './periods.js';
import { pricePointParams } from './price-points.js';

export const FOCUS_VERSIONS = ['1.2', '1.3'] as const;
export type FocusVersion = (typeof FOCUS_VERSIONS)[number];

const COMMON = [
  'BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargeClass',
  'ChargeDescription', 'ChargeFrequency', 'ChargePeriodEnd', 'ChargePeriodStart', 'ConsumedQuantity', 'ConsumedUnit', 'ContractedCost', 'ContractedUnitPrice',
  'EffectiveCost', 'InvoiceId', 'InvoiceIssuerName', 'ListCost', 'ListUnitPrice', 'PricingCategory', 'PricingQuantity', 'PricingUnit', 'ProviderName',
  'PublisherName', 'ServiceCategory', 'ServiceName', 'ServiceSubcategory', 'SkuId', 'SkuMeter', 'SkuPriceDetails', 'SkuPriceId', 'SubAccountId',
  'SubAccountName', 'Tags',
];
// 1.3 adds the service / host provider (ProviderName and PublisherName stay, deprecated) and the
// split-cost-allocation columns, which shared-cost allocation rows fill.
const ADDED_IN_1_3 = ['AllocatedMethodDetails', 'AllocatedMethodId', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags', 'HostProviderName', 'ServiceProviderName'];
const CUSTOM = ['x_Agent', 'x_BillingMode', 'x_CostCenter', 'x_CostSource', 'x_Environment', 'x_EventCount', 'x_Owner', 'x_SharedCostId'];

/** Columns of each version: FOCUS columns sorted by name, then the x_ columns for what FOCUS lacks. */
export const FOCUS_COLUMNS: Record<FocusVersion, string[]> = {
  '1.2': [...COMMON, ...[...CUSTOM, 'x_AllocationMethod'].sort()],
  '1.3': [...[...COMMON, ...ADDED_IN_1_3].sort(), ...CUSTOM],
};
/** Every column a FOCUS statement stores (the union of both versions), in table order. */
export const STATEMENT_COLUMNS = [...new Set([...FOCUS_COLUMNS['1.3'], ...FOCUS_COLUMNS['1.2']])];

// A total order over live rows, so offset pages are stable (ChargeDescription separates residue rows of different items).
export const focusOrder = 'ChargePeriodStart, SubAccountId, x_Environment, ServiceProviderName, ServiceName, SkuId NULLS FIRST, SkuPriceId NULLS FIRST, ListUnitPrice NULLS FIRST, ContractedUnitPrice NULLS FIRST, PricingUnit NULLS FIRST, x_Agent, ChargeClass NULLS FIRST, ChargeCategory, x_SharedCostId, x_CostSource, ChargeDescription';

export type StatementFile = { statement_month: string; issue_id: string; kind: 'close' | 'reissue'; focus_version: FocusVersion; format: string; sha256: string; bytes: number; rows: number; effective_cost_usd: string; billed_cost_usd: string; snapshot: string; issued_at: string };

export type Source = {
  kind: 'live' | 'focus' | 'legacy';
  version: FocusVersion | 'legacy';
  closed?: Period;
  issue?: string;
  rows: string;
  columns: string;
  order: string;
  params: Record<string, unknown>;
};

export async function statementFiles(app: FastifyInstance, m: Month): Promise<StatementFile[]> {
  return (await app.engine.client.query({
    query: `SELECT toString(statement_month) AS statement_month, issue_id, kind, focus_version, format, sha256, bytes, rows, toString(effective_cost_usd) AS effective_cost_usd,
              toString(billed_cost_usd) AS billed_cost_usd, toString(snapshot) AS snapshot, toString(issued_at) AS issued_at
            FROM focus_statement_files FINAL WHERE statement_month = toDate({month:String}) ORDER BY issued_at, focus_version
            SETTINGS prefer_column_name_to_alias = 1`,
    query_params: { month: m.date },
    format: 'JSONEachRow',
  })).json<StatementFile>();
}

/** The FOCUS statement issue a closed month serves: its close statement, else its latest re-issue. */
export const currentIssue = (files: StatementFile[]) => files.find((f) => f.kind === 'close')?.issue_id ?? files.at(-1)?.issue_id;

export function accountParams(app: FastifyInstance, m: Month) {
  const { FOCUS_BILLING_ACCOUNT_ID: id, FOCUS_BILLING_ACCOUNT_NAME: name } = app.config;
  return { account_id: id, account_name: name, invoice_id: `${id}-${m.label}` };
}

/** Live FOCUS rows of an open month (or of a closed month as the ledger held them at `snapshot`). */
export async function liveSource(app: FastifyInstance, m: Month, periods: Map<string, Period>, snapshot: number, version: FocusVersion): Promise<Source> {
  const params: Record<string, unknown> = {
    billing_start: toClickHouseTime(m.start), billing_end: toClickHouseTime(m.end),
    month_start: toClickHouseTime(m.start), month_end: toClickHouseTime(m.end),
    snapshot: toClickHouseTime(snapshot), ...lateSources(m, periods), ...accountParams(app, m),
  };
  const versions = (await (await app.engine.client.query({ query: sql('chargeback/focus-price-versions'), query_params: params, format: 'JSONEachRow' }))
    .json<{ price_version: string }>()).map((r) => r.price_version).sort();
  Object.assign(params, pricePointParams(app.pricing.book, versions));
  const all = STATEMENT_COLUMNS.join(', ');
  return {
    kind: 'live', version, params,
    rows: `SELECT ${all} FROM (${sql('chargeback/focus-usage')}) UNION ALL SELECT ${all} FROM (${sql('chargeback/focus-allocations')})`,
    columns: FOCUS_COLUMNS[version].join(', '), order: focusOrder,
  };
}

export function frozenSource(m: Month, closed: Period, issue: string, version: FocusVersion): Source {
  return {
    kind: 'focus', version, closed, issue,
    rows: "SELECT * FROM focus_statement_rows WHERE statement_month = toDate({month_start:DateTime64(3, 'UTC')}) AND issue_id = {issue_id:String}",
    columns: FOCUS_COLUMNS[version].join(', '), order: 'row_no',
    params: { month_start: toClickHouseTime(m.start), issue_id: issue },
  };
}

export function legacySource(m: Month, closed: Period): Source {
  return {
    kind: 'legacy', version: 'legacy', closed,
    rows: "SELECT * FROM statement_rows WHERE statement_month = toDate({month_start:DateTime64(3, 'UTC')})",
    columns: '* EXCEPT (statement_month, row_no)', order: 'row_no',
    params: { month_start: toClickHouseTime(m.start) },
  };
}

