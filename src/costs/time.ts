// Time windows for analytics: from/to (half-open) or date_range (inclusive days), resolved in an
// IANA time zone to UTC instants, and the bucket expressions for each granularity.
import { ApiError } from '../errors.js';

export const granularities = ['hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof granularities)[number];

const validZones = new Map<string, boolean>();
/** The engine's zone names by their lower-case spelling. */
let engineZones: ReadonlyMap<string, string> | undefined;

/**
 * The zones the engine can load (`system.time_zones`), read at start: a name Intl accepts but the
 * engine cannot load is then refused like an unknown one instead of failing the statement, and a
 * name in another case (`utc`, `america/new_york`) is read as the engine spells it.
 */
export function useEngineZones(names: Iterable<string>): void {
  engineZones = new Map([...names].map((n) => [n.toLowerCase(), n]));
  validZones.clear();
}

/**
 * The zone as the engine spells it: as given when the engine knows it, else its case-insensitive
 * match, else Intl's canonical name for it (`US/Pacific-New` → `America/Los_Angeles`) if the engine
 * knows that; unchanged when the engine's names were not read.
 */
export function canonicalZone(tz: string): string {
  if (!engineZones) return tz;
  const named = engineZones.get(tz.toLowerCase());
  if (named) return named;
  try {
    return engineZones.get(new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone.toLowerCase()) ?? tz;
  } catch {
    return tz;
  }
}

export function isTimeZone(tz: string): boolean {
  let ok = validZones.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = /^[A-Za-z0-9_+\-/]{1,64}$/.test(tz) && (engineZones === undefined || engineZones.has(canonicalZone(tz).toLowerCase()));
    } catch {
      ok = false;
    }
    validZones.set(tz, ok);
  }
  return ok;
}

// Building an Intl formatter costs ~0.3 ms; one per zone is kept.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at instant `ms`, in milliseconds. */
export function zoneOffsetMs(tz: string, ms: number): number {
  if (tz === 'UTC') return 0;
  const parts = formatterFor(tz).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The UTC instant of a wall-clock time in `tz`: the earlier one when a DST change repeats it, and
 * read forward by the gap when a DST change skips it (02:30 on a spring-forward day is 03:30 in the
 * new offset), as ISO-8601 libraries do (Temporal's "compatible").
 */
export function wallClockToUtc(tz: string, y: number, m: number, d: number, h = 0, mi = 0, s = 0, msec = 0): number {
  const guess = Date.UTC(y, m - 1, d, h, mi, s, msec);
  // The wall time read in the offset of the day before and of the day after (zones change offset
  // at most once in two days); the one the zone shows as this wall time, the earlier of two.
  const before = guess - zoneOffsetMs(tz, guess - 86_400_000);
  const after = guess - zoneOffsetMs(tz, guess + 86_400_000);
  const shows = (instant: number) => instant + zoneOffsetMs(tz, instant) === guess;
  const exact = [before, after].filter(shows);
  // Neither: the time falls in a gap, and the old offset reads it forward by the gap.
  return exact.length > 0 ? Math.min(...exact) : before;
}

/** The years a window's ends may name (months of the ledger: 2000-01 … 2200-12, src/chargeback/periods.ts). */
export const FIRST_YEAR = 1970;
export const LAST_YEAR = 2200;
const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTime = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parse a date or datetime; without an offset it is wall-clock time in `tz`. */
export function parseInstant(value: string, tz: string, parameter: string): number {
  const bad = () => new ApiError(400, 'invalid_request', `${parameter}: must be YYYY-MM-DD or an ISO-8601 datetime`, { errors: [{ parameter, message: 'not a date' }] });
  const d = dateOnly.exec(value);
  const t = d ? null : dateTime.exec(value);
  if (!d && !t) throw bad();
  const [, y, mo, da, h = '0', mi = '0', s = '0', frac = '0', offset] = (d ?? t)!;
  const nums = [y, mo, da, h, mi, s].map(Number) as [number, number, number, number, number, number];
  // Date.UTC reads years 0–99 as 1900–1999, and the engine's times end in 2299: years are bounded.
  if (nums[0] < FIRST_YEAR || nums[0] > LAST_YEAR) {
    throw new ApiError(400, 'invalid_request', `${parameter}: the year must be ${FIRST_YEAR}…${LAST_YEAR}`, { errors: [{ parameter, message: 'year out of range' }] });
  }
  const probe = new Date(Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5]));
  if (probe.getUTCMonth() !== nums[1] - 1 || probe.getUTCDate() !== nums[2] || nums[3] > 23 || nums[4] > 59 || nums[5] > 59) throw bad();
  const msec = Number(frac.padEnd(3, '0').slice(0, 3));
  if (offset) {
    const utc = Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5], msec);
    if (offset === 'Z') return utc;
    const sign = offset.startsWith('-') ? -1 : 1;
    const [oh, om] = [Number(offset.slice(1, 3)), Number(offset.slice(-2))];
    if (oh > 23 || om > 59) throw bad();
    return utc - sign * (oh * 60 + om) * 60_000;
  }
  return wallClockToUtc(tz, nums[0], nums[1], nums[2], nums[3], nums[4], nums[5], msec);
}

