// Content negotiation for the routes that answer JSON or CSV: the Accept header's media ranges
// with their q-values (RFC 9110 §12.5.1), so `text/csv;q=0` refuses CSV and `application/json;q=0.5,
// text/csv` prefers it.

/** The q-value a header gives `type` (its own range, else `major/*`, else `*` + `/*`); 0 when not acceptable. */
function quality(ranges: { type: string; q: number }[], type: string): number {
  const major = `${type.split('/')[0]}/*`;
  for (const candidate of [type, major, '*/*']) {
    const range = ranges.find((r) => r.type === candidate);
    if (range) return range.q;
  }
  return 0;
}

/** Whether the client prefers CSV to JSON: text/csv named with q > 0, and ranked above JSON (or first among equals). */
export function prefersCsv(accept: string | undefined): boolean {
  if (!accept || !/\btext\/csv\b/i.test(accept)) return false;
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    return { type, q: Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0 };
  });
  const csv = quality(ranges, 'text/csv');
  const json = quality(ranges, 'application/json');
  if (csv === 0) return false;
  if (csv !== json) return csv > json;
  const jsonAt = ranges.findIndex((r) => ['application/json', 'application/*', '*/*'].includes(r.type));
  return jsonAt === -1 || ranges.findIndex((r) => r.type === 'text/csv') < jsonAt;
}
