// CSV rendering of analytics rows (RFC 4180 quoting; cells that a spreadsheet would run as a
// formula are prefixed with a quote).
import type { Dimension } from './dimensions.js';
import { metricNames, type CostRow } from './query.js';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(rows: CostRow[], groupBy: Dimension[], withBucket: boolean): string {
  const header = [...groupBy, ...(withBucket ? ['bucket'] : []), ...metricNames];
  const lines = [header.join(',')];
  for (const r of rows) {
    lines.push([...groupBy.map((d) => r.group[d]), ...(withBucket ? [r.bucket] : []), ...metricNames.map((m) => r[m])].map(cell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