export const DAY_MS = 86_400_000;
const MAX_SPAN = 3 * 366 * DAY_MS;
const DEFAULT_SPAN = 30 * DAY_MS;
/** The earliest instant the ledger takes (events, snapshots, windows relative to now). */
export const EARLIEST_INSTANT = Date.UTC(2000, 0, 1);
/** How far another API process's clock may run ahead of this one's. */
export const CLOCK_SKEW = 3_600_000;

/** `given`: which ends the request set (date_range sets both); the others are relative to now. */
export type Window = { from: number; to: number; given: { from: boolean; to: boolean } };

/** Resolve the request's window; the default is the last 30 days up to the next whole minute. */
export function resolveWindow(q: { from?: string; to?: string; date_range?: string }, tz: string, now = Date.now()): Window {
  if (q.date_range !== undefined && (q.from !== undefined || q.to !== undefined)) {
    throw new ApiError(400, 'invalid_request', 'date_range: use either date_range or from/to, not both', { errors: [{ parameter: 'date_range', message: 'conflicts with from/to' }] });
  }
  let from: number;
  let to: number;
  if (q.date_range !== undefined) {
    const [a, b, ...rest] = q.date_range.split(',');
    if (!a || !b || rest.length || !dateOnly.test(a) || !dateOnly.test(b)) {
      throw new ApiError(400, 'invalid_request', 'date_range: must be YYYY-MM-DD,YYYY-MM-DD (both days included)', { errors: [{ parameter: 'date_range', message: 'not a day range' }] });
    }
    from = parseInstant(a, tz, 'date_range');
    const [y, m, d] = b.split('-').map(Number) as [number, number, number];
    parseInstant(b, tz, 'date_range');
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    to = wallClockToUtc(tz, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
  } else {
    const givenFrom = q.from !== undefined ? parseInstant(q.from, tz, 'from') : undefined;
    to = q.to !== undefined ? parseInstant(q.to, tz, 'to') : Math.ceil(now / 60_000) * 60_000;
    from = givenFrom ?? to - DEFAULT_SPAN;
  }
  checkWindowSpan(from, to, q.date_range !== undefined ? 'date_range' : 'from');
  return { from, to, given: { from: q.date_range !== undefined || q.from !== undefined, to: q.date_range !== undefined || q.to !== undefined } };
}

/** Refuse a window that is empty (or reversed) or spans more than 3 years: 400 naming `parameter`. */
export function checkWindowSpan(from: number, to: number, parameter: string): void {
  if (!(from < to)) throw new ApiError(400, 'invalid_request', `${parameter}: the window is empty (from must be before to)`, { errors: [{ parameter, message: 'from ≥ to' }] });
  if (to - from > MAX_SPAN) throw new ApiError(400, 'invalid_request', `${parameter}: the window may span at most 3 years`, { errors: [{ parameter, message: 'window too long' }] });
}

/** Whether neither end was given: the window is "the last 30 days" up to now. */
export const isDefaultWindow = (w: Window) => !w.given.from && !w.given.to;

/**
 * The window as a cursor's identity knows it: the ends the request gave, and null for an end
 * relative to now (which the cursor pins; cursorWindowFits checks it), so the next page of a
 * `from`-only request still matches after the minute "now" rounds to has moved on.
 */
export const windowIdentity = (w: Window) => (isDefaultWindow(w) ? 'default' : [w.given.from ? w.from : null, w.given.to ? w.to : null]);

/**
 * Whether a window a cursor carries could have been resolved from this request: the ends the
 * request gives are equal, and an end relative to now is no later than now (a cursor comes from
 * an earlier page), and 30 days from the other end when `from` is defaulted. A cursor
 * thereby never reaches a window the parameters could not.
 */
export function cursorWindowFits(w: Window, from: number, to: number): boolean {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from >= to || to - from > MAX_SPAN) return false;
  if (w.given.from ? from !== w.from : to - from !== DEFAULT_SPAN) return false;
  // A window relative to now was resolved while this service ran: not before 2000, and not after
  // now (give or take the clock of another API process that served the first page).
  return w.given.to ? to === w.to : to <= w.to + CLOCK_SKEW && to >= EARLIEST_INSTANT;
}

/** The whole UTC days inside [from, to), as [dayFrom, dayTo): none when dayFrom >= dayTo. */
export const wholeUtcDays = (from: number, to: number) => ({ dayFrom: Math.ceil(from / DAY_MS) * DAY_MS, dayTo: Math.floor(to / DAY_MS) * DAY_MS });

/** True when the zone's offset is a multiple of `unitMs` throughout the window (checked weekly and at the end). */
export function zoneOffsetsAligned(tz: string, from: number, to: number, unitMs: number): boolean {
  for (let t = from; t <= to; t += 7 * 86_400_000) if (zoneOffsetMs(tz, t) % unitMs !== 0) return false;
  return zoneOffsetMs(tz, to) % unitMs === 0;
}

/** True when every UTC hour maps to whole hours in `tz` over the window (so hourly rollups fit). */
export const wholeHourZone = (tz: string, from: number, to: number) => zoneOffsetsAligned(tz, from, to, 3_600_000);

