// Customers: what each customer costs and brings in, negative margins flagged first, and the
// month's invoice drafts (lines add up to the cent) with a CSV download.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, saveResponse, useApi } from '../lib/api.js';
import { Chart, money } from '../lib/chart.js';
import { exactAmount, exactNumber, int } from '../lib/money.js';
import { setQuery, todayIn, windowParams } from '../lib/view.js';
import { Async, Badge, Card, Empty, Money, ProblemView, Select, Stat, Table } from '../lib/ui.js';

const sorts = [{ value: 'margin', label: 'Margin (worst first)' }, { value: 'margin_pct', label: 'Margin % (worst first)' }, { value: 'cost', label: 'Cost' }, { value: 'revenue', label: 'Revenue' }];

/** The last 12 months (YYYY-MM) in a zone, newest first. */
export function recentMonths(tz, n = 12) {
  const [y, m] = todayIn(tz).split('-').map(Number);
  return Array.from({ length: n }, (_, i) => { const d = new Date(Date.UTC(y, m - 1 - i, 1)); return d.toISOString().slice(0, 7); });
}

function Margins({ state, session }) {
  return html`<${Async} state=${state} what="customer margins" isEmpty=${(d) => d.customers.length === 0}
    empty=${html`<${Empty} title="No customer spend in this window." keyed=${session.keys_configured}>Tag events with <code>customer_id</code>, and send <code>outcome</code> events with <code>revenue_usd</code> for margins:</${Empty}>`}>
    ${(d) => {
      const chartRows = d.customers.slice(0, 20);
      return html`
        <div class="stats">
          <${Stat} label="Revenue" value=${d.totals.revenue_usd} testid="cust-revenue" />
          <${Stat} label="Cost" value=${d.totals.cost_usd} testid="cust-cost" />
          <${Stat} label="Margin" value=${d.totals.margin_usd} testid="cust-margin" sub=${d.totals.margin_pct === null ? 'no revenue recorded' : `${d.totals.margin_pct.toFixed(1)}% of revenue`} tone=${d.totals.margin_usd.startsWith('-') ? 'up' : ''} />
          <${Stat} label="Negative margins" value=${d.totals.negative_margin_customers} display=${int(d.totals.negative_margin_customers)} testid="cust-negative" tone=${d.totals.negative_margin_customers ? 'up' : ''} sub="customers costing more than they pay" />
        </div>
        <${Chart} label="Margin per customer" testid="chart-margins" height=${Math.max(180, chartRows.length * 24 + 40)} option=${{
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: money },
          grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
          xAxis: { type: 'value', axisLabel: { formatter: (v) => money(v) } },
          yAxis: { type: 'category', inverse: true, data: chartRows.map((c) => c.customer || '(none)'), axisLabel: { width: 140, overflow: 'truncate' } },
          series: [{ type: 'bar', name: 'Margin', barMaxWidth: 18, data: chartRows.map((c) => ({ value: Number(c.margin_usd), itemStyle: { color: c.negative_margin ? '#dc2626' : '#10b981' } })) }],
        }} />
        <${Table} caption="Customer margins" testid="customers-table" limit=${50} rows=${d.customers} rowClass=${(c) => (c.negative_margin ? 'negative-row' : '')} columns=${[
          { key: 'customer', label: 'Customer', render: (c) => html`${c.customer || '(none)'} ${c.negative_margin ? html`<${Badge} tone="bad">negative margin</${Badge}>` : null}` },
          { key: 'revenue_usd', label: 'Revenue', num: true, render: (c) => html`<${Money} value=${c.revenue_usd} />` },
          { key: 'cost_usd', label: 'Cost', num: true, render: (c) => html`<${Money} value=${c.cost_usd} />` },
          { key: 'margin_usd', label: 'Margin', num: true, render: (c) => html`<${Money} value=${c.margin_usd} />` },
          { key: 'margin_pct', label: 'Margin %', num: true, render: (c) => (c.margin_pct === null ? '—' : `${c.margin_pct.toFixed(1)}%`) },
          { key: 'runs', label: 'Runs', num: true, render: (c) => int(c.runs) },
        ]} />
        ${d.truncated ? html`<p class="muted small">Showing the first ${d.customers.length} customers in this order.</p>` : null}`;
    }}
  </${Async}>`;
}

