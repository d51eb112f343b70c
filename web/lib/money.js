// Money arrives from the API as exact decimal strings. Exact figures are formatted as strings
// (grouping, padding); headline figures are rounded as decimals (BigInt), never through floats.

const SCALE = 12;

function parts(s) {
  const neg = s.startsWith('-');
  const [int = '0', frac = ''] = (neg ? s.slice(1) : s).split('.');
  return { neg, int: int.replace(/^0+(?=\d)/, ''), frac };
}

const group = (int) => int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** "1234.5" → "1,234.50"; every digit the API sent is kept, at least two decimals shown. */
export function exactAmount(s) {
  const p = parts(String(s));
  const frac = p.frac.padEnd(2, '0');
  const isZero = /^0*$/.test(p.int + p.frac);
  return `${p.neg && !isZero ? '-' : ''}${group(p.int)}.${frac}`;
}

/** "21466493" → "21,466,493"; a decimal quantity keeps its digits. */
export function exactNumber(s) {
  const p = parts(String(s));
  return `${p.neg ? '-' : ''}${group(p.int)}${p.frac ? `.${p.frac}` : ''}`;
}

/** Round a decimal string half away from zero to `places` decimals, exactly. */
export function roundDecimal(s, places) {
  const p = parts(String(s));
  const frac = p.frac.padEnd(SCALE, '0').slice(0, SCALE);
  const units = BigInt(p.int + frac);
  const div = 10n ** BigInt(SCALE - places);
  let q = units / div;
  if ((units % div) * 2n >= div) q += 1n;
  const digits = q.toString().padStart(places + 1, '0');
  const int = digits.slice(0, digits.length - places) || '0';
  const out = places ? `${int}.${digits.slice(-places)}` : int;
  return p.neg && q !== 0n ? `-${out}` : out;
}

/** Decimals worth showing in a headline: cents for dollars, four significant digits below a dollar. */
function headlinePlaces(s) {
  const p = parts(String(s));
  if (p.int !== '0' || /^0*$/.test(p.frac)) return 2;
  const firstNonZero = p.frac.search(/[1-9]/);
  return Math.min(Math.max(firstNonZero + 4, 2), 8);
}

/** A headline amount: "$1,234.57", "$0.004501", "-$3.10". */
export function usd(s) {
  if (s === null || s === undefined) return '—';
  const r = roundDecimal(s, headlinePlaces(s));
  const p = parts(r);
  return `${p.neg ? '-' : ''}$${group(p.int)}${p.frac ? `.${p.frac}` : ''}`;
}

/** A signed headline amount for changes: "+$1.20", "-$0.40". */
export const usdSigned = (s) => (s === null || s === undefined ? '—' : String(s).startsWith('-') ? usd(s) : `+${usd(s)}`);

export const isNegative = (s) => typeof s === 'string' && s.startsWith('-') && !/^-0*(\.0*)?$/.test(s);

/** Compare two decimal strings (for sorting without floats). */
export function compareDecimal(a, b) {
  const x = parts(String(a)), y = parts(String(b));
  const ux = BigInt((x.neg ? '-' : '') + x.int + x.frac.padEnd(SCALE, '0').slice(0, SCALE));
  const uy = BigInt((y.neg ? '-' : '') + y.int + y.frac.padEnd(SCALE, '0').slice(0, SCALE));
  return ux < uy ? -1 : ux > uy ? 1 : 0;
}

export const int = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
export const pct = (r, digits = 1) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(digits)}%`);
export const pctSigned = (r, digits = 1) => (r === null || r === undefined ? '—' : `${r > 0 ? '+' : ''}${(r * 100).toFixed(digits)}%`);
/** Compact numbers for axes: 12.3k, 4.5M. */
export const compact = (n) => new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
