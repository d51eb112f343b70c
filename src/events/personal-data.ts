// Personal data in ids and attributes: email addresses, phone numbers and payment card numbers are
// refused (reason personal_data) and never stored in clear. The rules are narrow on purpose so that
// legitimate ids (UUIDs, numeric ids, run-123, timestamps, versions, IPs) pass; docs/hardening.md.

export type PersonalKind = 'email' | 'phone' | 'card';

const describe: Record<PersonalKind, string> = { email: 'an email address', phone: 'a phone number', card: 'a payment card number' };
/** Why a value is refused, as every route that refuses personal data says it. */
export const personalDataMessage = (kind: PersonalKind) => `looks like ${describe[kind]}; send an opaque id (e.g. a hash) instead`;

const emailPattern = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}/g;
const emailInside = new RegExp(emailPattern.source);

// Card numbers: 13–19 digits, written plain or in groups of 3–6 digits split by one space or dash,
// with an issuer prefix and length that exist, and a valid Luhn check digit.
const cardIssuers: [RegExp, number[]][] = [
  [/^4/, [13, 16, 19]], // Visa
  [/^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, [16]], // Mastercard
  [/^3[47]/, [15]], // American Express
  [/^(6011|64[4-9]|65)/, [16, 17, 18, 19]], // Discover
  [/^35(2[89]|[3-8]\d)/, [16, 17, 18, 19]], // JCB
  [/^(30[0-5]|309|36|3[89])/, [14, 15, 16, 17, 18, 19]], // Diners Club
  [/^62/, [16, 17, 18, 19]], // UnionPay
];

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function isCardNumber(digits: string): boolean {
  return /^\d{13,19}$/.test(digits) && cardIssuers.some(([prefix, lengths]) => prefix.test(digits) && lengths.includes(digits.length)) && luhnValid(digits);
}

// A maximal run of digit groups joined by single spaces or dashes, not glued to a letter or digit
// (so hex ids such as trace ids, whose digit runs touch letters, are never read as card numbers).
const digitRuns = /(?<![\dA-Za-z])\d+(?:[ -]\d+)*(?![\dA-Za-z])/g;

/** Card numbers inside `s`: [start, end) spans. Groups of a run are tried in every contiguous window. */
function cardSpans(s: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of s.matchAll(digitRuns)) {
    const run = m[0];
    if (run.length < 13) continue;
    const groups = [...run.matchAll(/\d+/g)].map((g) => ({ text: g[0], at: m.index! + g.index! }));
    for (let i = 0; i < groups.length; i++) {
      const first = groups[i]!;
      if (first.text.length >= 13) {
        if (isCardNumber(first.text)) spans.push([first.at, first.at + first.text.length]);
        continue;
      }
      // A grouped card number has groups of 3–6 digits (4-4-4-4, 4-6-5, 4-4-4-4-3).
      let digits = '';
      for (let j = i; j < groups.length && digits.length < 19; j++) {
        const g = groups[j]!;
        if (g.text.length < 3 || g.text.length > 6) break;
        digits += g.text;
        if (j > i && isCardNumber(digits)) spans.push([first.at, g.at + g.text.length]);
      }
    }
  }
  return spans;
}

// Phone numbers, only in shapes that an id does not take:
// international (+ and 8–15 digits), a parenthesized area code, North American 3-3-4 groups,
// or a national trunk prefix 0 with 2–4 further groups (020 7946 0958, 06 12 34 56 78).
// Not glued to a word, directly or by a dash (UUID groups such as 0261-4137-8256 are not phones).
const phoneRuns = /(?<![\w+])(?<!\w-)(?:\+|\()?\d[\d ().-]*\d(?!\w)(?!-\w)/g;
const phoneShapes = [
  /^\+\d(?:[ .-]?\(?\d+\)?)*$/, // international
  /^\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]?\d{2,5}){1,2}$/, // (415) 555-0132
  /^(?:1[ .-])?\d{3}[ .-]\d{3}[ .-]\d{4}$/, // 415-555-0132, 415.555.0132
  /^0\d{1,4}(?:[ .-]\d{2,4}){2,4}$/, // 020 7946 0958
];

function phoneSpans(s: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of s.matchAll(phoneRuns)) {
    const run = m[0].trim();
    const digits = run.replace(/\D/g, '').length;
    const international = run.startsWith('+');
    if (international ? digits < 8 || digits > 15 : digits < 9 || digits > 12) continue;
    if (/[ .-]{2}/.test(run) || !phoneShapes.some((shape) => shape.test(run))) continue;
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(run)) continue; // an IPv4 address
    spans.push([m.index!, m.index! + m[0].length]);
  }
  return spans;
}

