// Guardrails: budgets with their burn-rate projection, the alerts raised and their webhook
// deliveries, anomalies, and the quarantine with its reasons (replay for admin keys only).
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, refusal, useApi } from '../lib/api.js';
import { Chart } from '../lib/chart.js';
import { int } from '../lib/money.js';
import { setQuery } from '../lib/view.js';
import { Async, Badge, Card, Empty, Money, ProblemView, Select, Table } from '../lib/ui.js';

const scopeText = (scope) => Object.entries(scope).map(([k, v]) => `${k.replace('_', ' ')}=${v}`).join(', ');
const when = (s) => (s ? s.slice(0, 16).replace('T', ' ') : '—');

function Budgets({ state, session }) {
  const isAdmin = session.role === 'admin';
  return html`<${Async} state=${state} what="budgets" isEmpty=${(d) => d.budgets.length === 0}
    empty=${html`<${Empty} title="No budgets yet." example=${`curl -s -X POST ${location.origin}/api/v1/budgets -H 'Content-Type: application/json'${session.keys_configured ? " -H 'Authorization: Bearer <admin key>'" : ''} \\\n  -d '{"name":"support-monthly","scope":{"product_line":"support"},"window":"month","amount_usd":"500.00","thresholds":[0.5,0.8,1],"action":"alert"}'`}>${isAdmin ? 'Create one' : 'An admin key creates one'}; agents then ask <code>POST /api/v1/budgets/check</code> before expensive work:</${Empty}>`}>
    ${(d) => {
      const windowed = d.budgets.filter((b) => b.window !== 'run');
      const option = {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => `${v}%` },
        legend: { top: 0 },
        grid: { left: 8, right: 40, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
        yAxis: { type: 'category', inverse: true, data: windowed.map((b) => b.name), axisLabel: { width: 140, overflow: 'truncate' } },
        series: [
          { name: 'Spent', type: 'bar', barGap: '-100%', z: 3, barMaxWidth: 16, data: windowed.map((b) => ({ value: b.pct, itemStyle: { color: b.pct >= 100 ? '#dc2626' : b.pct >= 80 ? '#f59e0b' : '#4f46e5' } })),
            markLine: { symbol: 'none', silent: true, lineStyle: { color: '#dc2626', type: 'dashed' }, label: { formatter: 'limit' }, data: [{ xAxis: 100 }] } },
          { name: 'Projected at window end', type: 'bar', barMaxWidth: 16, itemStyle: { color: '#c7d2fe' }, data: windowed.map((b) => (Number(b.limit_usd) ? Math.round((Number(b.projected_usd) / Number(b.limit_usd)) * 1000) / 10 : 0)) },
        ],
      };
      return html`
        ${windowed.length ? html`<${Chart} label="Budgets: spent and projected, as a share of the limit" testid="chart-budgets" height=${Math.max(160, windowed.length * 34 + 60)} option=${option} />` : null}
        <${Table} caption="Budgets" testid="budgets-table" rows=${d.budgets} rowClass=${(b) => (b.exhausted ? 'negative-row' : '')} columns=${[
          { key: 'name', label: 'Budget', render: (b) => html`<strong>${b.name}</strong><div class="muted small">${scopeText(b.scope)}</div>` },
          { key: 'window', label: 'Window', render: (b) => html`${b.window} <${Badge} tone=${b.action === 'block' ? 'bad' : 'neutral'}>${b.action}</${Badge}>` },
          { key: 'spent_usd', label: 'Spent', num: true, render: (b) => (b.window === 'run' ? `${int(b.runs_last_24h)} runs / 24 h` : html`<${Money} value=${b.spent_usd} />`) },
          { key: 'limit_usd', label: 'Limit', num: true, render: (b) => html`<${Money} value=${b.limit_usd} />` },
          { key: 'pct', label: 'Used', num: true, render: (b) => (b.window === 'run' ? `${int(b.runs_exhausted)} exhausted` : `${b.pct}%`) },
          { key: 'projected_usd', label: 'Projected', num: true, render: (b) => (b.window === 'run' ? '—' : html`<${Money} value=${b.projected_usd} />`) },
          { key: 'projected_exhaustion', label: 'Runs out', render: (b) => (b.exhausted ? html`<${Badge} tone="bad">exhausted</${Badge}>` : b.projected_exhaustion ? html`<${Badge} tone="warn">${b.projected_exhaustion}</${Badge}>` : b.window === 'run' ? '—' : 'not this window') },
        ]} />
        <p class="muted small">Projection: the spend so far extended at the same burn rate to the end of the window; "runs out" is the day the limit is reached at that rate.</p>`;
    }}
  </${Async}>`;
}

