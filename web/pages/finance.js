// Finance: weekly chargeback per product line (showback before chargeback), the months with their
// close status, FOCUS export downloads (CSV / Parquet) and the reconciliation of a month.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, refusal, saveResponse, useApi } from '../lib/api.js';
import { Chart, money } from '../lib/chart.js';
import { int } from '../lib/money.js';
import { addDays, setQuery } from '../lib/view.js';
import { Async, Badge, Card, Empty, Money, ProblemView, Select, Stat, Table } from '../lib/ui.js';

const environments = ['production', 'staging', 'development'];

/** The Monday on or before a day (ISO weeks, as the weekly view uses). */
export function mondayOf(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  const dow = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return addDays(ymd, -dow);
}
/** The weekly view's parameters for a window: the weeks that touch it. */
export const weeksOf = (win) => ({ from: mondayOf(win.from), to: addDays(mondayOf(win.to), 7) });

function Weekly({ state, session }) {
  return html`<${Async} state=${state} what="weekly chargeback" session=${session} isEmpty=${(d) => d.rows.length === 0}
    empty=${html`<${Empty} title="No chargeback in these weeks." keyed=${session.keys_configured}>Weekly chargeback sums events per product line; post some:</${Empty}>`}>
    ${(d) => {
      const weeks = [...new Set(d.rows.map((r) => r.week))].sort();
      const lines = [...new Set(d.rows.map((r) => r.product_line_id))].sort();
      const cell = new Map(d.rows.map((r) => [`${r.product_line_id}|${r.week}`, Number(r.total_cost_usd)]));
      return html`
        <${Chart} label="Weekly chargeback per product line" testid="chart-weekly" height=${280} option=${{
          tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: money },
          legend: { type: 'scroll', top: 0 },
          xAxis: { type: 'category', data: weeks.map((w) => w.slice(0, 10)) },
          yAxis: { type: 'value', axisLabel: { formatter: (v) => money(v) } },
          series: lines.map((l) => ({ name: l, type: 'bar', stack: 'total', barMaxWidth: 36, data: weeks.map((w) => cell.get(`${l}|${w}`) ?? 0) })),
        }} />
        <${Table} caption="Weekly chargeback" testid="weekly-table" limit=${40} rows=${[...d.rows].sort((a, b) => (a.week < b.week ? 1 : a.week > b.week ? -1 : a.product_line_id.localeCompare(b.product_line_id)))} columns=${[
          { key: 'week', label: 'Week of', render: (r) => r.week.slice(0, 10) },
          { key: 'product_line_id', label: 'Product line' },
          { key: 'token_cost_usd', label: 'Tokens', num: true, render: (r) => html`<${Money} value=${r.token_cost_usd} />` },
          { key: 'compute_cost_usd', label: 'Compute', num: true, render: (r) => html`<${Money} value=${r.compute_cost_usd} />` },
          { key: 'tool_cost_usd', label: 'Tools', num: true, render: (r) => html`<${Money} value=${r.tool_cost_usd} />` },
          { key: 'other_cost_usd', label: 'Other', num: true, render: (r) => html`<${Money} value=${r.other_cost_usd} />` },
          { key: 'total_cost_usd', label: 'Total', num: true, render: (r) => html`<strong><${Money} value=${r.total_cost_usd} /></strong>` },
          { key: 'events', label: 'Events', num: true, render: (r) => int(r.events) },
        ]} />`;
    }}
  </${Async}>`;
}

