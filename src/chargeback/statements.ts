// Month close and re-issue: freeze a month's FOCUS rows (the union of the 1.2 and 1.3 columns) in
// export order, then hash the exact bytes of each whole-month CSV a user can download, so
// `sha256sum` on the download verifies the statement. Legacy statements are never rewritten.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { toClickHouseTime } from '../clickhouse-time.js';
import { loadPeriods, type Month, type Period } from './periods.js';
import { ALL, exportTotals, pageQuery } from './export.js';
import { FOCUS_VERSIONS, STATEMENT_COLUMNS, focusOrder, frozenSource, liveSource, statementFiles, type StatementFile } from './focus.js';
import { withClusterLock } from '../cluster/lock.js';

/**
 * Closes, re-issues and shared-cost entries run one at a time across every process on the ledger
 * (a month is frozen once; no shared cost lands in a month while it is being frozen).
 */
export const PERIODS_LOCK = 'chargeback-periods';

/** Freeze `m` as the ledger held it at `snapshot` under `issue`, and hash each version's whole-month CSV. */
async function freeze(app: FastifyInstance, m: Month, periods: Map<string, Period>, snapshot: number, issue: string, kind: 'close' | 'reissue') {
  const { client } = app.engine;
  const live = await liveSource(app, m, periods, snapshot, '1.3');
  const cols = STATEMENT_COLUMNS.join(', ');
  await client.command({
    query: `INSERT INTO focus_statement_rows (statement_month, issue_id, row_no, ${cols})
            SELECT toDate({month_start:DateTime64(3, 'UTC')}), {issue_id:String}, row_number() OVER (ORDER BY ${focusOrder}), ${cols} FROM (${live.rows})`,
    query_params: { ...live.params, issue_id: issue },
  });
  const placeholder = { closed_at: toClickHouseTime(snapshot) } as Period;
  const files: StatementFile[] = [];
  for (const version of FOCUS_VERSIONS) {
    const frozen = frozenSource(m, placeholder, issue, version);
    const totals = await exportTotals(app, frozen, ALL);
    const whole = pageQuery(frozen, ALL, totals.rows, 0);
    const csv = (await client.exec({ query: `${whole.query} FORMAT CSVWithNames`, query_params: whole.query_params })).stream;
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of csv) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    files.push({
      statement_month: m.date, issue_id: issue, kind, focus_version: version, format: 'csv', sha256: hash.digest('hex'), bytes, rows: totals.rows,
      effective_cost_usd: totals.effective_cost_usd, billed_cost_usd: totals.billed_cost_usd, snapshot: toClickHouseTime(snapshot), issued_at: toClickHouseTime(Date.now()),
    });
  }
  await client.insert({ table: 'focus_statement_files', values: files, format: 'JSONEachRow' });
  return files;
}

const fileView = (f: StatementFile) => ({ issue_id: f.issue_id, kind: f.kind, focus_version: f.focus_version, format: f.format, sha256: f.sha256, bytes: Number(f.bytes), rows: Number(f.rows) });

/** Close a month: its FOCUS statement as of now, with totals and the SHA-256 of its FOCUS 1.3 CSV. */
export function closeMonth(app: FastifyInstance, m: Month) {
  return withClusterLock(app, PERIODS_LOCK, async (lock) => {
    const { client } = app.engine;
    const periods = await loadPeriods(client);
    if (periods.has(m.label)) throw new ApiError(409, 'period_closed', `${m.label} is already closed`);
    if (m.end > Date.now()) throw new ApiError(409, 'period_not_ended', `${m.label} has not ended yet`);
    // Everything acknowledged before the close, by any process, is in the statement.
    await app.ingestor.settleEverywhere();
    const snapshot = await app.ingestor.watermark();
    const files = await freeze(app, m, periods, snapshot, `close-${randomUUID()}`, 'close');
    const main = files.find((f) => f.focus_version === '1.3')!;
    const totals = await exportTotals(app, frozenSource(m, {} as Period, main.issue_id, '1.3'), ALL);
    const period: Period = {
      month: m.date, status: 'closed', closed_at: toClickHouseTime(snapshot), rows: totals.rows,
      effective_cost_usd: totals.effective_cost_usd, billed_cost_usd: totals.billed_cost_usd, list_cost_usd: totals.list_cost_usd,
      content_hash: `sha256:${main.sha256}`,
    };
    // The period row is what makes the month closed: written only while the lock is still ours.
    lock.assertHeld();
    await client.insert({ table: 'periods', values: [period], format: 'JSONEachRow' });
    return { ...period, month: m.label, focus_version: '1.3', files: files.map(fileView) };
  });
}

/**
 * Re-issue a month closed before FOCUS statements existed: the same ledger rows (received up to its
 * close) as a FOCUS statement with its own hashes. Its legacy statement and hash stay as they were;
 * the effective total must equal the legacy statement's, or nothing is written.
 */
export function reissueMonth(app: FastifyInstance, m: Month) {
  return withClusterLock(app, PERIODS_LOCK, async (lock) => {
    const periods = await loadPeriods(app.engine.client);
    const closed = periods.get(m.label);
    if (!closed) throw new ApiError(409, 'period_open', `${m.label} is not closed; its export already has the FOCUS columns`);
    if ((await statementFiles(app, m)).length > 0) throw new ApiError(409, 'statement_current', `${m.label} already has a FOCUS statement`);
    const snapshot = Date.parse(`${closed.closed_at.replace(' ', 'T')}Z`);
    // Late rows of earlier months count as they did at this month's close: only months closed before it.
    const before = new Map([...periods].filter(([label, p]) => label < m.label && p.closed_at < closed.closed_at));
    const check = await exportTotals(app, await liveSource(app, m, before, snapshot, '1.3'), ALL);
    if (check.effective_cost_usd !== closed.effective_cost_usd) {
      throw new ApiError(409, 'reissue_mismatch', `${m.label}: the ledger at close gives ${check.effective_cost_usd}, the legacy statement ${closed.effective_cost_usd}`);
    }
    lock.assertHeld();
    const files = await freeze(app, m, before, snapshot, `reissue-${randomUUID()}`, 'reissue');
    return { month: m.label, status: 'closed', legacy_content_hash: closed.content_hash, effective_cost_usd: check.effective_cost_usd, files: files.map(fileView) };
  });
}
