// Customers: cost (the ledger's events in the window, from the customer rollup plus raw edges),
// revenue (outcome events' revenue_usd of the runs started in the window), margin and margin %;
// and invoice drafts per customer and month whose lines add up exactly, to the 10^-12 and to the cent.
import type { ClickHouseClient } from '@clickhouse/client';
import { chooseRollup, runCostQuery, type CostQuery } from '../costs/query.js';
import { dimensions, type Dimension } from '../costs/dimensions.js';
import { toClickHouseSecond, toClickHouseTime } from '../clickhouse-time.js';
import { wholeUtcDays } from '../costs/time.js';
import { divRound } from '../pricing/decimal.js';
import { fillSlots, sql } from '../sql.js';
import { pick } from './definitions.js';
import { allocateCents, centsToString, fromUnits, ratio, toCents, toUnits } from './money.js';
import { inputs, type Filters, type Window } from './params.js';
import { runAggregates } from './runs.js';

export const customerSorts = ['margin', 'margin_pct', 'cost', 'revenue'] as const;
const ALL = 1_000_000;

/** Sums of a slice by some dimensions from the fastest exact source (rollup + raw edges, or raw). */
export async function eventSums(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, groupBy: Dimension[], extra: Partial<CostQuery> = {}) {
  const q: CostQuery = { from: window.from, to: window.to, tz: window.tz, groupBy, filters: filters as CostQuery['filters'], scope, sort: 'cost_usd', order: 'desc', limit: ALL, offset: 0, ...extra };
  return runCostQuery(client, q, chooseRollup(q) ? 'rollup' : 'raw');
}

