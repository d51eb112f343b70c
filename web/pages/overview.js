// Overview: the 5-minute question (cost per task, its change, the top drivers) first, then spend
// over time, the top product lines, budgets near their limit and open anomalies.
import { html } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { Chart, money } from '../lib/chart.js';
import { int, pctSigned, usd, usdSigned } from '../lib/money.js';
import { onLinkClick, pageHref, setQuery, windowParams } from '../lib/view.js';
import { Async, Badge, Card, Empty, Money, Select, Stat, Table } from '../lib/ui.js';

export const driverKeys = ['agent', 'agent_version', 'intent', 'customer', 'product_line', 'segment', 'feature', 'environment'];
const anomalyDims = ['agent', 'feature', 'customer', 'model'];
const none = (v) => (v === '' ? '(none)' : v);

/** "agent=searcher · model=gpt-4o" rows show their values; an empty value is "(none)". */
export const groupLabel = (group) => Object.values(group ?? {}).map(none).join(' · ') || 'Total';

function FiveMinutes({ state, by, win }) {
  return html`<${Async} state=${state} what="cost per task">${(d) => {
    const up = d.change.cost_per_task_usd && !d.change.cost_per_task_usd.startsWith('-');
    const rows = [...d.drivers, { ...d.others, group: 'all others', others: true }];
    return html`
      <div class="stats">
        <${Stat} label="Cost per task" value=${d.current.cost_per_task} testid="stat-cost-per-task" sub=${`${int(d.current.runs)} tasks (runs) started`} />
        <${Stat} label=${`Change vs previous ${win.days ?? ''} days`.replace('  ', ' ')} value=${d.change.cost_per_task_usd}
          display=${d.change.cost_per_task_pct === null ? usdSigned(d.change.cost_per_task_usd) : pctSigned(d.change.cost_per_task_pct)}
          sub=${d.change.cost_per_task_usd === null ? 'no tasks in one of the windows' : `${usdSigned(d.change.cost_per_task_usd)} per task (was ${usd(d.previous.cost_per_task)})`}
          tone=${d.change.cost_per_task_usd === null ? '' : up ? 'up' : 'down'} testid="stat-change" />
        <${Stat} label="Cost per success" value=${d.current.cost_per_success} testid="stat-cost-per-success" sub=${`${int(d.current.successful_runs)} successful runs`} />
      </div>
      <h3 class="sub-head">Top drivers of the cost change, by ${by.replace('_', ' ')}</h3>
      <${Table} caption="Top drivers" testid="drivers" rows=${rows} rowClass=${(r) => (r.others ? 'others' : '')} columns=${[
        { key: 'group', label: by.replace('_', ' '), render: (r) => (r.others ? html`<em>${r.group}</em>` : none(r.group)) },
        { key: 'cost_change_usd', label: 'Cost change', num: true, render: (r) => html`<${Money} value=${r.cost_change_usd} />` },
        { key: 'volume_effect_usd', label: 'Volume effect', num: true, render: (r) => html`<${Money} value=${r.volume_effect_usd} />` },
        { key: 'unit_cost_effect_usd', label: 'Unit-cost effect', num: true, render: (r) => html`<${Money} value=${r.unit_cost_effect_usd} />` },
        { key: 'runs', label: 'Tasks before → now', num: true, render: (r) => `${int(r.runs_previous)} → ${int(r.runs_current)}` },
      ]} />
      <p class="muted small">Each change splits into more or fewer tasks (volume) and dearer or cheaper tasks (unit cost); the rows add up to the total change of ${usdSigned(d.change.cost_usd)} exactly.</p>`;
  }}</${Async}>`;
}

function SpendOverTime({ state, win, session }) {
  return html`<${Async} state=${state} what="spend over time" isEmpty=${(d) => d.totals.events === 0}
    empty=${html`<${Empty} title=${`No cost events between ${win.from} and ${win.to}.`} keyed=${session.keys_configured}>Post your first batch of events (or widen the window):</${Empty}>`}>
    ${(d) => html`
      <${Stat} label="Spend" value=${d.totals.cost_usd} testid="stat-spend" sub=${`${int(d.totals.events)} events · ${int(d.totals.runs)} runs`} />
      <${Chart} label="Spend per day" testid="chart-spend" height=${240} option=${{
        tooltip: { trigger: 'axis', valueFormatter: money },
        xAxis: { type: 'category', data: d.rows.map((r) => r.bucket.slice(0, 10)), boundaryGap: false },
        yAxis: { type: 'value', axisLabel: { formatter: (v) => money(v) } },
        series: [{ type: 'line', name: 'Spend', areaStyle: { opacity: 0.15 }, showSymbol: false, smooth: true, data: d.rows.map((r) => Number(r.cost_usd)) }],
      }} />`}
  </${Async}>`;
}

/** Plausible-style list: the name, a bar in proportion, the exact amount. */
export function BarList({ rows, label, testid, href }) {
  const max = Math.max(...rows.map((r) => Math.abs(Number(r.value))), 0) || 1;
  return html`<ul class="bar-list" data-testid=${testid} aria-label=${label}>
    ${rows.map((r) => html`<li>
      <span class="bar" style=${{ width: `${Math.max(2, (Math.abs(Number(r.value)) / max) * 100)}%` }} aria-hidden="true"></span>
      <span class="bar-name">${href ? html`<a href=${href(r)} onClick=${onLinkClick}>${r.name}</a>` : r.name}</span>
      <span class="bar-value"><${Money} value=${r.value} /></span>
    </li>`)}
  </ul>`;
}

