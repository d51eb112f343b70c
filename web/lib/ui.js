// Shared pieces: cards, headline numbers, exact money cells, tables, and the loading, empty and
// error states every panel goes through.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { exactAmount, isNegative, usd } from './money.js';

export function Card({ title, id, actions, children, wide, testid }) {
  const headingId = id ? `${id}-title` : undefined;
  return html`<section class=${`card${wide ? ' wide' : ''}`} aria-labelledby=${headingId} data-testid=${testid}>
    <header class="card-head"><h2 id=${headingId}>${title}</h2>${actions ? html`<div class="card-actions">${actions}</div>` : null}</header>
    ${children}
  </section>`;
}

/** The number first: a headline figure with its exact value kept in data-value and the tooltip. */
export function Stat({ label, value, display, sub, tone, testid }) {
  const shown = display ?? (value === null || value === undefined ? '—' : usd(value));
  return html`<div class=${`stat${tone ? ` ${tone}` : ''}`} data-testid=${testid}>
    <div class="stat-label">${label}</div>
    <div class="stat-value" data-value=${value ?? ''} title=${typeof value === 'string' ? `exactly ${value}` : undefined}>${shown}</div>
    ${sub ? html`<div class="stat-sub">${sub}</div>` : null}
  </div>`;
}

/** An exact amount: every digit the API sent, cents in full weight, the rest lighter. */
export function Money({ value }) {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`;
  const text = exactAmount(value);
  const neg = text.startsWith('-');
  const body = neg ? text.slice(1) : text;
  const dot = body.indexOf('.');
  const head = body.slice(0, dot + 3);
  const tail = body.slice(dot + 3);
  return html`<span class=${`money${isNegative(value) ? ' negative' : ''}`} data-value=${value}>${neg ? '-' : ''}$${head}${tail ? html`<span class="money-tail">${tail}</span>` : null}</span>`;
}

export function Loading({ label = 'Loading' }) {
  return html`<div class="loading" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span>${label}…</div>`;
}

const postExample = (origin, keyed) => `curl -s -X POST ${origin}/api/v1/events \\
  -H 'Content-Type: application/json'${keyed ? " \\\n  -H 'Authorization: Bearer <ingest key>'" : ''} \\
  -d '{"events":[{"event_id":"first-1","timestamp":"${new Date().toISOString().slice(0, 19)}Z","type":"llm",
    "product_line_id":"support","agent_id":"searcher","run_id":"run-1","customer_id":"cust-1",
    "provider":"openai","model":"gpt-4o","usage":{"input_tokens":1200,"output_tokens":300}}]}'`;

/** An empty state that says what to post first, with a curl example that works against this server. */
export function Empty({ title, children, example = 'events', keyed }) {
  const text = example === 'events' ? postExample(location.origin, keyed) : example;
  return html`<div class="empty" data-testid="empty">
    <p class="empty-title">${title}</p>
    ${children ? html`<p>${children}</p>` : null}
    ${text ? html`<pre class="code"><code>${text}</code></pre>` : null}
  </div>`;
}

/** What went wrong, from the API's problem document; a clear message for keys that may not look. */
export function ProblemView({ error, what, retry, session }) {
  if (error.status === 403 && error.reason === 'forbidden_scope') {
    const lines = session?.product_lines?.join(', ');
    return html`<div class="notice restricted" role="note" data-testid="restricted" data-reason=${error.reason}>
      <strong>Not available to this key.</strong> ${what ? `${what} covers` : 'This covers'} every product line, and your key is scoped${lines ? ` to ${lines}` : ''}.
      <span class="muted"> (${error.reason}: ${error.detail})</span>
    </div>`;
  }
  if (error.status === 403) {
    return html`<div class="notice restricted" role="note" data-testid="restricted" data-reason=${error.reason}>
      <strong>Not available to this key.</strong> ${error.detail} <span class="muted">(${error.reason})</span>
    </div>`;
  }
  return html`<div class="notice error" role="alert" data-testid="problem" data-reason=${error.reason}>
    <strong>Could not load ${what ?? 'this'}</strong>: ${error.detail || error.message} <code>${error.reason}</code>
    ${error.errors?.length ? html`<ul>${error.errors.map((e) => html`<li><code>${e.parameter}</code> ${e.message}</li>`)}</ul>` : null}
    ${retry ? html` <button type="button" class="link" onClick=${retry}>Try again</button>` : null}
  </div>`;
}

/** Loading → error → empty → content for one API answer. */
export function Async({ state, what, isEmpty, empty, session, children }) {
  if (state.error) return html`<${ProblemView} error=${state.error} what=${what} retry=${state.reload} session=${session} />`;
  if (state.data === undefined) return html`<${Loading} label=${`Loading ${what ?? ''}`.trim()} />`;
  if (isEmpty?.(state.data)) return empty ?? html`<${Empty} title="Nothing here yet" example=${null} />`;
  return html`<div class=${state.loading ? 'refreshing' : ''} aria-busy=${state.loading ? 'true' : 'false'}>${children(state.data)}</div>`;
}

/**
 * A table: columns of { key, label, num, render(row) }. Wide tables scroll inside their own box,
 * never the page.
 */
export function Table({ columns, rows, caption, testid, rowClass, footer, limit }) {
  const [all, setAll] = useState(false);
  const shown = limit && !all ? rows.slice(0, limit) : rows;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
    <table data-testid=${testid}>
      <caption class="visually-hidden">${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.num ? 'num' : ''}>${c.label}</th>`)}</tr></thead>
      <tbody>${shown.map((r, i) => html`<tr class=${rowClass?.(r) ?? ''} data-row=${i}>${columns.map((c) => html`<td class=${c.num ? 'num' : ''} data-col=${c.key}>${c.render ? c.render(r) : r[c.key]}</td>`)}</tr>`)}</tbody>
      ${footer ? html`<tfoot>${footer}</tfoot>` : null}
    </table>
    ${limit && rows.length > limit ? html`<button type="button" class="link more" onClick=${() => setAll(!all)}>${all ? 'Show fewer' : `Show all ${rows.length} rows`}</button>` : null}
  </div>`;
}

export function Badge({ tone = 'neutral', children }) {
  return html`<span class=${`badge ${tone}`}>${children}</span>`;
}

/** A labelled select bound to a value. */
export function Select({ label, value, options, onChange, id, testid }) {
  return html`<label class="field" for=${id}><span>${label}</span>
    <select id=${id} data-testid=${testid} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${options.map((o) => (typeof o === 'string' ? html`<option value=${o}>${o}</option>` : html`<option value=${o.value}>${o.label}</option>`))}
    </select></label>`;
}