export async function customerMargins(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, sort: (typeof customerSorts)[number], negativeOnly: boolean, limit: number) {
  const [costs, runs] = await Promise.all([
    eventSums(client, window, filters, scope, ['customer'], { withRuns: true }),
    runAggregates(client, { from: window.from, to: window.to, filters, scope, groupBy: ['customer'] }),
  ]);
  const byCustomer = new Map<string, { cost: bigint; revenue: bigint; events: number; runs: number }>();
  const entry = (c: string) => byCustomer.get(c) ?? byCustomer.set(c, { cost: 0n, revenue: 0n, events: 0, runs: 0 }).get(c)!;
  for (const r of costs.rows) Object.assign(entry(r.group.customer ?? ''), { cost: toUnits(r.cost_usd), events: r.events, runs: r.runs });
  for (const r of runs) entry(r.key.customer ?? '').revenue = r.revenue;
  // Events without a customer_id are nobody's margin: counted in the totals, shown apart.
  const unattributed = byCustomer.get('') ?? { cost: 0n, revenue: 0n, events: 0, runs: 0 };
  const all = [...byCustomer].map(([customer, v]) => ({ customer, ...v, margin: v.revenue - v.cost }));
  const rows = all.filter((r) => r.customer !== '');
  const pct = (margin: bigint, revenue: bigint) => (revenue === 0n ? null : ratio(margin * 100n, revenue));
  const keyOf = { margin: (r: (typeof rows)[number]) => r.margin, cost: (r: (typeof rows)[number]) => -r.cost, revenue: (r: (typeof rows)[number]) => -r.revenue };
  rows.sort((a, b) => {
    if (sort === 'margin_pct') {
      const [x, y] = [pct(a.margin, a.revenue) ?? -Infinity, pct(b.margin, b.revenue) ?? -Infinity];
      if (x !== y) return x < y ? -1 : 1;
    } else {
      const [x, y] = [keyOf[sort](a), keyOf[sort](b)];
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0;
  });
  const shown = negativeOnly ? rows.filter((r) => r.margin < 0n) : rows;
  const total = all.reduce((a, r) => ({ cost: a.cost + r.cost, revenue: a.revenue + r.revenue }), { cost: 0n, revenue: 0n });
  return {
    inputs: inputs(window, filters, {
      sort, negative_only: negativeOnly,
      definitions: {
        cost: 'the cost of the customer\'s events in the window (event-level, corrections included)',
        revenue: 'revenue_usd of the outcome events of the customer\'s runs started in the window',
        margin: 'revenue − cost; margin_pct = margin / revenue × 100 (null without revenue); negative_margin when margin < 0',
        unattributed: 'events without a customer_id: in the totals, not a customer row',
        ...pick('run', 'rounding'),
      },
    }),
    customers: shown.slice(0, limit).map((r) => ({
      customer: r.customer, cost_usd: fromUnits(r.cost), revenue_usd: fromUnits(r.revenue), margin_usd: fromUnits(r.margin),
      margin_pct: pct(r.margin, r.revenue), negative_margin: r.margin < 0n, events: r.events, runs: r.runs,
    })),
    truncated: shown.length > limit,
    totals: {
      cost_usd: fromUnits(total.cost), revenue_usd: fromUnits(total.revenue), margin_usd: fromUnits(total.revenue - total.cost),
      margin_pct: pct(total.revenue - total.cost, total.revenue), negative_margin_customers: rows.filter((r) => r.margin < 0n).length,
    },
    unattributed: { cost_usd: fromUnits(unattributed.cost), revenue_usd: fromUnits(unattributed.revenue), events: unattributed.events },
  };
}

type LineRow = { customer: string; step: string; source: string; metric: string; qty: string; amount: string; events: number };

/** Filters the daily invoice lines carry; any other filter reads the month's raw events. */
const dailyLineFilters: readonly string[] = ['customer', 'product_line'];

/**
 * The month's invoice lines: whole UTC days from invoice_lines_daily and the edges (a month in a
 * zone that is not UTC) from raw events; the raw events alone when a filter names a dimension the
 * daily lines do not carry, the window holds no whole UTC day, or `opts.rollup` is false.
 */
function invoiceLinesQuery(window: Window, filters: Filters, scope: string[] | undefined, opts: { rollup?: false }) {
  const params: Record<string, unknown> = { from: toClickHouseTime(window.from), to: toClickHouseTime(window.to) };
  const clauses: string[] = [];
  for (const [d, values] of Object.entries(filters) as [Dimension, string[]][]) {
    params[`f_${d}`] = values;
    clauses.push(`AND ${dimensions[d].column} IN {f_${d}:Array(String)}`);
  }
  if (scope) {
    params.scope = scope;
    clauses.push('AND product_line_id IN {scope:Array(String)}');
  }
  const filterSql = clauses.join(' ');
  const raw = (where: string) => fillSlots(sql('insights/invoice-lines-raw'), { window: where, filters: filterSql });
  const { dayFrom, dayTo } = wholeUtcDays(window.from, window.to);
  const daily = opts.rollup !== false && dayFrom < dayTo && Object.keys(filters).every((d) => dailyLineFilters.includes(d));
  const parts: string[] = [];
  if (!daily) parts.push(raw("timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}"));
  else {
    Object.assign(params, { day_from: toClickHouseSecond(dayFrom), day_to: toClickHouseSecond(dayTo) });
    parts.push(fillSlots(sql('insights/invoice-lines-daily'), { filters: filterSql }));
    if (dayFrom > window.from || dayTo < window.to) {
      parts.push(raw("((timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {day_from:DateTime('UTC')}) OR (timestamp >= {day_to:DateTime('UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}))"));
    }
  }
  return { query: fillSlots(sql('insights/invoice-lines'), { parts: parts.join('\nUNION ALL\n') }), params };
}

export async function invoiceDrafts(client: ClickHouseClient, window: Window, month: string, filters: Filters, scope: string[] | undefined, limit: number, opts: { rollup?: false } = {}) {
  const { query, params } = invoiceLinesQuery(window, filters, scope, opts);
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const byCustomer = new Map<string, LineRow[]>();
  for (const r of await rs.json<LineRow>()) byCustomer.set(r.customer, [...(byCustomer.get(r.customer) ?? []), r]);
  // Events without a customer_id are billed to nobody: no draft, their sum reported apart.
  const nobody = byCustomer.get('') ?? [];
  byCustomer.delete('');
  const invoices = [...byCustomer].map(([customer, raw]) => {
    const lines = raw.map((r) => ({ ...r, units: toUnits(r.amount), q: toUnits(r.qty) }))
      .sort((a, b) => (a.units === b.units ? `${a.step}|${a.source}|${a.metric}`.localeCompare(`${b.step}|${b.source}|${b.metric}`) : a.units > b.units ? -1 : 1));
    const cents = allocateCents(lines.map((l) => l.units));
    const total = lines.reduce((a, l) => a + l.units, 0n);
    return {
      customer, month, status: 'draft' as const,
      lines: lines.map((l, i) => ({
        step: l.step, source: l.source, metric: l.metric, quantity: fromUnits(l.q),
        // amount / quantity, both at 12 places: (a·10^12) / q units, half to even.
        unit_price_usd: l.q === 0n ? null : fromUnits(divRound(l.units * 10n ** 12n, l.q)),
        amount_usd: fromUnits(l.units), amount_cents_usd: centsToString(cents[i]!), events: l.events,
      })),
      total_usd: fromUnits(total), total_cents_usd: centsToString(toCents(total)), _total: total,
    };
  }).sort((a, b) => (a._total === b._total ? (a.customer < b.customer ? -1 : 1) : a._total > b._total ? -1 : 1));
  return {
    inputs: inputs(window, filters, {
      month,
      definitions: {
        lines: 'one line per step, source (provider of an LLM call, tool of a tool call, else the event type) and metric (tokens = input + output tokens; the usage unit; else events), over the month\'s events in tz',
        amounts: 'amount_usd is exact and the lines add up to total_usd; amount_cents_usd rounds down to the cent and gives the cents left to reach total_cents_usd (the total rounded half up) to the lines with the largest remainders',
        unit_price: 'amount_usd / quantity, half to even at 12 places (informational: the amount is what is billed)',
      },
    }),
    invoices: invoices.slice(0, limit).map(({ _total: _t, ...inv }) => inv),
    truncated: invoices.length > limit,
    unattributed: { amount_usd: fromUnits(nobody.reduce((a, l) => a + toUnits(l.amount), 0n)), events: nobody.reduce((a, l) => a + Number(l.events), 0) },
  };
}

const cell = (v: unknown) => {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** The drafts as CSV: one row per line, then one `total` row per invoice. */
export function invoicesCsv(report: Awaited<ReturnType<typeof invoiceDrafts>>): string {
  const out = ['row,customer,month,step,source,metric,quantity,unit_price_usd,amount_usd,amount_cents_usd,events'];
  for (const inv of report.invoices) {
    for (const l of inv.lines) out.push(['line', inv.customer, inv.month, l.step, l.source, l.metric, l.quantity, l.unit_price_usd, l.amount_usd, l.amount_cents_usd, l.events].map(cell).join(','));
    out.push(['total', inv.customer, inv.month, '', '', '', '', '', inv.total_usd, inv.total_cents_usd, inv.lines.reduce((a, l) => a + l.events, 0)].map(cell).join(','));
  }
  return `${out.join('\r\n')}\r\n`;
}