/** Maximal runs of digits and . ( ) + - space: [start, end, digits, most digits joined only by space or dash]. */
function digitWindows(s: string): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  let start = -1;
  let digits = 0;
  let card = 0;
  let cardMax = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0;
    if (c >= 48 && c <= 57) {
      if (start < 0) start = i;
      digits++;
      if (++card > cardMax) cardMax = card;
    } else if (c === 32 || c === 45 || c === 40 || c === 41 || c === 43 || c === 46) {
      if (start < 0) start = i;
      if (c !== 32 && c !== 45) card = 0;
    } else {
      if (start >= 0 && digits >= 8) out.push([start, i, digits, cardMax]);
      start = -1;
      digits = card = cardMax = 0;
    }
  }
  return out;
}

const nonAscii = /[^\x00-\x7f]/;
/**
 * Look-alike characters in their plain form (NFKC: ＠ and ﹫ are @, full-width digits and dots are
 * ASCII), so an address or number written with them is found too. ASCII text is returned as is.
 */
const compatible = (s: string) => (nonAscii.test(s) ? s.normalize('NFKC') : s);

/** The kind of personal data `s` contains, if any (emails first, then cards, then phones). */
export function personalDataIn(text: string): PersonalKind | undefined {
  // The shortest address is 6 characters (a@b.co).
  if (text.length < 6) return undefined;
  const s = compatible(text);
  if (s.includes('@') && emailInside.test(s)) return 'email';
  // Cheap gate first: runs of digits and separators, by digit count. A card number needs 13 digits
  // (separators space and dash), a phone number 8 (also . ( ) +); most ids never get there, and the
  // patterns then run only on those runs, with two characters of context on each side.
  for (const [start, end, digits, cardDigits] of digitWindows(s)) {
    if (digits < 8) continue;
    const window = s.slice(Math.max(0, start - 2), end + 2);
    if (cardDigits >= 13 && cardSpans(window).length > 0) return 'card';
    if (phoneSpans(window).length > 0) return 'phone';
  }
  return undefined;
}

/**
 * `s` with every email, card and phone number replaced by a marker: for free text we store. Text
 * with look-alike characters (full-width ＠ or digits) is redacted, and kept, in their ASCII form.
 */
export function redactPersonalData(s: string): string {
  let out = compatible(s).replace(emailPattern, '[redacted-email]');
  for (const [kind, find] of [['card', cardSpans], ['phone', phoneSpans]] as const) {
    // Overlapping windows of one number merge into one span, replaced from the end.
    const merged: [number, number][] = [];
    for (const [start, end] of find(out).sort((a, b) => a[0] - b[0])) {
      const last = merged.at(-1);
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    for (const [start, end] of merged.reverse()) out = `${out.slice(0, start)}[redacted-${kind}]${out.slice(end)}`;
  }
  return out;
}

export type PersonalFinding = { path: string; kind: PersonalKind };

/**
 * Every string or number (and object key) under `value` that holds personal data, by path. `value`
 * must already be depth-checked (classify does it first), so the walk is bounded.
 */
export function findPersonalData(value: unknown, path: string, out: PersonalFinding[] = []): PersonalFinding[] {
  if (typeof value === 'string' || typeof value === 'number') {
    const kind = personalDataIn(String(value));
    if (kind) out.push({ path, kind });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const keyKind = personalDataIn(k);
      // Never name the field by a key that is itself personal data.
      if (keyKind) out.push({ path: `${path} (a key)`, kind: keyKind });
      findPersonalData(v, keyKind ? `${path}.[redacted]` : Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`, out);
    }
  }
  return out;
}

/** A copy of `value` with personal data replaced by markers (strings, numbers and keys). Bounded by the caller's depth check. */
export function scrubPersonalData(value: unknown): unknown {
  if (typeof value === 'string') return personalDataIn(value) ? redactPersonalData(value) : value;
  if (typeof value === 'number') {
    const kind = personalDataIn(String(value));
    return kind ? `[redacted-${kind}]` : value;
  }
  if (Array.isArray(value)) return value.map(scrubPersonalData);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of Object.entries(value)) {
      const kind = personalDataIn(k);
      out[kind ? `[redacted-${kind}-${++n}]` : k] = scrubPersonalData(v);
    }
    return out;
  }
  return value;
}
