// The dashboard shell: who the key is (GET /whoami), the page navigation, the window and time-zone
// bar shared by every page, and the router. Pages live in pages/, one question per screen.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './lib/html.js';
import { getKey, setKey, useApi } from './lib/api.js';
import { addDays, onLinkClick, pageHref, ranges, setQuery, todayIn, useLocation, validZone, windowOf } from './lib/view.js';
import { Loading, ProblemView } from './lib/ui.js';
import { OverviewPage } from './pages/overview.js';
import { ExplorePage } from './pages/explore.js';
import { AgentsPage } from './pages/agents.js';
import { CustomersPage } from './pages/customers.js';
import { FinancePage } from './pages/finance.js';
import { GuardrailsPage } from './pages/guardrails.js';

const pages = [
  { path: '/', title: 'Overview', component: OverviewPage },
  { path: '/explore', title: 'Explore', component: ExplorePage },
  { path: '/agents', title: 'Agents', component: AgentsPage },
  { path: '/customers', title: 'Customers', component: CustomersPage },
  { path: '/finance', title: 'Finance', component: FinancePage },
  { path: '/guardrails', title: 'Guardrails', component: GuardrailsPage },
];

function KeyForm({ problem, onCancel }) {
  const [value, setValue] = useState('');
  const submit = (e) => { e.preventDefault(); if (value.trim()) setKey(value.trim()); };
  return html`<form class="key-form card" onSubmit=${submit} data-testid="key-form">
    <h2>Paste an API key</h2>
    <p>This server has API keys configured. The dashboard reads only the public API, with a key you paste once; it is kept in this browser tab (sessionStorage) and sent as <code>Authorization: Bearer</code>.</p>
    ${problem && getKey() ? html`<p class="notice error" role="alert">${problem.detail} <code>${problem.reason}</code></p>` : null}
    <label class="field" for="api-key"><span>API key</span>
      <input id="api-key" type="password" autocomplete="off" spellcheck="false" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} required />
    </label>
    <div class="row"><button type="submit" class="primary">Use this key</button>${onCancel ? html`<button type="button" onClick=${onCancel}>Cancel</button>` : null}</div>
    <p class="muted">A <code>read</code> key shows every page; <code>admin</code> adds quarantine replay and webhook deliveries; a key scoped to product lines sees only theirs.</p>
  </form>`;
}

function WindowBar({ query }) {
  const win = windowOf(query);
  const custom = !!query.get('date_range');
  // The ~400 zone suggestions are built when the field is first used, not on every page load.
  const [suggest, setSuggest] = useState(false);
  const zones = suggest && typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [tzDraft, setTzDraft] = useState(win.tz);
  useEffect(() => setTzDraft(win.tz), [win.tz]);
  const setRange = (v) => {
    if (v === 'custom') setQuery({ range: undefined, date_range: `${addDays(todayIn(win.tz), -29)},${todayIn(win.tz)}` });
    else setQuery({ range: v === '30d' ? undefined : v, date_range: undefined });
  };
  const setDay = (i, v) => { const d = win.date_range.split(','); d[i] = v; if (d[0] && d[1] && d[0] <= d[1]) setQuery({ date_range: d.join(',') }); };
  const commitTz = () => { if (validZone(tzDraft)) setQuery({ tz: tzDraft === 'UTC' ? undefined : tzDraft }); else setTzDraft(win.tz); };
  return html`<div class="window-bar" role="group" aria-label="Time window">
    <label class="field inline" for="range"><span>Window</span>
      <select id="range" data-testid="range" value=${custom ? 'custom' : (query.get('range') ?? '30d')} onChange=${(e) => setRange(e.currentTarget.value)}>
        ${ranges.map((r) => html`<option value=${r.id}>${r.label}</option>`)}<option value="custom">Custom days…</option>
      </select></label>
    ${custom ? html`
      <label class="field inline" for="from-day"><span>From</span><input id="from-day" type="date" value=${win.from} onChange=${(e) => setDay(0, e.currentTarget.value)} /></label>
      <label class="field inline" for="to-day"><span>To</span><input id="to-day" type="date" value=${win.to} onChange=${(e) => setDay(1, e.currentTarget.value)} /></label>` : null}
    <label class="field inline" for="tz"><span>Time zone</span>
      <input id="tz" data-testid="tz" list="tz-list" value=${tzDraft} size="16" onFocus=${() => setSuggest(true)} onInput=${(e) => setTzDraft(e.currentTarget.value)} onChange=${commitTz} onKeyDown=${(e) => e.key === 'Enter' && commitTz()} />
      <datalist id="tz-list"><option value="UTC"></option>${local !== 'UTC' ? html`<option value=${local}></option>` : null}${zones.map((z) => html`<option value=${z}></option>`)}</datalist>
    </label>
    <span class="window-label muted" data-testid="window-label">${win.from} → ${win.to} · ${win.tz}</span>
  </div>`;
}