/** One line for an alert: the budget and the threshold it crossed, or the anomalous value and hour. */
function alertText(x) {
  if (x.threshold !== undefined) return html`<strong>${x.name}</strong> crossed ${Math.round(x.threshold * 100)}%${x.run_id ? ` in run ${x.run_id}` : ''}: <${Money} value=${x.spent_usd} /> of <${Money} value=${x.limit_usd} />`;
  if (x.dimension) return html`<strong>${x.dimension} ${x.value || '(none)'}</strong> at ${when(x.hour)}: <${Money} value=${x.cost_usd} /> vs <${Money} value=${x.baseline_cost_usd} /> baseline`;
  return JSON.stringify(x).slice(0, 120);
}

function Alerts({ state, session }) {
  return html`<${Async} state=${state} what="alerts" session=${session} isEmpty=${(d) => d.notifications.length === 0}
    empty=${html`<p class="ok-line">No alerts raised: no budget crossed a threshold and no anomaly was found.</p>`}>
    ${(d) => html`<${Table} caption="Alerts" testid="alerts-table" limit=${15} rows=${d.notifications} columns=${[
      { key: 'created_at', label: 'Raised', render: (n) => when(n.created_at) },
      { key: 'type', label: 'Type', render: (n) => html`<${Badge} tone=${/exhaust|anomal/.test(n.type) ? 'bad' : 'warn'}>${n.type}</${Badge}>` },
      { key: 'payload', label: 'What', render: (n) => html`<span class="small">${alertText(n.payload?.data ?? {})}</span>` },
    ]} />`}
  </${Async}>`;
}

function Deliveries({ state }) {
  return html`<${Async} state=${state} what="webhook deliveries" isEmpty=${(d) => d.deliveries.length === 0}
    empty=${html`<p class="muted">No webhook deliveries yet (register one with <code>POST /api/v1/webhooks</code>).</p>`}>
    ${(d) => html`<${Table} caption="Webhook deliveries" testid="deliveries-table" limit=${15} rows=${d.deliveries} columns=${[
      { key: 'attempted_at', label: 'Attempted', render: (x) => when(x.attempted_at) },
      { key: 'type', label: 'Alert', render: (x) => x.type || '—' },
      { key: 'attempt', label: 'Attempt', num: true },
      { key: 'outcome', label: 'Outcome', render: (x) => html`<${Badge} tone=${x.outcome === 'delivered' ? 'good' : x.outcome === 'failed' ? 'bad' : 'warn'}>${x.outcome}</${Badge}>` },
      { key: 'http_status', label: 'HTTP', num: true, render: (x) => x.http_status || '—' },
      { key: 'error', label: 'Error', render: (x) => html`<span class="small">${x.error || ''}</span>` },
    ]} />`}
  </${Async}>`;
}

function Replay({ reasons, onDone }) {
  const [reason, setReason] = useState('');
  const [productLine, setProductLine] = useState('');
  const [state, setState] = useState({ busy: false });
  const run = async (e) => {
    e.preventDefault();
    setState({ busy: true });
    try {
      const result = await api('/quarantine/replay', { method: 'POST', body: { ...(reason ? { reason } : {}), ...(productLine.trim() ? { product_line_id: productLine.trim() } : {}) } });
      setState({ busy: false, result });
      onDone();
    } catch (error) { setState({ busy: false, error }); }
  };
  return html`<form class="replay" onSubmit=${run} data-testid="replay-form" aria-label="Replay quarantined events">
    <h3 class="sub-head">Replay (admin)</h3>
    <p class="muted small">Re-ingest quarantined events once the cause is fixed (a product line registered, a price added). Each record is accepted at most once.</p>
    <div class="row wrap">
      <${Select} id="replay-reason" label="Reason" value=${reason} options=${[{ value: '', label: 'every reason' }, ...reasons.map((r) => ({ value: r, label: r }))]} onChange=${setReason} />
      <label class="field" for="replay-pl"><span>Assign product line to events without one</span><input id="replay-pl" value=${productLine} onInput=${(e) => setProductLine(e.currentTarget.value)} placeholder="support" /></label>
      <button type="submit" class="primary" disabled=${state.busy} data-testid="replay">${state.busy ? 'Replaying…' : 'Replay'}</button>
    </div>
    ${state.result ? html`<p class="note" role="status" data-testid="replay-result">Examined ${int(state.result.examined)}: ${int(state.result.accepted)} accepted, ${int(state.result.duplicates)} duplicates, ${int(state.result.still_quarantined)} still quarantined, ${int(state.result.rejected)} rejected.</p>` : null}
    ${state.error ? html`<${ProblemView} error=${state.error} what="the replay" />` : null}
  </form>`;
}

