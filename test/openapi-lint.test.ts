// The API contract as standard tooling reads it: `redocly lint` (recommended rules, redocly.yaml;
// justified exceptions in .redocly.lint-ignore.yaml) finds nothing in openapi/openapi.json, and
// every operation names itself and documents the problem reasons it can answer. When a route is
// added without them, the failure names the operation and what to add.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../src/sql.js';

const run = promisify(execFile);
type Problem = { ruleId: string; severity: string; message: string; location: { pointer: string }[] };
type Operation = { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: { properties?: { reason?: { enum?: string[] } } } }> }> };

const doc = JSON.parse(readFileSync(projectPath('openapi', 'openapi.json'), 'utf8')) as { servers?: unknown[]; paths: Record<string, Record<string, Operation>> };
const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));

describe('OpenAPI contract', () => {
  it('redocly lint (recommended) reports no errors and no warnings', async () => {
    const bin = projectPath('node_modules', '.bin', 'redocly');
    // lint exits 1 on errors; the JSON report is on stdout either way.
    const out = await run(bin, ['lint', 'openapi/openapi.json', '--format=json'], {
      cwd: projectPath(), env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const report = JSON.parse(out.stdout) as { totals: { errors: number; warnings: number }; problems: Problem[] };
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems, 'fix the route schema (operationId, problems, successStatus) and run `npm run openapi`').toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 120_000);

  it('every operation has a unique operationId', () => {
    const missing = operations.filter((o) => !o.op.operationId).map((o) => `${o.name}: add operationId to the route's schema`);
    expect(missing).toEqual([]);
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('every 4xx/5xx response is application/problem+json listing its reasons', () => {
    const wrong: string[] = [];
    for (const { name, op } of operations) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!/^[45]/.test(status)) continue;
        const reasons = response.content?.['application/problem+json']?.schema?.properties?.reason?.enum;
        if (!reasons || reasons.length === 0) wrong.push(`${name} ${status}: not a problem document with reasons (declare it under the schema's \`problems\`)`);
      }
      if (!Object.keys(op.responses ?? {}).includes('500')) wrong.push(`${name}: no 500 internal_error`);
    }
    expect(wrong).toEqual([]);
    expect(doc.servers?.length).toBeGreaterThan(0);
  });

  it('derives the shared reasons from each route: keys, roles, scope, validation, bodies, rate limit', () => {
    const reasons = (path: string, method: string, status: string) =>
      doc.paths[path]![method]!.responses![status]!.content!['application/problem+json']!.schema!.properties!.reason!.enum;
    // A scoped key is refused on the reconciliation (not filtered), answered on periods (filtered).
    // (forbidden_host / forbidden_origin: any route, when no keys are configured)
    expect(reasons('/api/v1/reconciliation', 'get', '403')).toEqual(['forbidden_host', 'forbidden_origin', 'forbidden_role', 'forbidden_scope']);
    expect(reasons('/api/v1/periods', 'get', '403')).toEqual(['forbidden_host', 'forbidden_origin', 'forbidden_role']);
    expect(reasons('/api/v1/periods/{month}/close', 'post', '415')).toEqual(['unsupported_content_encoding', 'unsupported_media_type']);
    expect(reasons('/api/v1/events', 'post', '408')).toEqual(['request_timeout']);
    expect(reasons('/api/v1/reconciliation', 'get', '401')).toEqual(['invalid_api_key', 'missing_api_key']);
    expect(reasons('/api/v1/agent-costs', 'get', '400')).toEqual(['cursor_mismatch', 'invalid_cursor', 'invalid_request']);
    expect(reasons('/api/v1/events', 'post', '413')).toEqual(['body_too_large', 'too_many_events']);
    expect(reasons('/api/v1/runs/{run_id}', 'get', '404')).toEqual(['unknown_run']);
    expect(reasons('/api/v1/periods/{month}/close', 'post', '409')).toEqual(['period_closed', 'period_not_ended']);
    expect(reasons('/readyz', 'get', '503')).toEqual(['engine_unavailable']);
    expect(doc.paths['/readyz']!.get!.responses!['429']).toBeUndefined(); // never rate-limited
  });
});