function App() {
  const loc = useLocation();
  // With keys configured and none pasted yet, ask for one first instead of collecting a 401.
  const keyFirst = document.querySelector('meta[name="agent-ledger-keys"]')?.content === 'required' && !getKey();
  const who = useApi('/whoami', undefined, { skip: keyFirst });
  const [changingKey, setChangingKey] = useState(false);
  const [unauthorized, setUnauthorized] = useState(null);
  useEffect(() => {
    const on = (e) => setUnauthorized(e.detail);
    addEventListener('agent-ledger:unauthorized', on);
    const onKey = () => { setUnauthorized(null); setChangingKey(false); };
    addEventListener('agent-ledger:key', onKey);
    return () => { removeEventListener('agent-ledger:unauthorized', on); removeEventListener('agent-ledger:key', onKey); };
  }, []);
  const page = pages.find((p) => p.path === loc.path) ?? pages[0];
  useEffect(() => { document.title = `${page.title} · agent-ledger`; }, [page]);

  const needKey = keyFirst || who.error?.status === 401 || changingKey || (unauthorized && !who.data);
  const session = who.data;
  const Page = page.component;
  let body;
  if (needKey) body = html`<${KeyForm} problem=${who.error ?? unauthorized} onCancel=${changingKey && session ? () => setChangingKey(false) : null} />`;
  else if (who.error) body = html`<${ProblemView} error=${who.error} what="the API" retry=${who.reload} />`;
  else if (!session) body = html`<${Loading} label="Connecting" />`;
  else body = html`<${Page} query=${loc.query} win=${windowOf(loc.query)} session=${session} />`;

  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href=${pageHref('/', loc.query)} onClick=${onLinkClick}><img src=${new URL('./favicon.svg', import.meta.url).href} alt="" width="24" height="24" />agent-ledger</a>
      <nav aria-label="Pages"><ul>
        ${pages.map((p) => html`<li><a href=${pageHref(p.path, loc.query)} onClick=${onLinkClick} aria-current=${p === page ? 'page' : undefined}>${p.title}</a></li>`)}
      </ul></nav>
      <div class="session" data-testid="session">
        ${session ? html`<span class="badge ${session.role === 'admin' ? 'accent' : 'neutral'}" data-role=${session.role}>${session.keys_configured ? session.role : 'no keys (loopback)'}${session.product_lines ? ` · ${session.product_lines.join(', ')}` : ''}</span>` : null}
        ${session?.keys_configured ? html`<button type="button" class="link" onClick=${() => setChangingKey(true)}>Change key</button><button type="button" class="link" onClick=${() => setKey('')}>Forget key</button>` : null}
        <a class="link" href="/docs">API docs</a>
      </div>
    </header>
    ${session && !needKey ? html`<${WindowBar} query=${loc.query} />` : null}
    <main id="main" tabindex="-1" data-page=${page.title.toLowerCase()}>
      <h1 class="page-title">${page.title}</h1>
      ${body}
    </main>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the boot message
render(html`<${App} />`, root);