function Quarantine({ state, session, reason }) {
  return html`<${Async} state=${state} what="the quarantine" session=${session} isEmpty=${(d) => d.counts.length === 0}
    empty=${html`<p class="ok-line" data-testid="quarantine-empty">Nothing in quarantine: every event posted was attributed.</p>`}>
    ${(d) => html`
      <div class="split even">
        <${Table} caption="Quarantine by reason" testid="quarantine-counts" rows=${d.counts} columns=${[
          { key: 'reason', label: 'Reason', render: (c) => html`<button type="button" class="link" aria-pressed=${c.reason === reason ? 'true' : 'false'} onClick=${() => setQuery({ reason: c.reason === reason ? undefined : c.reason })}><code>${c.reason}</code></button>` },
          { key: 'disposition', label: 'Kind', render: (c) => html`<${Badge} tone=${c.disposition === 'rejected' ? 'bad' : 'warn'}>${c.disposition}</${Badge}>` },
          { key: 'records', label: 'Records', num: true, render: (c) => int(c.records) },
        ]} />
        ${session.role === 'admin' ? html`<${Replay} reasons=${[...new Set(d.counts.filter((c) => c.disposition === 'quarantined').map((c) => c.reason))]} onDone=${state.reload} />`
          : html`<p class="muted small" data-testid="replay-hidden">Replay needs an admin key.</p>`}
      </div>
      <${Table} caption="Quarantined items" testid="quarantine-items" limit=${20} rows=${d.items} columns=${[
        { key: 'received_at', label: 'Received', render: (q) => when(q.received_at) },
        { key: 'event_id', label: 'Event', render: (q) => html`<code class="small">${q.event_id || '—'}</code>` },
        { key: 'reason', label: 'Reason', render: (q) => html`<code>${q.reason}</code>` },
        { key: 'errors', label: 'Details', render: (q) => html`<details><summary class="small">${q.errors[0] ?? 'payload'}</summary><pre class="code small">${q.payload}</pre></details>` },
        { key: 'replay_outcome', label: 'Replayed', render: (q) => q.replay_outcome || '—' },
      ]} />`}
  </${Async}>`;
}

export function GuardrailsPage({ query, session }) {
  const isAdmin = session.role === 'admin';
  const reason = query.get('reason') ?? '';
  const budgets = useApi('/budgets/status');
  const alerts = useApi('/notifications', undefined, { refused: refusal(session, ['read'], { everyLine: true }) });
  const deliveries = useApi('/webhooks/deliveries', { limit: 100 }, { skip: !isAdmin });
  const quarantine = useApi('/quarantine', { reason: reason || undefined, limit: 100 }, { refused: refusal(session, ['ingest'], { everyLine: true }) });
  return html`<div class="grid">
    <${Card} title="Budgets" id="budgets" wide testid="card-budgets"><${Budgets} state=${budgets} session=${session} /></${Card}>
    <${Card} title="Alerts" id="alerts" testid="card-alerts"><${Alerts} state=${alerts} session=${session} /></${Card}>
    <${Card} title="Webhook deliveries" id="deliveries" testid="card-deliveries">
      ${isAdmin ? html`<${Deliveries} state=${deliveries} />` : html`<p class="muted" data-testid="deliveries-hidden">Webhook deliveries are shown to admin keys.</p>`}
    </${Card}>
    <${Card} title="Quarantine" id="quarantine" wide testid="card-quarantine"><${Quarantine} state=${quarantine} session=${session} reason=${reason} /></${Card}>
  </div>`;
}
