// The URL holds the whole view: page path plus query (window, time zone, filters, group-by), so a
// copied link reproduces what the sender saw. Navigation is history.pushState; nothing else stores view state.
import { useEffect, useState } from 'preact/hooks';

export function useLocation() {
  const read = () => ({ path: location.pathname, query: new URLSearchParams(location.search) });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    addEventListener('popstate', update);
    addEventListener('agent-ledger:navigate', update);
    return () => { removeEventListener('popstate', update); removeEventListener('agent-ledger:navigate', update); };
  }, []);
  return loc;
}

export function navigate(url, { replace = false } = {}) {
  if (url === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  dispatchEvent(new Event('agent-ledger:navigate'));
}

/** In-app links: push state instead of reloading; modified clicks open tabs as usual. */
export function onLinkClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href'));
  document.getElementById('main')?.focus({ preventScroll: true });
  scrollTo(0, 0);
}

/** Set query parameters of the current page (empty values remove them). */
export function setQuery(patch, { replace = false } = {}) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) q.delete(k);
    else q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  navigate(`${location.pathname}${s ? `?${s}` : ''}`, { replace });
}

/** Links between pages keep the window and time zone (the rest of the query belongs to the page). */
export function pageHref(path, query, extra = {}) {
  const keep = new URLSearchParams();
  for (const k of ['range', 'date_range', 'tz']) if (query.get(k)) keep.set(k, query.get(k));
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') keep.set(k, v);
  const s = keep.toString();
  return `${path}${s ? `?${s}` : ''}`;
}

// ---- the time window ----

export const ranges = [
  { id: '7d', label: 'Last 7 days', days: 7 },
  { id: '30d', label: 'Last 30 days', days: 30 },
  { id: '90d', label: 'Last 90 days', days: 90 },
];
export const DEFAULT_RANGE = '30d';

/** Today's date (YYYY-MM-DD) in an IANA zone. */
const dayFormats = new Map();
export function todayIn(tz) {
  if (!dayFormats.has(tz)) dayFormats.set(tz, new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }));
  return dayFormats.get(tz).format(new Date());
}
export function addDays(ymd, n) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}
export const validZone = (tz) => { try { return !!tz && (dayFormats.has(tz) || !!new Intl.DateTimeFormat('en-US', { timeZone: tz })); } catch { return false; } };

/**
 * The API window for the view: `date_range` (whole days, both included, in `tz`). "Last 30 days" is
 * the 30 days ending today, today included.
 */
export function windowOf(query) {
  const tz = query.get('tz') && validZone(query.get('tz')) ? query.get('tz') : 'UTC';
  const custom = query.get('date_range');
  if (custom && /^\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2}$/.test(custom)) {
    const [from, to] = custom.split(',');
    return { date_range: custom, tz, label: `${from} → ${to}`, from, to };
  }
  const range = ranges.find((r) => r.id === query.get('range')) ?? ranges.find((r) => r.id === DEFAULT_RANGE);
  const to = todayIn(tz);
  const from = addDays(to, -(range.days - 1));
  return { date_range: `${from},${to}`, tz, label: range.label, from, to, days: range.days };
}

/** The API parameters of a window. */
export const windowParams = (w) => ({ date_range: w.date_range, tz: w.tz === 'UTC' ? undefined : w.tz });