function Budgets({ state }) {
  return html`<${Async} state=${state} what="budgets" isEmpty=${(d) => d.budgets.length === 0}
    empty=${html`<${Empty} title="No budgets yet." example=${`curl -s -X POST ${location.origin}/api/v1/budgets -H 'Content-Type: application/json' \\\n  -d '{"name":"support-monthly","scope":{"product_line":"support"},"window":"month","amount_usd":"500.00","action":"alert"}'`}>An admin key creates one:</${Empty}>`}>
    ${(d) => {
      const near = d.budgets.filter((b) => b.pct !== undefined && (b.pct >= 50 || b.on_pace_to_exceed)).sort((a, b) => b.pct - a.pct).slice(0, 6);
      if (near.length === 0) return html`<p class="ok-line">All ${d.budgets.length} budgets are under half spent and on pace.</p>`;
      return html`<ul class="budget-list" data-testid="budgets-near">${near.map((b) => html`<li>
        <div class="row spread"><strong>${b.name}</strong><span>${b.exhausted ? html`<${Badge} tone="bad">exhausted</${Badge}>` : b.on_pace_to_exceed ? html`<${Badge} tone="warn">on pace to exceed</${Badge}>` : null}</span></div>
        <div class="meter" role="meter" aria-label=${`${b.name}: ${b.pct}% of the limit`} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.min(100, b.pct)}><span style=${{ width: `${Math.min(100, b.pct)}%` }} class=${b.pct >= 100 ? 'bad' : b.pct >= 80 ? 'warn' : ''}></span></div>
        <div class="muted small"><${Money} value=${b.spent_usd} /> of <${Money} value=${b.limit_usd} /> this ${b.window} (${b.pct}%) · projected <${Money} value=${b.projected_usd} /></div>
      </li>`)}</ul>`;
    }}
  </${Async}>`;
}

function Anomalies({ states }) {
  const failed = states.find((s) => s.error);
  if (failed) return html`<${Async} state=${failed} what="anomalies">${() => null}</${Async}>`;
  if (states.some((s) => s.data === undefined)) return html`<${Async} state=${{ data: undefined }} what="anomalies">${() => null}</${Async}>`;
  const rows = states.flatMap((s) => s.data.anomalies).sort((a, b) => (b.ratio ?? 0) - (a.ratio ?? 0));
  if (rows.length === 0) return html`<p class="ok-line" data-testid="anomalies-none">No anomalies in the last 24 hours (hourly spend against each hour's 7-day baseline, by ${anomalyDims.join(', ')}).</p>`;
  return html`<${Table} caption="Open anomalies" testid="anomalies" rows=${rows} limit=${8} columns=${[
    { key: 'value', label: 'What', render: (r) => html`<span class="muted">${r.dimension}</span> ${none(r.value)}` },
    { key: 'hour', label: 'Hour (UTC)', render: (r) => r.hour.slice(0, 16).replace('T', ' ') },
    { key: 'cost_usd', label: 'Spend', num: true, render: (r) => html`<${Money} value=${r.cost_usd} />` },
    { key: 'baseline_cost_usd', label: '7-day baseline', num: true, render: (r) => html`<${Money} value=${r.baseline_cost_usd} />` },
    { key: 'ratio', label: '×', num: true, render: (r) => (r.ratio === null ? 'new' : `${r.ratio.toFixed(1)}×`) },
  ]} />`;
}

export function OverviewPage({ query, win, session }) {
  const W = windowParams(win);
  const by = driverKeys.includes(query.get('by')) ? query.get('by') : 'agent';
  const cpt = useApi('/insights/cost-per-task', { ...W, by });
  const daily = useApi('/agent-costs', { ...W, granularity: 'day', sort: 'bucket', limit: 2000 });
  const lines = useApi('/agent-costs', { ...W, group_by: 'product_line', limit: 5 });
  // The headline answers go first; budgets and anomalies (five more queries) follow, so on a busy
  // engine they do not slow the number the page is opened for.
  const headlineDone = (cpt.data || cpt.error) && (daily.data || daily.error);
  const budgets = useApi('/budgets/status', undefined, { skip: !headlineDone });
  const anomalies = anomalyDims.map((dimension) => useApi('/anomalies', { dimension, window: '24h' }, { skip: !headlineDone }));
  const ready = cpt.data && daily.data;
  if (ready && !performance.getEntriesByName('overview-ready').length) performance.mark('overview-ready');
  return html`<div class="grid" data-ready=${ready ? 'true' : 'false'}>
    <${Card} title="The 5-minute question" id="five" wide testid="card-five-minutes"
      actions=${html`<${Select} id="by" label="Drivers by" value=${by} options=${driverKeys} onChange=${(v) => setQuery({ by: v === 'agent' ? undefined : v })} />`}>
      <${FiveMinutes} state=${cpt} by=${by} win=${win} />
    </${Card}>
    <${Card} title="Spend over time" id="spend" wide testid="card-spend"><${SpendOverTime} state=${daily} win=${win} session=${session} /></${Card}>
    <${Card} title="Top product lines" id="lines" testid="card-lines">
      <${Async} state=${lines} what="product lines" isEmpty=${(d) => d.rows.length === 0} empty=${html`<p class="muted">No spend in this window.</p>`}>
        ${(d) => html`<${BarList} testid="top-lines" label="Spend by product line" rows=${d.rows.map((r) => ({ name: none(r.group.product_line), value: r.cost_usd, key: r.group.product_line }))}
          href=${(r) => pageHref('/explore', query, { product_line: r.key, group_by: 'agent' })} />`}
      </${Async}>
    </${Card}>
    <${Card} title="Budgets near their limit" id="budgets" testid="card-budgets"><${Budgets} state=${budgets} /></${Card}>
    <${Card} title="Open anomalies (last 24 h)" id="anomalies" wide testid="card-anomalies"><${Anomalies} states=${anomalies} /></${Card}>
  </div>`;
}
