// Explore: any filters and group-by of GET /agent-costs, a chart and the exact table, time zone and
// buckets; the URL is the whole view (copy it to share), and the rows download as CSV.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../lib/html.js';
import { api, saveResponse, useApi } from '../lib/api.js';
import { Chart, money } from '../lib/chart.js';
import { int } from '../lib/money.js';
import { setQuery, windowParams } from '../lib/view.js';
import { Async, Card, Empty, Money, ProblemView, Select, Stat, Table } from '../lib/ui.js';
import { groupLabel } from './overview.js';

export const dimensions = ['product_line', 'environment', 'segment', 'intent', 'agent', 'agent_version', 'model', 'provider', 'tool',
  'customer', 'user', 'feature', 'type', 'status', 'workflow', 'step', 'prompt_version'];
const granularities = [{ value: '', label: 'None (totals per group)' }, { value: 'hour', label: 'Hour' }, { value: 'day', label: 'Day' }, { value: 'week', label: 'Week' }, { value: 'month', label: 'Month' }];
const sorts = [{ value: 'cost_usd', label: 'Cost' }, { value: 'events', label: 'Events' }, { value: 'bucket', label: 'Time' }];
const PAGE = 500;
const label = (d) => d.replace('_', ' ');

/** The view held in the URL, normalised: group keys, bucket, sort and filters. */
export function exploreView(query) {
  const groupBy = (query.get('group_by') ?? '').split(',').filter((d) => dimensions.includes(d)).slice(0, 4);
  const granularity = ['hour', 'day', 'week', 'month'].includes(query.get('granularity')) ? query.get('granularity') : '';
  const defaultSort = granularity ? 'bucket' : 'cost_usd';
  const asked = ['cost_usd', 'events', 'bucket'].includes(query.get('sort')) ? query.get('sort') : defaultSort;
  const sort = asked === 'bucket' && !granularity ? defaultSort : asked;
  const filters = dimensions.filter((d) => query.get(d) !== null).map((d) => [d, query.get(d)]);
  return { groupBy, granularity, sort, defaultSort, filters };
}

function FilterAdder({ W, filters }) {
  const [dim, setDim] = useState(dimensions.find((d) => !filters.some(([f]) => f === d)) ?? 'product_line');
  const [value, setValue] = useState('');
  const values = useApi(`/agent-costs/dimensions/${dim}`, { ...W, limit: 200 });
  const add = (e) => { e.preventDefault(); if (value.trim() !== '') { setQuery({ [dim]: value.trim() }); setValue(''); } };
  return html`<form class="filter-adder row wrap" onSubmit=${add} aria-label="Add a filter">
    <${Select} id="filter-dim" label="Filter" value=${dim} options=${dimensions.map((d) => ({ value: d, label: label(d) }))} onChange=${setDim} testid="filter-dim" />
    <label class="field" for="filter-value"><span>is (comma list)</span>
      <input id="filter-value" data-testid="filter-value" list="filter-values" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} placeholder=${values.data?.values?.[0]?.value ?? ''} />
      <datalist id="filter-values">${(values.data?.values ?? []).map((v) => html`<option value=${v.value}></option>`)}</datalist>
    </label>
    <button type="submit" data-testid="filter-add">Add filter</button>
  </form>`;
}

function TimeChart({ rows, groupBy }) {
  const option = useMemo(() => {
    const buckets = [...new Set(rows.map((r) => r.bucket))].sort();
    const totals = new Map();
    for (const r of rows) { const k = groupLabel(r.group); totals.set(k, (totals.get(k) ?? 0) + Number(r.cost_usd)); }
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k]) => k);
    const series = new Map([...top, ...(totals.size > top.length ? ['other'] : [])].map((k) => [k, new Array(buckets.length).fill(0)]));
    const at = new Map(buckets.map((b, i) => [b, i]));
    for (const r of rows) { const k = groupLabel(r.group); const s = series.get(series.has(k) ? k : 'other'); s[at.get(r.bucket)] += Number(r.cost_usd); }
    const short = (b) => (b.length > 16 ? b.slice(0, 16).replace('T', ' ') : b);
    return {
      tooltip: { trigger: 'axis', valueFormatter: money },
      legend: groupBy.length ? { type: 'scroll', top: 0 } : undefined,
      xAxis: { type: 'category', data: buckets.map((b) => (b.endsWith('T00:00:00Z') || /T00:00:00[+-]/.test(b) ? b.slice(0, 10) : short(b))) },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => money(v) } },
      series: [...series.entries()].map(([name, data]) => ({ name: groupBy.length ? name : 'Spend', type: 'bar', stack: 'cost', data, barMaxWidth: 28 })),
    };
  }, [rows, groupBy.join()]);
  return html`<${Chart} label="Spend per bucket" testid="chart-explore" option=${option} height=${300} />`;
}