function Invoices({ month, tz, months }) {
  const state = useApi('/insights/invoices', { month, tz: tz === 'UTC' ? undefined : tz, limit: 100 });
  const [note, setNote] = useState(null);
  const csv = async () => {
    try { const f = await saveResponse(await api('/insights/invoices', { params: { month, tz: tz === 'UTC' ? undefined : tz, format: 'csv', limit: 10000 }, accept: 'text/csv' }), `invoices-${month}.csv`); setNote({ text: `Downloaded ${f.name}.` }); }
    catch (error) { setNote({ error }); }
  };
  return html`
    <div class="row wrap spread">
      <${Select} id="invoice-month" label="Month" value=${month} options=${months} onChange=${(m) => setQuery({ invoice_month: m })} testid="invoice-month" />
      <button type="button" onClick=${csv} data-testid="invoices-csv">Download CSV</button>
    </div>
    ${note?.error ? html`<${ProblemView} error=${note.error} what="the invoice CSV" />` : note ? html`<p class="note" role="status">${note.text}</p>` : null}
    <${Async} state=${state} what="invoice drafts" isEmpty=${(d) => d.invoices.length === 0} empty=${html`<p class="muted">No customer spend in ${month}.</p>`}>
      ${(d) => html`<div class="invoices" data-testid="invoices">${d.invoices.map((inv, i) => html`<details open=${i === 0} data-customer=${inv.customer}>
        <summary><strong>${inv.customer || '(none)'}</strong> · ${inv.lines.length} lines · <${Money} value=${inv.total_usd} /> <span class="muted">(billed $${exactAmount(inv.total_cents_usd)})</span> <${Badge}>draft</${Badge}></summary>
        <${Table} caption=${`Invoice draft for ${inv.customer}, ${inv.month}`} rows=${inv.lines} columns=${[
          { key: 'step', label: 'Step', render: (l) => l.step || '—' },
          { key: 'source', label: 'Source' },
          { key: 'quantity', label: 'Quantity', num: true, render: (l) => `${exactNumber(l.quantity)} ${l.metric}` },
          { key: 'unit_price_usd', label: 'Unit price', num: true, render: (l) => html`<${Money} value=${l.unit_price_usd} />` },
          { key: 'amount_usd', label: 'Amount', num: true, render: (l) => html`<${Money} value=${l.amount_usd} />` },
          { key: 'amount_cents_usd', label: 'Billed', num: true, render: (l) => `$${exactAmount(l.amount_cents_usd)}` },
        ]} />
      </details>`)}</div>
      ${d.truncated ? html`<p class="muted small">The first ${d.invoices.length} customers; the CSV has them all.</p>` : null}`}
    </${Async}>`;
}

export function CustomersPage({ query, win, session }) {
  const W = windowParams(win);
  const sort = sorts.some((s) => s.value === query.get('sort')) ? query.get('sort') : 'margin';
  const negativeOnly = query.get('negative_only') === 'true';
  const margins = useApi('/insights/customers', { ...W, sort: sort === 'margin' ? undefined : sort, negative_only: negativeOnly ? 'true' : undefined, limit: 500 });
  const months = recentMonths(win.tz);
  const month = /^\d{4}-\d{2}$/.test(query.get('invoice_month') ?? '') ? query.get('invoice_month') : months[0];
  return html`<div class="grid">
    <${Card} title="Margins" id="margins" wide testid="card-margins" actions=${html`
      <${Select} id="cust-sort" label="Order" value=${sort} options=${sorts} onChange=${(s) => setQuery({ sort: s === 'margin' ? undefined : s })} />
      <label class="check"><input type="checkbox" checked=${negativeOnly} onChange=${(e) => setQuery({ negative_only: e.currentTarget.checked ? 'true' : undefined })} data-testid="negative-only" /> Negative only</label>`}>
      <${Margins} state=${margins} session=${session} />
    </${Card}>
    <${Card} title="Invoice drafts" id="invoices" wide testid="card-invoices"><${Invoices} month=${month} tz=${win.tz} months=${months.includes(month) ? months : [month, ...months]} /></${Card}>
  </div>`;
}
