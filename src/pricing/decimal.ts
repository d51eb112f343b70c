// Exact decimal arithmetic for money: values are BigInt counts of 10^-SCALE units. Never Number.
export const SCALE = 12;
const ONE = 10n ** BigInt(SCALE);

/** Parse a decimal string (or a JS number via its shortest exact-looking form) at SCALE places. */
export function toUnits(value: string | number): bigint {
  const s = typeof value === 'number' ? numberToDecimalString(value) : value.trim();
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a decimal: ${s}`);
  const [, sign, int, frac = ''] = m;
  if (frac.length > SCALE && /[1-9]/.test(frac.slice(SCALE))) throw new Error(`more than ${SCALE} decimal places: ${s}`);
  const units = BigInt(int!) * ONE + BigInt(frac.slice(0, SCALE).padEnd(SCALE, '0') || '0');
  return sign ? -units : units;
}

export function fromUnits(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const frac = (abs % ONE).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / ONE}${frac ? `.${frac}` : ''}`;
}

/** A JS number as a plain decimal string, without exponent: 1.5e-7 → "0.00000015". */
export function numberToDecimalString(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, rest = '', exp] = m;
  const digits = lead! + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Multiply a decimal string by 10^k exactly (k may be negative), as a decimal string. */
export function shiftDecimal(s: string, k: number): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a decimal: ${s}`);
  const [, sign, int, frac = ''] = m;
  let digits = int! + frac;
  let point = int!.length + k;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const fraction = digits.slice(point).replace(/0+$/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** round(numerator / denominator) half to even, for non-negative denominators. */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  const q = numerator / denominator;
  const r = numerator % denominator;
  const twice = 2n * (r < 0n ? -r : r);
  if (twice < denominator) return q;
  if (twice > denominator || q % 2n !== 0n) return q + (numerator < 0n ? -1n : 1n);
  return q;
}