function Downloads({ month, session }) {
  const [note, setNote] = useState(null);
  const get = async (format) => {
    const refused = refusal(session, ['export'], { everyLine: true });
    if (refused) return setNote({ error: refused });
    setNote({ text: `Preparing the ${format.toUpperCase()} export of ${month}…` });
    try {
      const f = await saveResponse(await api('/exports/chargeback', { params: { month, format, whole_month: 'true' }, accept: format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet' }), `chargeback-${month}.${format}`);
      setNote({ text: `Downloaded ${f.name} (${int(f.bytes)} bytes).` });
    } catch (error) { setNote({ error }); }
  };
  return html`<div class="downloads" data-testid="downloads">
    <p class="muted small">The month's FOCUS 1.3 chargeback export, every row in one file (a closed month returns its frozen statement).</p>
    <div class="row wrap"><button type="button" onClick=${() => get('csv')} data-testid="export-csv">Download ${month} CSV</button><button type="button" onClick=${() => get('parquet')} data-testid="export-parquet">Download ${month} Parquet</button></div>
    ${note?.error ? html`<${ProblemView} error=${note.error} what="the export" session=${session} />` : note ? html`<p class="note" role="status" data-testid="export-note">${note.text}</p>` : null}
  </div>`;
}

function Reconciliation({ month, session }) {
  const state = useApi('/reconciliation', { month }, { refused: refusal(session, ['read', 'export'], { everyLine: true }) });
  return html`<${Async} state=${state} what="the reconciliation" session=${session}>${(r) => html`<div data-testid="reconciliation">
    <p class=${r.reconciled ? 'ok-line' : 'bad-line'} data-reconciled=${String(r.reconciled)}>${r.reconciled ? `✓ ${r.month} reconciles to the last decimal` : `✗ ${r.month} does not reconcile`} <${Badge} tone=${r.status === 'closed' ? 'accent' : 'neutral'}>${r.status}</${Badge}></p>
    <dl class="figures">
      <div><dt>Raw ledger</dt><dd><${Money} value=${r.raw_usd} /></dd></div>
      <div><dt>Weekly view</dt><dd><${Money} value=${r.weekly_usd} /></dd></div>
      <div><dt>Export (usage)</dt><dd><${Money} value=${r.export_usage_usd} /></dd></div>
      <div><dt>Shared costs</dt><dd><${Money} value=${r.shared_costs_usd} /></dd></div>
      <div><dt>Allocated shared</dt><dd><${Money} value=${r.allocated_shared_usd} /></dd></div>
      <div><dt>Late after close</dt><dd><${Money} value=${r.late_after_close_usd} /></dd></div>
    </dl>
    ${Object.entries(r.differences).some(([, v]) => v !== '0') ? html`<${Table} caption="Differences" rows=${Object.entries(r.differences).map(([k, v]) => ({ k, v }))} columns=${[{ key: 'k', label: 'Comparison' }, { key: 'v', label: 'Difference', num: true, render: (x) => html`<${Money} value=${x.v} />` }]} />` : null}
  </div>`}</${Async}>`;
}

export function FinancePage({ query, win, session }) {
  const environment = environments.includes(query.get('environment')) ? query.get('environment') : 'production';
  const weeks = weeksOf(win);
  const weekly = useApi('/chargeback/weekly', { ...weeks, environment: environment === 'production' ? undefined : environment });
  const periods = useApi('/periods');
  const months = (periods.data?.periods ?? []).map((p) => p.month.slice(0, 7)).reverse(); // newest first
  const month = months.includes(query.get('month')) ? query.get('month') : months[0];
  return html`<div class="grid">
    <${Card} title="Weekly chargeback" id="weekly" wide testid="card-weekly" actions=${html`<${Select} id="environment" label="Environment" value=${environment} options=${environments} onChange=${(e) => setQuery({ environment: e === 'production' ? undefined : e })} />`}>
      <p class="muted small">ISO weeks (Monday, UTC) from ${weeks.from} to before ${weeks.to}; ${environment} only (environments are never mixed).</p>
      <${Weekly} state=${weekly} session=${session} />
    </${Card}>
    <${Card} title="Months" id="months" wide testid="card-periods">
      <${Async} state=${periods} what="months" session=${session} isEmpty=${(d) => d.periods.length === 0} empty=${html`<p class="muted">No months with data yet.</p>`}>
        ${(d) => html`<${Table} caption="Months and their close status" testid="periods-table" rows=${[...d.periods].reverse()} columns=${[
          { key: 'month', label: 'Month', render: (p) => html`<button type="button" class="link" aria-pressed=${p.month.slice(0, 7) === month ? 'true' : 'false'} onClick=${() => setQuery({ month: p.month.slice(0, 7) })}>${p.month.slice(0, 7)}</button>` },
          { key: 'status', label: 'Status', render: (p) => html`<${Badge} tone=${p.status === 'closed' ? 'accent' : 'neutral'}>${p.status}</${Badge}>` },
          { key: 'cost', label: 'Cost', num: true, render: (p) => html`<${Money} value=${p.status === 'closed' ? p.effective_cost_usd : p.ledger_cost_usd} />` },
          { key: 'events', label: 'Events / rows', num: true, render: (p) => int(p.status === 'closed' ? p.rows : p.events) },
          { key: 'closed_at', label: 'Closed', render: (p) => (p.closed_at ? p.closed_at.slice(0, 16).replace('T', ' ') : '—') },
          { key: 'content_hash', label: 'Statement SHA-256', render: (p) => (p.content_hash ? html`<code title=${p.content_hash}>${p.content_hash.slice(0, 12)}…</code>` : '—') },
        ]} />`}
      </${Async}>
    </${Card}>
    ${month ? html`
      <${Card} title=${`Export ${month}`} id="exports" testid="card-exports"><${Downloads} month=${month} session=${session} /></${Card}>
      <${Card} title=${`Reconciliation ${month}`} id="reconciliation" testid="card-reconciliation"><${Reconciliation} month=${month} session=${session} /></${Card}>` : null}
  </div>`;
}
