// The only way the dashboard reads data: the public API under /api/v1, with the key the user pasted
// (kept in sessionStorage for this browser tab) or none on the loopback no-keys default.
import { useCallback, useEffect, useLayoutEffect, useState } from 'preact/hooks';

const KEY = 'agent-ledger.api-key';
export const getKey = () => sessionStorage.getItem(KEY) ?? '';
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  dispatchEvent(new Event('agent-ledger:key'));
}

/** An API answer that was not 2xx, carrying the problem document's machine-readable reason. */
export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail ?? body?.title ?? `HTTP ${status}`);
    this.status = status;
    this.reason = body?.reason ?? `http_${status}`;
    this.detail = body?.detail ?? '';
    this.errors = body?.errors ?? [];
  }
}

/** Query string from an object, dropping empty values; key order kept so URLs are stable. */
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const apiUrl = (path, params) => `/api/v1${path}${query(params)}`;

/** fetch against the API; JSON back, or the Response itself for other `accept` types. */
export async function api(path, { params, accept = 'application/json', method = 'GET', body } = {}) {
  const headers = { accept };
  const key = getKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    // no-cache: revalidate every time (the API answers 304 to a matching ETag, so this is cheap)
    // rather than reuse a response the browser kept, which may predate the last write.
    res = await fetch(apiUrl(path, params), { method, headers, cache: 'no-cache', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Problem(0, { reason: 'network_error', detail: `the server did not answer (${err.message})` });
  }
  if (!res.ok) {
    let problem;
    try { problem = await res.json(); } catch { problem = { detail: res.statusText }; }
    const p = new Problem(res.status, problem);
    if (res.status === 401) dispatchEvent(new CustomEvent('agent-ledger:unauthorized', { detail: p }));
    throw p;
  }
  return accept === 'application/json' ? res.json() : res;
}

/**
 * Load an API answer for a component: { data, error, loading, reload }. The request is remade when
 * the URL it builds changes (and when the key changes).
 */
/**
 * The 403 a route would answer this key, known from /whoami without asking (so the browser logs no
 * failed request): `roles` the route accepts besides admin, `everyLine` when it refuses scoped keys.
 */
export function refusal(session, roles, { everyLine = false } = {}) {
  if (!session || session.role === 'admin') return undefined;
  if (!roles.includes(session.role)) {
    return new Problem(403, { reason: 'forbidden_role', detail: `this view needs one of the roles: admin, ${roles.join(', ')}; the key has role ${session.role}` });
  }
  if (everyLine && session.product_lines) {
    return new Problem(403, { reason: 'forbidden_scope', detail: 'this route covers every product line; a scoped key cannot read it' });
  }
  return undefined;
}

/** `refused`: a Problem (from refusal()) to show instead of asking. */
export function useApi(path, params, { skip = false, refused } = {}) {
  const url = path ? apiUrl(path, params) : '';
  const [state, setState] = useState({ data: undefined, error: refused, loading: !skip && !refused });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const reload = () => setNonce((n) => n + 1);
    addEventListener('agent-ledger:key', reload);
    return () => removeEventListener('agent-ledger:key', reload);
  }, []);
  // A layout effect: the request leaves as soon as the component is committed, not a frame later.
  useLayoutEffect(() => {
    if (skip || !path || refused) { setState({ data: undefined, error: refused, loading: false }); return; }
    let live = true;
    setState((s) => ({ data: s.data, error: undefined, loading: true }));
    api(path, { params }).then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => { live = false; };
  }, [url, skip, refused?.reason, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

/** Save a Response body as a file (downloads need the key header, so they go through fetch). */
export async function saveResponse(res, fallbackName) {
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, bytes: blob.size };
}
