// Agents: who spent the budget (pie), when (agent × hour heatmap), what a success costs, where the
// money flows through the agent graph (Mermaid from the insights API), and what to consolidate or distil.
import { useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { useApi } from '../lib/api.js';
import { Chart, money } from '../lib/chart.js';
import { MermaidDiagram } from '../lib/mermaid.js';
import { int, pct } from '../lib/money.js';
import { setQuery, windowParams } from '../lib/view.js';
import { Async, Badge, Card, Empty, Money, Stat, Table } from '../lib/ui.js';

const none = (v) => (v === '' ? '(none)' : v);

function SpendByAgent({ state, session }) {
  return html`<${Async} state=${state} what="agent spend" isEmpty=${(d) => d.agents.length === 0}
    empty=${html`<${Empty} title="No agent spend in this window." keyed=${session.keys_configured}>Events carry the agent in <code>agent_id</code>; post some:</${Empty}>`}>
    ${(d) => {
      const leader = d.agents[0];
      const narrow = matchMedia('(max-width: 760px)').matches;
      return html`
        <div class="stats">
          <${Stat} label="Agent spend" value=${d.totals.cost_usd} testid="agents-total" sub=${`${int(d.totals.calls)} calls · ${int(d.totals.runs)} runs`} />
          <${Stat} label="Cost leader" value=${leader.cost_usd} display=${none(leader.agent)} testid="agents-leader" sub=${html`<${Money} value=${leader.cost_usd} /> · ${pct(leader.share)} of spend`} />
        </div>
        <div class="split">
          <${Chart} label="Spend by agent" testid="chart-agent-pie" height=${300} option=${{
            tooltip: { trigger: 'item', valueFormatter: money },
            legend: { type: 'scroll', bottom: 0 },
            series: [{ type: 'pie', name: 'Spend', radius: ['38%', '68%'], center: ['50%', '45%'], avoidLabelOverlap: true, itemStyle: { borderColor: '#fff', borderWidth: 2 },
              // Small slices and narrow screens rely on the legend and the table; labels would collide.
              label: { show: !narrow, formatter: '{b}\n{d}%' }, labelLine: { show: !narrow },
              data: d.agents.map((a) => ({ name: none(a.agent), value: Number(a.cost_usd), ...((a.share ?? 0) < 0.04 ? { label: { show: false }, labelLine: { show: false } } : {}) })) }],
          }} />
          <${Table} caption="Spend by agent" testid="agents-table" rows=${d.agents} columns=${[
            { key: 'agent', label: 'Agent', render: (a) => html`${none(a.agent)} ${a.candidate ? html`<${Badge} tone=${a.candidate === 'distil' ? 'accent' : 'warn'}>${a.candidate}</${Badge}>` : null}` },
            { key: 'cost_usd', label: 'Spend', num: true, render: (a) => html`<${Money} value=${a.cost_usd} />` },
            { key: 'share', label: 'Share', num: true, render: (a) => pct(a.share) },
            { key: 'calls', label: 'Calls', num: true, render: (a) => int(a.calls) },
            { key: 'cost_per_call', label: 'Per call', num: true, render: (a) => html`<${Money} value=${a.cost_per_call} />` },
            { key: 'calls_per_day', label: 'Calls / day', num: true, render: (a) => a.calls_per_day.toLocaleString('en-US', { maximumFractionDigits: 1 }) },
          ]} />
        </div>`;
    }}
  </${Async}>`;
}

function Heatmap({ state, by }) {
  return html`<${Async} state=${state} what="the heatmap" isEmpty=${(d) => d.agents.length === 0} empty=${html`<p class="muted">No agent spend in this window.</p>`}>
    ${(d) => {
      const data = [];
      let max = 0;
      d.agents.forEach((a, y) => a.cells.forEach((c, x) => { const v = Number(c); max = Math.max(max, v); data.push([x, y, v]); }));
      return html`
        ${d.hottest ? html`<p class="callout" data-testid="hottest">Hottest: <strong>${none(d.hottest.agent)}</strong> at <strong>${by === 'hour_of_day' ? `${d.hottest.column}:00` : d.hottest.column}</strong> (${d.inputs.tz}) — <${Money} value=${d.hottest.cost_usd} /></p>` : null}
        <${Chart} label=${`Spend per agent and ${by === 'hour_of_day' ? 'hour of day' : 'day'}`} testid="chart-heatmap" height=${Math.max(200, d.agents.length * 34 + 110)} option=${{
          tooltip: { position: 'top', formatter: (p) => `${d.agents[p.value[1]].agent || '(none)'} · ${d.columns[p.value[0]]}${by === 'hour_of_day' ? ':00' : ''}<br>${money(p.value[2])}` },
          grid: { left: 8, right: 16, top: 8, bottom: 64, containLabel: true },
          xAxis: { type: 'category', data: d.columns, splitArea: { show: true } },
          yAxis: { type: 'category', data: d.agents.map((a) => none(a.agent)), splitArea: { show: true } },
          visualMap: { min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 160, inRange: { color: ['#eef2ff', '#818cf8', '#4338ca', '#b91c1c'] }, formatter: (v) => money(v) },
          series: [{ type: 'heatmap', name: 'Spend', data, emphasis: { itemStyle: { borderColor: '#111', borderWidth: 1 } } }],
        }} />`;
    }}
  </${Async}>`;
}

function CostPerSuccess({ state }) {
  return html`<${Async} state=${state} what="unit economics" isEmpty=${(d) => d.rows.length === 0}
    empty=${html`<${Empty} title="No runs started in this window." example=${null}>Cost per success needs runs: give events a <code>run_id</code>, and post an <code>outcome</code> event (status success or failure) per run.</${Empty}>`}>
    ${(d) => html`<${Table} caption="Cost per success by agent" testid="unit-economics" rows=${d.rows} columns=${[
      { key: 'agent', label: 'Agent', render: (r) => none(r.group.agent) },
      { key: 'runs', label: 'Runs', num: true, render: (r) => int(r.runs) },
      { key: 'success_rate', label: 'Success', num: true, render: (r) => pct(r.success_rate) },
      { key: 'cost_per_run', label: 'Per run', num: true, render: (r) => html`<${Money} value=${r.cost_per_run} />` },
      { key: 'cost_per_success', label: 'Per success', num: true, render: (r) => html`<strong><${Money} value=${r.cost_per_success} /></strong>` },
      { key: 'failed_run_cost_usd', label: 'Failed runs', num: true, render: (r) => html`<${Money} value=${r.failed_run_cost_usd} />` },
      { key: 'retry_cost_share', label: 'Retry share', num: true, render: (r) => pct(r.retry_cost_share) },
    ]} footer=${html`<tr class="totals"><th scope="row">All agents</th><td class="num">${int(d.totals.runs)}</td><td class="num">${pct(d.totals.success_rate)}</td>
      <td class="num"><${Money} value=${d.totals.cost_per_run} /></td><td class="num" data-testid="cps-total"><strong><${Money} value=${d.totals.cost_per_success} /></strong></td>
      <td class="num"><${Money} value=${d.totals.failed_run_cost_usd} /></td><td class="num">${pct(d.totals.retry_cost_share)}</td></tr>`} />
      <p class="muted small">Cost per success = whole cost of the runs ÷ successful runs: failures and retries are paid by the successes, so a cheap agent that fails half the time can cost more than a dear one.</p>`}
  </${Async}>`;
}

function MoneyFlow({ state, runId }) {
  const [draft, setDraft] = useState(runId);
  return html`
    <form class="row wrap" onSubmit=${(e) => { e.preventDefault(); setQuery({ run_id: draft.trim() }); }}>
      <label class="field" for="run-id"><span>One run tree (run id), or empty for the whole window</span>
        <input id="run-id" value=${draft} onInput=${(e) => setDraft(e.currentTarget.value)} placeholder="run-42" /></label>
      <button type="submit">Show</button>
    </form>
    <${Async} state=${state} what="the money flow" isEmpty=${(d) => d.edges.length === 0} empty=${html`<p class="muted">No money flowed in this ${runId ? 'run' : 'window'}.</p>`}>
      ${(d) => html`
        <${Stat} label=${runId ? `Run ${runId}` : 'Spend through the graph'} value=${d.cost_usd} testid="flow-total" sub=${`${int(d.nodes.length)} nodes · ${int(d.edges.length)} edges; the costliest agent is red`} />
        <${MermaidDiagram} text=${d.mermaid} label="Money flow through the agent graph" testid="money-flow" />
        <details class="source"><summary>Mermaid source</summary><pre class="code"><code data-testid="mermaid-source">${d.mermaid}</code></pre></details>`}
    </${Async}>`;
}

function Candidates({ state }) {
  return html`<${Async} state=${state} what="candidates">${(d) => {
    const t = d.inputs.thresholds ?? {};
    const list = (names, empty) => (names.length ? html`<ul class="plain">${names.map((n) => html`<li>${none(n)}</li>`)}</ul>` : html`<p class="muted">${empty}</p>`);
    return html`<div class="split even" data-testid="candidates">
      <div><h3 class="sub-head">Consolidate</h3><p class="muted small">High cost, rarely called: share ≥ ${pct(t.consolidate_min_share, 0)} and ≤ ${int(t.consolidate_max_calls_per_day)} calls a day. Fold into another agent?</p>${list(d.candidates.consolidate, 'No agent is dear and rarely called.')}</div>
      <div><h3 class="sub-head">Distil</h3><p class="muted small">Called ≥ ${int(t.distil_min_calls_per_day)} times a day: a small distilled model or plain code could replace it.</p>${list(d.candidates.distil, 'No agent is called that often.')}</div>
    </div>`;
  }}</${Async}>`;
}

export function AgentsPage({ query, win, session }) {
  const W = windowParams(win);
  const by = query.get('heatmap') === 'day' ? 'day' : 'hour_of_day';
  const runId = query.get('run_id') ?? '';
  const agents = useApi('/insights/agents', W);
  const heatmap = useApi('/insights/agents/heatmap', { ...W, by: by === 'day' ? 'day' : undefined });
  const unit = useApi('/insights/unit-economics', { ...W, group_by: 'agent' });
  const flow = useApi('/insights/money-flow', runId ? { run_id: runId } : W);
  return html`<div class="grid">
    <${Card} title="Spend by agent" id="by-agent" wide testid="card-agent-spend"><${SpendByAgent} state=${agents} session=${session} /></${Card}>
    <${Card} title="When the agents spend" id="heatmap" wide testid="card-heatmap"
      actions=${html`<div class="seg" role="group" aria-label="Heatmap columns">
        <button type="button" aria-pressed=${by === 'hour_of_day' ? 'true' : 'false'} onClick=${() => setQuery({ heatmap: undefined })}>Hour of day</button>
        <button type="button" aria-pressed=${by === 'day' ? 'true' : 'false'} onClick=${() => setQuery({ heatmap: 'day' })}>Day</button></div>`}>
      <${Heatmap} state=${heatmap} by=${by} />
    </${Card}>
    <${Card} title="Cost per success" id="cps" wide testid="card-cost-per-success"><${CostPerSuccess} state=${unit} /></${Card}>
    <${Card} title="Money flow" id="flow" wide testid="card-money-flow"><${MoneyFlow} state=${flow} runId=${runId} /></${Card}>
    <${Card} title="Consolidation and distillation candidates" id="candidates" wide testid="card-candidates"><${Candidates} state=${agents} /></${Card}>
  </div>`;
}