function GroupChart({ rows }) {
  const top = rows.slice(0, 15);
  const option = {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: money },
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter: (v) => money(v) } },
    yAxis: { type: 'category', inverse: true, data: top.map((r) => groupLabel(r.group)), axisLabel: { width: 160, overflow: 'truncate' } },
    series: [{ type: 'bar', name: 'Spend', data: top.map((r) => Number(r.cost_usd)), barMaxWidth: 22 }],
  };
  return html`<${Chart} label="Spend per group" testid="chart-explore" option=${option} height=${Math.max(160, top.length * 28 + 30)} />`;
}

export function ExplorePage({ query, win, session }) {
  const W = windowParams(win);
  const v = exploreView(query);
  const params = { ...W, group_by: v.groupBy.join(','), granularity: v.granularity, ...Object.fromEntries(v.filters), sort: v.sort === 'cost_usd' ? undefined : v.sort, limit: PAGE };
  const first = useApi('/agent-costs', params);
  const [more, setMore] = useState({ rows: [], cursor: null, error: null, loading: false });
  useEffect(() => setMore({ rows: [], cursor: null, error: null, loading: false }), [JSON.stringify(params)]);
  const [note, setNote] = useState('');
  const cursor = more.cursor ?? first.data?.next_cursor;
  const loadMore = async () => {
    setMore((m) => ({ ...m, loading: true }));
    try {
      const page = await api('/agent-costs', { params: { ...params, cursor } });
      setMore((m) => ({ rows: [...m.rows, ...page.rows], cursor: page.next_cursor ?? '', error: null, loading: false }));
    } catch (error) { setMore((m) => ({ ...m, error, loading: false })); }
  };
  const downloadCsv = async () => {
    setNote('Preparing CSV…');
    try {
      let text = '';
      let next;
      do {
        const res = await api('/agent-costs', { params: { ...params, limit: 10000, cursor: next }, accept: 'text/csv' });
        const body = await res.text();
        text += text ? body.slice(body.indexOf('\n') + 1) : body;
        next = res.headers.get('x-next-cursor') || undefined;
      } while (next);
      const file = await saveResponse(new Response(text, { headers: { 'content-disposition': `attachment; filename="agent-costs-${win.from}-${win.to}.csv"` } }), 'agent-costs.csv');
      setNote(`Downloaded ${file.name} (${int(file.bytes)} bytes).`);
    } catch (err) { setNote(`CSV download failed: ${err.detail || err.message} (${err.reason ?? 'error'})`); }
  };
  const copyLink = async () => {
    try { await navigator.clipboard.writeText(location.href); setNote('Link copied: it restores this exact view.'); }
    catch { setNote(`Copy this link: ${location.href}`); }
  };
  const toggleGroup = (d) => {
    const next = v.groupBy.includes(d) ? v.groupBy.filter((g) => g !== d) : [...v.groupBy, d].slice(0, 4);
    setQuery({ group_by: next });
  };
  const rows = first.data ? [...first.data.rows, ...more.rows] : [];
  const hasMore = first.data && (more.cursor === null ? !!first.data.next_cursor : !!more.cursor);

  return html`<div class="grid">
    <${Card} title="View" id="view" wide testid="explore-controls"
      actions=${html`<button type="button" onClick=${copyLink} data-testid="copy-link">Copy link</button><button type="button" class="primary" onClick=${downloadCsv} data-testid="download-csv">Download CSV</button>`}>
      <div class="group-by" role="group" aria-labelledby="group-by-label">
        <span id="group-by-label" class="field-label">Group by (up to 4)</span>
        <div class="chips">${dimensions.map((d) => html`<button type="button" class="chip" aria-pressed=${v.groupBy.includes(d) ? 'true' : 'false'} data-dim=${d}
          disabled=${!v.groupBy.includes(d) && v.groupBy.length >= 4} onClick=${() => toggleGroup(d)}>${label(d)}</button>`)}</div>
      </div>
      <div class="row wrap">
        <${Select} id="granularity" label="Buckets" value=${v.granularity} options=${granularities} onChange=${(g) => setQuery({ granularity: g })} testid="granularity" />
        <${Select} id="sort" label="Sort by" value=${v.sort} options=${sorts.filter((o) => o.value !== 'bucket' || v.granularity)} onChange=${(s) => setQuery({ sort: s === v.defaultSort ? undefined : s })} testid="sort" />
        <${FilterAdder} W=${W} filters=${v.filters} />
      </div>
      ${v.filters.length ? html`<ul class="active-filters" aria-label="Active filters" data-testid="active-filters">${v.filters.map(([d, value]) => html`<li class="chip on">
        ${label(d)} = ${value === '' ? '(none)' : value}
        <button type="button" class="chip-x" aria-label=${`Remove filter ${label(d)} = ${value}`} onClick=${() => setQuery({ [d]: undefined })}>×</button></li>`)}</ul>` : null}
      ${note ? html`<p class="note" role="status" data-testid="explore-note">${note}</p>` : null}
    </${Card}>
    <${Card} title="Cost" id="result" wide testid="explore-result">
      <${Async} state=${first} what="agent costs" session=${session} isEmpty=${(d) => d.totals.events === 0 && /^0(\.0*)?$/.test(d.totals.cost_usd)}
        empty=${html`<${Empty} title="No cost events match this view." keyed=${session.keys_configured}>Remove a filter, widen the window, or post events:</${Empty}>`}>
        ${(d) => html`
          <div class="stats">
            <${Stat} label="Cost" value=${d.totals.cost_usd} testid="explore-total" sub=${`${int(d.totals.events)} events`} />
            <${Stat} label="Runs started" value=${d.totals.runs} display=${int(d.totals.runs)} testid="explore-runs" />
            <${Stat} label="Cost per run" value=${d.totals.cost_per_run} testid="explore-cpr" />
            <${Stat} label="Failed calls' cost" value=${d.totals.failed_cost_usd} testid="explore-failed" />
          </div>
          ${v.granularity ? html`<${TimeChart} rows=${rows} groupBy=${v.groupBy} />` : v.groupBy.length ? html`<${GroupChart} rows=${rows} />` : null}
          ${d.next_cursor && v.granularity ? html`<p class="muted small">The chart shows the rows loaded so far (${int(rows.length)}).</p>` : null}
          <${Table} caption="Agent costs" testid="explore-table" rows=${rows} limit=${30} columns=${[
            ...v.groupBy.map((g) => ({ key: g, label: label(g), render: (r) => (r.group[g] === '' ? html`<span class="muted">(none)</span>` : r.group[g]) })),
            ...(v.granularity ? [{ key: 'bucket', label: `${v.granularity} (${win.tz})`, render: (r) => (v.granularity === 'hour' ? r.bucket.slice(0, 16).replace('T', ' ') : r.bucket.slice(0, 10)) }] : []),
            { key: 'cost_usd', label: 'Cost', num: true, render: (r) => html`<${Money} value=${r.cost_usd} />` },
            { key: 'events', label: 'Events', num: true, render: (r) => int(r.events) },
            { key: 'runs', label: 'Runs', num: true, render: (r) => int(r.runs) },
            { key: 'cost_per_run', label: 'Cost / run', num: true, render: (r) => html`<${Money} value=${r.cost_per_run} />` },
            { key: 'tokens', label: 'Tokens in / out', num: true, render: (r) => `${int(r.input_tokens)} / ${int(r.output_tokens)}` },
            { key: 'failed_cost_usd', label: 'Failed cost', num: true, render: (r) => html`<${Money} value=${r.failed_cost_usd} />` },
          ]} footer=${v.groupBy.length + (v.granularity ? 1 : 0) === 0 ? null : html`<tr class="totals"><th scope="row" colspan=${Math.max(1, v.groupBy.length + (v.granularity ? 1 : 0))}>Total</th>
            <td class="num" data-testid="explore-table-total"><${Money} value=${d.totals.cost_usd} /></td><td class="num">${int(d.totals.events)}</td><td class="num">${int(d.totals.runs)}</td>
            <td class="num"><${Money} value=${d.totals.cost_per_run} /></td><td class="num">${int(d.totals.input_tokens)} / ${int(d.totals.output_tokens)}</td><td class="num"><${Money} value=${d.totals.failed_cost_usd} /></td></tr>`} />
          ${hasMore ? html`<button type="button" onClick=${loadMore} disabled=${more.loading} data-testid="load-more">${more.loading ? 'Loading…' : `Load ${PAGE} more rows`}</button>` : null}
          ${more.error ? html`<${ProblemView} error=${more.error} what="the next page" />` : null}`}
      </${Async}>
    </${Card}>
  </div>`;
}
