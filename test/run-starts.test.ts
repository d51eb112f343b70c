// The run starts (migrations/021): run_starts, the daily run counts and run_directory, kept by the
// applier's run changes, must say exactly what run_facts says about every run (its start, its
// attributes, its bit sets) after late earlier events, attributes and models that arrive later,
// duplicates, re-pricing, and an apply that failed after its run changes were written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createEngine } from '../src/clickhouse.js';
import { rebuildRunStarts } from '../src/costs/run-starts.js';
import { configWith } from '../src/config.js';
import { buildTestApp, post, rows, type TestApp } from './helper.js';

let t: TestApp;
let engineDir: string;
/** Set to make the next apply insert into cost_events fail (after its run changes were written). */
let failApply = 0;

const STATE = 'started_at, environment, agent_id, agent_version, segment, intent, feature, customer_id, user_id, workflow_id, prompt_version, type_bits, status_bits, provider_bits, model_bits, tool_bits';
const ev = (id: string, run: string, ts: string, extra: Record<string, unknown> = {}) => ({
  event_id: id, timestamp: ts, type: 'llm', product_line_id: 'support', run_id: run, provider: 'openai', model: 'gpt-4o',
  agent_id: 'triage', agent_version: 'v1', usage: { input_tokens: 10, output_tokens: 2 }, cost_usd: '0.01', ...extra,
});
/** Post, and wait for the apply: each call is a pass of its own, so later calls change earlier runs. */
const accept = async (events: unknown[]) => {
  const res = await post(t.app, events);
  expect(res.statusCode, res.body).toBe(200);
  await rows(t.app, 'SELECT 1');
  return res.json() as { accepted: number; duplicates: number };
};
const runs = async (qs: string) => {
  const res = await t.app.inject({ url: `/api/v1/agent-costs?limit=1000&${qs}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { rows: { group: Record<string, string>; runs: number }[]; totals: { runs: number } };
};

beforeAll(async () => {
  engineDir = mkdtempSync(join(tmpdir(), 'agent-ledger-run-starts-'));
  const engine = await createEngine(configWith({ DATA_DIR: engineDir, LOG_LEVEL: 'silent' }));
  const client = engine.client as ClickHouseClient & { command: ClickHouseClient['command'] };
  const command = client.command.bind(client);
  client.command = (async (params: Parameters<ClickHouseClient['command']>[0]) => {
    if (failApply > 0 && /^INSERT INTO cost_events/m.test(params.query)) {
      failApply--;
      throw new Error('injected fault: the apply insert failed');
    }
    return command(params);
  }) as ClickHouseClient['command'];
  t = await buildTestApp({ LOAD_PRICE_CATALOG: false }, engine);

  // run-a: starts Jan 10 10:00; a later batch brings an event from Jan 9 23:30 (the run moves a day back)
  await accept([ev('a1', 'run-a', '2026-01-10T10:00:00Z'), ev('a2', 'run-a', '2026-01-10T10:05:00Z')]);
  // run-b: no segment at first; a later event carries one (the run's segment is the greatest)
  await accept([ev('b1', 'run-b', '2026-01-10T11:00:00Z')]);
  // run-c: one model first; later a tool call and a second model (its bit sets grow)
  await accept([ev('c1', 'run-c', '2026-01-10T12:00:00Z')]);
  // run-d: spans midnight in one batch; runs e0..e9: plain, one per hour on Jan 11
  await accept([ev('d1', 'run-d', '2026-01-10T23:50:00Z', { segment: 'enterprise' }), ev('d2', 'run-d', '2026-01-11T00:10:00Z', { segment: 'enterprise' }),
    ...Array.from({ length: 10 }, (_, i) => ev(`e${i}`, `run-e${i}`, `2026-01-11T${String(i).padStart(2, '0')}:30:00Z`, { segment: i % 2 ? 'smb' : 'enterprise', agent_id: `agent-${i % 3}` }))]);
  await accept([ev('a0', 'run-a', '2026-01-09T23:30:00Z'), ev('b2', 'run-b', '2026-01-10T11:10:00Z', { segment: 'smb' })]);
  await accept([{ ...ev('c2', 'run-c', '2026-01-10T12:05:00Z'), type: 'tool', tool: 'crm', provider: '', model: '', usage: { quantity: '1', unit: 'calls' } },
    ev('c3', 'run-c', '2026-01-10T12:06:00Z', { provider: 'anthropic', model: 'claude-sonnet-4' }),
    // a later event with a smaller segment ('') and another agent's smaller name leaves run-e0 as it was
    ev('e0b', 'run-e0', '2026-01-11T00:40:00Z', { agent_id: 'agent' })]);
  // a duplicate changes nothing
  expect((await accept([ev('a0', 'run-a', '2026-01-09T23:30:00Z')])).duplicates).toBe(1);
  // an apply that fails after its run changes were written is retried a second later: run-f counts once
  failApply = 1;
  await accept([ev('f1', 'run-f', '2026-01-12T08:00:00Z', { segment: 'smb' }), ev('a3', 'run-a', '2026-01-09T22:00:00Z')]);
  expect(failApply).toBe(0);
});
afterAll(async () => {
  await t.close();
  rmSync(engineDir, { recursive: true, force: true });
});

describe('the run starts say what run_facts says', () => {
  it('run_starts holds each run once, under its start, with its attributes and bit sets', async () => {
    const facts = await rows(t.app, `SELECT product_line_id, run_id, ${STATE} FROM run_facts FINAL ORDER BY product_line_id, run_id`);
    const starts = await rows(t.app, `SELECT product_line_id, run_id, ${STATE}, sum(runs) AS n FROM run_starts GROUP BY product_line_id, run_id, ${STATE} HAVING n != 0 ORDER BY product_line_id, run_id`);
    expect(facts).toHaveLength(15);
    expect(starts.map((r) => r.n)).toEqual(facts.map(() => 1));
    expect(starts.map(({ n: _, ...r }) => r)).toEqual(facts);
    const a = facts.find((r) => r.run_id === 'run-a')!;
    expect(a.started_at).toBe('2026-01-09 22:00:00.000');
  });

  it('the daily run counts are run_facts counted by day of start', async () => {
    for (const [table, cols] of [
      ['run_counts_purchase_daily', 'product_line_id, environment, agent_id, agent_version, type_bits, status_bits, provider_bits, model_bits, tool_bits'],
      ['run_counts_business_daily', 'product_line_id, environment, agent_id, agent_version, segment, intent, feature'],
      ['run_counts_customer_daily', 'product_line_id, environment, segment, customer_id'],
    ] as const) {
      const want = await rows(t.app, `SELECT toStartOfDay(started_at, 'UTC') AS day, ${cols}, toInt64(count()) AS n FROM run_facts FINAL GROUP BY day, ${cols} ORDER BY day, ${cols}`);
      const have = await rows(t.app, `SELECT day, ${cols}, sum(runs) AS n FROM ${table} GROUP BY day, ${cols} HAVING n != 0 ORDER BY day, ${cols}`);
      expect(have, table).toEqual(want);
    }
  });

  it('run_directory holds each run’s last state', async () => {
    const facts = await rows(t.app, `SELECT product_line_id, run_id, ${STATE} FROM run_facts FINAL ORDER BY product_line_id, run_id`);
    const dir = await rows(t.app, `SELECT product_line_id, run_id, ${STATE.split(', ').map((c) => `argMax(${c}, version) AS ${c}`).join(', ')} FROM run_directory GROUP BY product_line_id, run_id ORDER BY product_line_id, run_id`);
    expect(dir).toEqual(facts);
  });
});

describe('rebuilding the run starts from run_facts', () => {
  it('repairs run tables that lost rows, with progress lines, and counts stay exact', async () => {
    const before = await runs('from=2026-01-09&to=2026-01-13&group_by=segment');
    // as if an apply had failed between the views of its run changes
    await t.app.engine.client.command({ query: 'TRUNCATE TABLE run_counts_business_daily' });
    await t.app.engine.client.command({ query: "ALTER TABLE run_starts DELETE WHERE run_id = 'run-b' SETTINGS mutations_sync = 1" });
    const broken = await runs('from=2026-01-09&to=2026-01-13&group_by=segment&order=asc'); // another URL: not the cached answer
    expect(broken.totals.runs).not.toBe(before.totals.runs);
    const lines: string[] = [];
    await rebuildRunStarts(t.app.engine, (l) => lines.push(l));
    expect(lines.at(-1)).toMatch(/^run starts: 15 runs written and merged in/);
    expect(lines[0]).toMatch(/^run starts: product line 1\/1 done/);
    const after = await runs('from=2026-01-09&to=2026-01-13&group_by=segment&order=desc');
    expect(after).toEqual(before);
    const facts = await rows(t.app, `SELECT product_line_id, run_id, ${STATE} FROM run_facts FINAL ORDER BY product_line_id, run_id`);
    const starts = await rows(t.app, `SELECT product_line_id, run_id, ${STATE} FROM run_starts GROUP BY product_line_id, run_id, ${STATE} HAVING sum(runs) = 1 ORDER BY product_line_id, run_id`);
    expect(starts).toEqual(facts);
  });
});

describe('runs by start through the API', () => {
  it('a run moved a day back by a late event counts on its new day only', async () => {
    expect((await runs('from=2026-01-09&to=2026-01-10')).totals.runs).toBe(1); // run-a
    expect((await runs('from=2026-01-10&to=2026-01-11')).totals.runs).toBe(3); // run-b, run-c, run-d
    expect((await runs('from=2026-01-11&to=2026-01-12')).totals.runs).toBe(10);
    expect((await runs('from=2026-01-09&to=2026-01-13')).totals.runs).toBe(15);
    // ragged: from Jan 9 22:30 (after run-a's start) to Jan 11 05:00
    expect((await runs('from=2026-01-09T22:30:00Z&to=2026-01-11T05:00:00Z')).totals.runs).toBe(3 + 5);
  });

  it('by segment and by model: the attributes and models that arrived later', async () => {
    const seg = await runs('from=2026-01-09&to=2026-01-13&group_by=segment');
    const bySeg = Object.fromEntries(seg.rows.map((r) => [r.group.segment, r.runs]));
    // smb: run-b (segment came later), e1,e3,e5,e7,e9, run-f; enterprise: run-d, e0,e2,e4,e6,e8
    expect(bySeg).toMatchObject({ smb: 7, enterprise: 6 });
    const model = await runs('from=2026-01-10&to=2026-01-11&group_by=model');
    const byModel = Object.fromEntries(model.rows.map((r) => [r.group.model, r.runs]));
    expect(byModel).toEqual({ 'gpt-4o': 3, 'claude-sonnet-4': 1, '': 1 });
    expect(model.totals.runs).toBe(3);
    const tool = await runs('from=2026-01-10&to=2026-01-11&tool=crm');
    expect(tool.totals.runs).toBe(1);
  });

  it('per hour, and by agent over days, equal the same counts from run_facts', async () => {
    const hourly = await runs('from=2026-01-09&to=2026-01-13&granularity=hour&group_by=agent');
    const want = await rows<{ b: string; agent: string; n: string }>(t.app, "SELECT formatDateTime(toStartOfHour(started_at), '%FT%T+00:00') AS b, toString(agent_id) AS agent, count() AS n FROM run_facts FINAL GROUP BY b, agent");
    const have = new Map(hourly.rows.map((r) => [`${(r as unknown as { bucket: string }).bucket}/${r.group.agent}`, r.runs]));
    for (const w of want) expect(have.get(`${w.b}/${w.agent}`), `${w.b}/${w.agent}`).toBe(Number(w.n));
  });
});
