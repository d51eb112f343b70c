// Insights against a hand-built ledger posted through POST /api/v1/events: every expected figure
// below is worked out by hand from the events listed here (the derivation is in the comments).
// Most answers are read with a key scoped to `support`, so the `sales` line must never show.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDecimals, buildTestApp, post, type TestApp } from './helper.js';

const KEYS = 'admin:adm,read:rd,read:rd-support:support,ingest:ing';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;

type Ev = Record<string, unknown>;
let n = 0;
const ev = (run: string, at: string, partial: Ev): Ev => ({
  event_id: `${run}-${++n}`, run_id: run, timestamp: `2026-01-${at}Z`, product_line_id: 'support', type: 'llm', status: 'success', ...partial,
});
const llm = (run: string, at: string, provider: string, model: string, cost: string, input: number, output: number, partial: Ev = {}) =>
  ev(run, at, { provider, model, cost_usd: cost, usage: { input_tokens: input, output_tokens: output }, ...partial });
const tool = (run: string, at: string, name: string, cost: string, calls: string, partial: Ev = {}) =>
  ev(run, at, { type: 'tool', tool: name, cost_usd: cost, usage: { quantity: calls, unit: 'calls' }, ...partial });
const outcome = (run: string, at: string, status: 'success' | 'failure', revenue?: string, partial: Ev = {}) =>
  ev(run, at, { type: 'outcome', status, cost_usd: '0', ...(revenue ? { revenue_usd: revenue } : {}), ...partial });

const planner = (customer: string) => ({ agent_id: 'planner', agent_version: 'v1', customer_id: customer, intent: 'refund' });
const architect = (customer: string) => ({ agent_id: 'architect', agent_version: 'v2', customer_id: customer, intent: 'bug_report' });

// Current window [2026-01-11, 2026-01-21): eight support runs on 2026-01-15.
const current: Ev[] = [
  // r1 planner/acme: 0.10 + 0.05 = 0.15, outcome failure → failed
  llm('r1', '15T09:00:00', 'openai', 'gpt-4o-mini', '0.10', 1000, 100, { ...planner('acme'), step_name: 'plan' }),
  tool('r1', '15T09:00:10', 'web_search', '0.05', '1', { ...planner('acme'), step_name: 'retrieve' }),
  outcome('r1', '15T09:00:20', 'failure', undefined, planner('acme')),
  // r2 planner/acme: an error, its retry (0.10 of retry cost), outcome success with revenue 1.00 → 0.20, success
  llm('r2', '15T09:10:00', 'openai', 'gpt-4o-mini', '0.10', 1000, 100, { ...planner('acme'), step_name: 'plan', status: 'error', event_id: 'r2-first' }),
  llm('r2', '15T09:10:10', 'openai', 'gpt-4o-mini', '0.10', 1000, 100, { ...planner('acme'), step_name: 'plan', attempt: 2, retry_of: 'r2-first' }),
  outcome('r2', '15T09:10:20', 'success', '1.00', planner('acme')),
  // r3 planner/globex: no outcome, all success → success, 0.100000000003
  llm('r3', '15T10:00:00', 'openai', 'gpt-4o-mini', '0.100000000003', 1000, 100, { ...planner('globex'), step_name: 'plan' }),
  // r4 planner/globex: no outcome, a timeout → failed, 0.10
  llm('r4', '15T10:05:00', 'openai', 'gpt-4o-mini', '0.10', 1000, 100, { ...planner('globex'), step_name: 'plan', status: 'timeout' }),
  // r5 architect/acme: 0.40, outcome success revenue 2.00; calls coder (r7) which calls searcher (r8)
  llm('r5', '15T14:00:00', 'anthropic', 'claude-sonnet-4', '0.40', 2000, 500, { ...architect('acme'), step_name: 'design' }),
  outcome('r5', '15T14:30:00', 'success', '2.00', architect('acme')),
  // r6 architect/initech: 0.40 + a human escalation of 20.00, outcome success revenue 0.50 → 20.40
  llm('r6', '15T15:00:00', 'anthropic', 'claude-sonnet-4', '0.40', 2000, 500, { ...architect('initech'), step_name: 'design' }),
  ev('r6', '15T15:10:00', { type: 'human_escalation', cost_usd: '20.00', ...architect('initech'), step_name: 'escalate' }),
  outcome('r6', '15T15:20:00', 'success', '0.50', architect('initech')),
  // r7 coder/acme (sub-run of r5): 0.3 + 0.0245 = 0.3245, no outcome → success
  llm('r7', '15T14:01:00', 'openai', 'gpt-4o', '0.3', 1500, 300, { agent_id: 'coder', customer_id: 'acme', parent_run_id: 'r5', step_name: 'code' }),
  tool('r7', '15T14:01:30', 'sql_query', '0.0245', '2', { agent_id: 'coder', customer_id: 'acme', parent_run_id: 'r5', step_name: 'code' }),
  // r8 searcher/acme (sub-run of r7): 0.005 + 0.0325 = 0.0375, no outcome → success
  tool('r8', '15T14:02:00', 'web_search', '0.005', '1', { agent_id: 'searcher', customer_id: 'acme', parent_run_id: 'r7', step_name: 'retrieve' }),
  llm('r8', '15T14:02:10', 'openai', 'gpt-4o-mini', '0.0325', 500, 50, { agent_id: 'searcher', customer_id: 'acme', parent_run_id: 'r7', step_name: 'retrieve' }),
];
// Previous window [2026-01-01, 2026-01-11): planner 3 runs costing 0.31, architect 1 run costing 0.40.
const previous: Ev[] = [
  llm('p1', '05T09:00:00', 'openai', 'gpt-4o-mini', '0.10', 1000, 100, { ...planner('hooli'), step_name: 'plan' }),
  llm('p2', '05T09:10:00', 'openai', 'gpt-4o-mini', '0.10', 1000, 100, { ...planner('hooli'), step_name: 'plan' }),
  llm('p3', '05T09:20:00', 'openai', 'gpt-4o-mini', '0.11', 1000, 100, { ...planner('hooli'), step_name: 'plan' }),
  llm('p4', '05T14:00:00', 'anthropic', 'claude-sonnet-4', '0.40', 2000, 500, { ...architect('hooli'), step_name: 'design' }),
];
// Another product line the support-scoped key must never see.
const sales: Ev[] = [
  llm('s1', '15T12:00:00', 'openai', 'gpt-4o', '5.00', 9000, 900, { product_line_id: 'sales', agent_id: 'closer', customer_id: 'umbrella' }),
  outcome('s1', '15T12:10:00', 'success', '3.00', { product_line_id: 'sales', agent_id: 'closer', customer_id: 'umbrella' }),
];

const WINDOW = 'from=2026-01-11&to=2026-01-21';
const get = (url: string, key = 'rd-support') => t.app.inject({ url: `/api/v1/insights/${url}`, headers: as(key) });

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, BUDGET_EVAL_INTERVAL_MS: 0 });
  const res = await post(t.app, [...current, ...previous, ...sales], as('ing'));
  expect(res.json()).toMatchObject({ accepted: current.length + previous.length + sales.length, quarantined: 0, rejected: 0 });
}, 120_000);
afterAll(async () => t?.close());

describe('unit economics', () => {
  it('by agent: cost per success pays for failures and retries', async () => {
    const res = await get(`unit-economics?${WINDOW}&group_by=agent`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.inputs).toMatchObject({ from: '2026-01-11T00:00:00.000Z', to: '2026-01-21T00:00:00.000Z', tz: 'UTC', group_by: ['agent'] });
    expect(body.inputs.definitions.success).toMatch(/outcome event/);
    expect(body.rows.map((r: { group: { agent: string } }) => r.group.agent)).toEqual(['architect', 'planner', 'coder', 'searcher']);
    // planner: r1..r4 = 0.15 + 0.20 + 0.100000000003 + 0.10; successes r2 (outcome) and r3 (statuses).
    expect(body.rows[1]).toEqual({
      group: { agent: 'planner' }, runs: 4, successful_runs: 2, failed_runs: 2, success_rate: 0.5,
      cost_usd: '0.550000000003',
      cost_per_run: '0.137500000001', // 0.13750000000075 → half even at 12 places
      cost_per_success: '0.275000000002', // 0.2750000000015 → half even: …01|5 rounds to the even …02
      failed_run_cost_usd: '0.25', // r1 0.15 + r4 0.10
      retry_cost_usd: '0.1', retry_cost_share: 0.181818, retry_events: 1, runs_with_outcome: 2,
    });
    // architect: r5 0.40 + r6 20.40, both successful; the expensive agent is cheaper per success only when it does not escalate.
    expect(body.rows[0]).toMatchObject({ runs: 2, successful_runs: 2, cost_usd: '20.8', cost_per_run: '10.4', cost_per_success: '10.4', failed_run_cost_usd: '0', retry_cost_share: 0 });
    expect(body.rows[2]).toMatchObject({ group: { agent: 'coder' }, runs: 1, successful_runs: 1, cost_usd: '0.3245', cost_per_success: '0.3245' });
    // totals: 8 runs, 6 successes, 0.550000000003 + 20.8 + 0.3245 + 0.0375 = 21.712000000003; / 8 = 2.714000000000375; / 6 = 3.61866666666716…
    expect(body.totals).toMatchObject({ runs: 8, successful_runs: 6, cost_usd: '21.712000000003', cost_per_run: '2.714', cost_per_success: '3.618666666667', failed_run_cost_usd: '0.25', retry_cost_usd: '0.1' });
    expect(addDecimals(body.rows.map((r: { cost_usd: string }) => r.cost_usd))).toBe(body.totals.cost_usd);
    expect(res.headers['x-cache']).toBe('miss');
    const again = await get(`unit-economics?${WINDOW}&group_by=agent`);
    expect(again.headers['x-cache']).toBe('hit');
    expect((await t.app.inject({ url: `/api/v1/insights/unit-economics?${WINDOW}&group_by=agent`, headers: { ...as('rd-support'), 'if-none-match': res.headers.etag as string } })).statusCode).toBe(304);
  });

  it('by model and customer: runs count in every model they used, totals once', async () => {
    const body = (await get(`unit-economics?${WINDOW}&group_by=model`)).json();
    const byModel = Object.fromEntries(body.rows.map((r: { group: { model: string }; runs: number; cost_usd: string }) => [r.group.model, [r.runs, r.cost_usd]]));
    // gpt-4o-mini: r1..r4 + r8 (0.0375); claude: r5, r6; gpt-4o: r7
    expect(byModel).toEqual({ 'claude-sonnet-4': [2, '20.8'], 'gpt-4o-mini': [5, '0.587500000003'], 'gpt-4o': [1, '0.3245'] });
    expect(body.totals.runs).toBe(8);
    const customers = (await get(`unit-economics?${WINDOW}&group_by=customer,agent&customer=acme`)).json();
    expect(customers.rows.map((r: { group: Record<string, string>; runs: number }) => [r.group.customer, r.group.agent, r.runs])).toEqual([
      ['acme', 'architect', 1], ['acme', 'planner', 2], ['acme', 'coder', 1], ['acme', 'searcher', 1], // 0.40, 0.35, 0.3245, 0.0375
    ]);
    // A run that used two models is a row in each, and once in the totals (April, a window of its own).
    const april = (day: string) => ({ timestamp: `2026-04-${day}Z` });
    expect((await post(t.app, [
      llm('mm1', '01T00:00:00', 'openai', 'gpt-4o', '1', 10, 10, april('01T09:00:00')),
      llm('mm1', '01T00:00:00', 'anthropic', 'claude-sonnet-4', '2', 10, 10, april('01T09:01:00')),
      llm('mm2', '01T00:00:00', 'openai', 'gpt-4o', '4', 10, 10, april('01T10:00:00')),
    ], as('ing'))).json()).toMatchObject({ accepted: 3 });
    const two = (await get('unit-economics?from=2026-04-01&to=2026-04-02&group_by=model')).json();
    expect(two.rows.map((r: { group: { model: string }; runs: number; cost_usd: string }) => [r.group.model, r.runs, r.cost_usd])).toEqual([['gpt-4o', 2, '7'], ['claude-sonnet-4', 1, '3']]);
    expect(two.totals).toMatchObject({ runs: 2, cost_usd: '7', cost_per_run: '3.5' });
    // By attributes alone the rows are the totals' parts: the same totals as without a group-by.
    const byAgent = (await get('unit-economics?from=2026-04-01&to=2026-04-02&group_by=agent,segment')).json();
    expect(byAgent.totals).toEqual((await get('unit-economics?from=2026-04-01&to=2026-04-02')).json().totals);
  });

  it('scoped keys see only their product lines; bad input is a 400 naming the parameter', async () => {
    const all = (await get(`unit-economics?${WINDOW}&group_by=product_line`, 'rd')).json();
    expect(all.rows.map((r: { group: { product_line: string }; cost_usd: string }) => [r.group.product_line, r.cost_usd])).toEqual([['support', '21.712000000003'], ['sales', '5']]);
    const probe = (await get(`unit-economics?${WINDOW}&product_line=sales`)).json();
    expect(probe.totals).toMatchObject({ runs: 0, cost_usd: '0', cost_per_run: null });
    for (const [qs, parameter] of [['group_by=secret', 'group_by'], ['group_by=agent,agent', 'group_by'], ['from=2026-02-01&to=2026-01-01', 'from'], ['limit=0', 'limit'], ['bogus=1', '']]) {
      const res = await get(`unit-economics?${qs}`);
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().reason).toBe('invalid_request');
      if (parameter) expect(JSON.stringify(res.json().errors)).toContain(parameter);
    }
    expect((await t.app.inject({ url: '/api/v1/insights/unit-economics' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/api/v1/insights/unit-economics', headers: as('ing') })).json().reason).toBe('forbidden_role');
  });
});

describe('the 5-minute question', () => {
  it('cost per task now vs before, top 3 drivers split into volume and unit cost that add up exactly', async () => {
    const res = await get(`cost-per-task?${WINDOW}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.inputs).toMatchObject({ by: 'agent', top: 3, previous_from: '2026-01-01T00:00:00.000Z', previous_to: '2026-01-11T00:00:00.000Z' });
    // previous: planner 3 runs 0.31 (p1..p3), architect 1 run 0.40 → 0.71 / 4 = 0.1775
    expect(body.previous).toMatchObject({ runs: 4, successful_runs: 4, cost_usd: '0.71', cost_per_task: '0.1775' });
    expect(body.current).toMatchObject({ runs: 8, successful_runs: 6, cost_usd: '21.712000000003', cost_per_task: '2.714' });
    // (21.712000000003 × 4 − 0.71 × 8) / 32 = 2.536500000000375; ÷ 0.1775 → 14.290140845…
    expect(body.change).toEqual({ cost_per_task_usd: '2.5365', cost_per_task_pct: 14.290141, cost_usd: '21.002000000003', runs: 4 });
    // cost_per_task_pct is a fraction (2.5365 / 0.1775), not × 100 like margin_pct: the definitions say so.
    expect(body.inputs.definitions.cost_per_task_pct).toBe('the relative change of cost per task as a fraction, not a percentage: (C1/N1 − C0/N0) / (C0/N0), rounded to 6 places (0.25 = +25 %); null when either window has no runs or the previous window cost 0');
    expect(body.drivers).toEqual([
      // architect: 1 → 2 runs at 0.40 before: volume 0.40; the rest (the 20.00 escalation) is unit cost
      { group: 'architect', runs_previous: 1, runs_current: 2, cost_previous_usd: '0.4', cost_current_usd: '20.8', cost_per_task_previous: '0.4', cost_per_task_current: '10.4', cost_change_usd: '20.4', volume_effect_usd: '0.4', unit_cost_effect_usd: '20' },
      // coder: new, all volume
      { group: 'coder', runs_previous: 0, runs_current: 1, cost_previous_usd: '0', cost_current_usd: '0.3245', cost_per_task_previous: null, cost_per_task_current: '0.3245', cost_change_usd: '0.3245', volume_effect_usd: '0.3245', unit_cost_effect_usd: '0' },
      // planner: 3 → 4 runs at 0.31/3 = 0.10333…: volume 0.103333333333, unit 0.240000000003 − 0.103333333333
      { group: 'planner', runs_previous: 3, runs_current: 4, cost_previous_usd: '0.31', cost_current_usd: '0.550000000003', cost_per_task_previous: '0.103333333333', cost_per_task_current: '0.137500000001', cost_change_usd: '0.240000000003', volume_effect_usd: '0.103333333333', unit_cost_effect_usd: '0.13666666667' },
    ]);
    expect(body.others).toMatchObject({ group: '(1 other group)', runs_current: 1, cost_change_usd: '0.0375', volume_effect_usd: '0.0375', unit_cost_effect_usd: '0' });
    expect(body.decomposition).toEqual({ volume_effect_usd: '0.865333333333', unit_cost_effect_usd: '20.13666666667', cost_change_usd: '21.002000000003' });
    const parts = [...body.drivers, body.others].flatMap((d: { volume_effect_usd: string; unit_cost_effect_usd: string }) => [d.volume_effect_usd, d.unit_cost_effect_usd]);
    expect(addSigned(parts)).toBe(body.change.cost_usd);
  });

  it('by another dimension, filtered, and with a window that has nothing before it', async () => {
    const body = (await get(`cost-per-task?${WINDOW}&by=customer&top=1&agent=planner`)).json();
    // planner by customer: hooli 3 runs 0.31 → 0; acme 0 → 2 runs 0.35; globex 0 → 2 runs 0.200000000003
    expect(body.drivers).toMatchObject([{ group: 'acme', volume_effect_usd: '0.35', unit_cost_effect_usd: '0' }]);
    expect(body.others).toMatchObject({ group: '(2 other groups)', cost_change_usd: '-0.109999999997', volume_effect_usd: '-0.109999999997', unit_cost_effect_usd: '0' });
    expect(body.change.cost_usd).toBe('0.240000000003');
    const empty = (await get('cost-per-task?from=2025-06-01&to=2025-06-02')).json();
    expect(empty.change).toEqual({ cost_per_task_usd: null, cost_per_task_pct: null, cost_usd: '0', runs: 0 });
    expect((await get('cost-per-task?by=model')).json().reason).toBe('invalid_request');
  });
});

/** Sum decimal strings that may be negative, exactly. */
function addSigned(values: string[]): string {
  const pos = values.filter((v) => !v.startsWith('-'));
  const neg = values.filter((v) => v.startsWith('-')).map((v) => v.slice(1));
  const [p, m] = [addDecimals(pos.length ? pos : ['0']), addDecimals(neg.length ? neg : ['0'])];
  const units = (s: string) => BigInt(s.split('.')[0]!) * 10n ** 12n + BigInt((s.split('.')[1] ?? '').padEnd(12, '0'));
  const d = units(p) - units(m);
  const abs = d < 0n ? -d : d;
  const frac = (abs % 10n ** 12n).toString().padStart(12, '0').replace(/0+$/, '');
  return `${d < 0n ? '-' : ''}${abs / 10n ** 12n}${frac ? `.${frac}` : ''}`;
}

describe('customers', () => {
  it('margins: cost of events, revenue of outcomes, negative margins first and flagged', async () => {
    const first = await get(`customers?${WINDOW}`);
    expect(first.statusCode, first.body).toBe(200);
    const body = first.json();
    // acme: 0.15 + 0.20 + 0.40 + 0.3245 + 0.0375 = 1.112, revenue 1.00 + 2.00; globex: 0.200000000003, no revenue;
    // initech: 20.40, revenue 0.50 → −19.9 = −3980 % of revenue. events include outcome events (r6: 3, acme's runs: 3+3+2+2+2)
    expect(body.customers).toEqual([
      { customer: 'initech', cost_usd: '20.4', revenue_usd: '0.5', margin_usd: '-19.9', margin_pct: -3980, negative_margin: true, events: 3, runs: 1 },
      { customer: 'globex', cost_usd: '0.200000000003', revenue_usd: '0', margin_usd: '-0.200000000003', margin_pct: null, negative_margin: true, events: 2, runs: 2 },
      { customer: 'acme', cost_usd: '1.112', revenue_usd: '3', margin_usd: '1.888', margin_pct: 62.933333, negative_margin: false, events: 12, runs: 5 },
    ]);
    // 3.5 − 21.712000000003 = −18.212000000003; ÷ 3.5 × 100 = −520.343…
    expect(body.totals).toEqual({ cost_usd: '21.712000000003', revenue_usd: '3.5', margin_usd: '-18.212000000003', margin_pct: -520.342857, negative_margin_customers: 2 });
    const negative = (await get(`customers?${WINDOW}&negative_only=true&sort=cost`)).json();
    expect(negative.customers.map((c: { customer: string }) => c.customer)).toEqual(['initech', 'globex']);
    // The other line's customer appears only for a key that may see it.
    expect((await get(`customers?${WINDOW}`, 'rd')).json().customers.map((c: { customer: string }) => c.customer)).toContain('umbrella');
    expect((await get(`customers?${WINDOW}&customer=umbrella`)).json().customers).toEqual([]);
  });

  it('invoice draft for a month: lines by step and source/metric add up exactly and to the cent, JSON and CSV', async () => {
    const res = await get('invoices?month=2026-01&customer=acme');
    expect(res.statusCode).toBe(200);
    const [invoice, ...more] = res.json().invoices;
    expect(more).toEqual([]);
    expect(invoice).toMatchObject({ customer: 'acme', month: '2026-01', status: 'draft', total_usd: '1.112', total_cents_usd: '1.11' });
    expect(invoice.lines).toEqual([
      { step: 'design', source: 'anthropic', metric: 'tokens', quantity: '2500', unit_price_usd: '0.00016', amount_usd: '0.4', amount_cents_usd: '0.4', events: 1 },
      { step: 'code', source: 'openai', metric: 'tokens', quantity: '1800', unit_price_usd: '0.000166666667', amount_usd: '0.3', amount_cents_usd: '0.3', events: 1 },
      { step: 'plan', source: 'openai', metric: 'tokens', quantity: '3300', unit_price_usd: '0.000090909091', amount_usd: '0.3', amount_cents_usd: '0.3', events: 3 },
      // floors 0.05, 0.03, 0.02 leave one cent to reach 1.11: it goes to the largest remainder (0.005 here)
      { step: 'retrieve', source: 'web_search', metric: 'calls', quantity: '2', unit_price_usd: '0.0275', amount_usd: '0.055', amount_cents_usd: '0.06', events: 2 },
      { step: 'retrieve', source: 'openai', metric: 'tokens', quantity: '550', unit_price_usd: '0.000059090909', amount_usd: '0.0325', amount_cents_usd: '0.03', events: 1 },
      { step: 'code', source: 'sql_query', metric: 'calls', quantity: '2', unit_price_usd: '0.01225', amount_usd: '0.0245', amount_cents_usd: '0.02', events: 1 },
    ]);
    expect(addDecimals(invoice.lines.map((l: { amount_usd: string }) => l.amount_usd))).toBe(invoice.total_usd);
    expect(addDecimals(invoice.lines.map((l: { amount_cents_usd: string }) => l.amount_cents_usd))).toBe(invoice.total_cents_usd);

    const csv = await t.app.inject({ url: '/api/v1/insights/invoices?month=2026-01&customer=acme', headers: { ...as('rd-support'), accept: 'text/csv' } });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = csv.body.trim().split('\r\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['row', 'customer', 'month', 'step', 'source', 'metric', 'quantity', 'unit_price_usd', 'amount_usd', 'amount_cents_usd', 'events']);
    expect(rows.slice(1, -1).map((r) => r[8])).toEqual(['0.4', '0.3', '0.3', '0.055', '0.0325', '0.0245']);
    expect(rows.at(-1)).toEqual(['total', 'acme', '2026-01', '', '', '', '', '', '1.112', '1.11', '9']);

    // Every customer of the month (hooli's runs were in the previous window, still January).
    const all = (await get('invoices?month=2026-01')).json();
    expect(all.invoices.map((i: { customer: string; total_usd: string }) => [i.customer, i.total_usd])).toEqual([
      ['initech', '20.4'], ['acme', '1.112'], ['hooli', '0.71'], ['globex', '0.200000000003'],
    ]);
    expect((await get('invoices?month=2026-13')).json()).toMatchObject({ status: 400, reason: 'invalid_request' });
    expect((await get('invoices')).json().reason).toBe('invalid_request');
    expect((await get('invoices?month=2026-01&customer=umbrella')).json().invoices).toEqual([]);
  });

  it('events without a customer are no customer row and no invoice draft: reported as unattributed', async () => {
    const may = (run: string, at: string, partial: Ev) => ({ ...ev(run, at, partial), timestamp: `2026-05-${at}Z`, product_line_id: 'nocust' });
    const events = [
      may('n1', '10T10:00:00', { provider: 'openai', model: 'gpt-4o', cost_usd: '1.5', usage: { input_tokens: 100, output_tokens: 10 }, customer_id: 'c-may' }),
      may('n2', '10T11:00:00', { provider: 'openai', model: 'gpt-4o', cost_usd: '2.25', usage: { input_tokens: 100, output_tokens: 10 } }),
      may('n2', '10T11:00:05', { type: 'tool', tool: 'web_search', cost_usd: '0.75', usage: { quantity: '1', unit: 'calls' } }),
      may('n2', '10T11:00:09', { type: 'outcome', status: 'success', cost_usd: '0', revenue_usd: '4' }),
    ];
    expect((await post(t.app, events, as('ing'))).json()).toMatchObject({ accepted: 4 });
    const margins = (await get('customers?from=2026-05-01&to=2026-06-01', 'rd')).json();
    expect(margins.customers.map((c: { customer: string; cost_usd: string }) => [c.customer, c.cost_usd])).toEqual([['c-may', '1.5']]);
    expect(margins.unattributed).toEqual({ cost_usd: '3', revenue_usd: '4', events: 3 });
    // the totals still cover every event of the window (they reconcile with /agent-costs)
    expect(margins.totals).toMatchObject({ cost_usd: '4.5', revenue_usd: '4', negative_margin_customers: 1 });
    const invoices = (await get('invoices?month=2026-05', 'rd')).json();
    expect(invoices.invoices.map((i: { customer: string; total_usd: string }) => [i.customer, i.total_usd])).toEqual([['c-may', '1.5']]);
    expect(invoices.unattributed).toEqual({ amount_usd: '3', events: 2 });
  });
});

describe('agents', () => {
  it('spend with shares, calls, cost per call and per success; candidates by the stated rule and thresholds', async () => {
    const res = await get(`agents?${WINDOW}&consolidate_min_share=0.5&consolidate_max_calls_per_day=1&distil_min_calls_per_day=0.5`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.inputs.thresholds).toEqual({ consolidate_min_share: 0.5, consolidate_max_calls_per_day: 1, distil_min_calls_per_day: 0.5 });
    // calls exclude outcome events; 10-day window; shares of 21.712000000003
    expect(body.agents).toEqual([
      { agent: 'architect', cost_usd: '20.8', share: 0.957996, calls: 3, cost_per_call: '6.933333333333', calls_per_day: 0.3, runs: 2, successful_runs: 2, run_cost_usd: '20.8', cost_per_success: '10.4', candidate: 'consolidate' },
      { agent: 'planner', cost_usd: '0.550000000003', share: 0.025332, calls: 6, cost_per_call: '0.091666666667', calls_per_day: 0.6, runs: 4, successful_runs: 2, run_cost_usd: '0.550000000003', cost_per_success: '0.275000000002', candidate: 'distil' },
      { agent: 'coder', cost_usd: '0.3245', share: 0.014946, calls: 2, cost_per_call: '0.16225', calls_per_day: 0.2, runs: 1, successful_runs: 1, run_cost_usd: '0.3245', cost_per_success: '0.3245', candidate: null },
      { agent: 'searcher', cost_usd: '0.0375', share: 0.001727, calls: 2, cost_per_call: '0.01875', calls_per_day: 0.2, runs: 1, successful_runs: 1, run_cost_usd: '0.0375', cost_per_success: '0.0375', candidate: null },
    ]);
    expect(body.totals).toEqual({ cost_usd: '21.712000000003', calls: 13, runs: 8 });
    // calls_per_day is rounded to 2 places, the shares to 6: the definitions say which.
    expect(body.inputs.definitions.rounding).toBe('money is exact; per-run and per-success figures are rounded half to even at 12 decimal places; rates and shares are numbers rounded half to even at 6 places, except calls_per_day (agents), rounded to 2 places.');
    expect(body.candidates).toEqual({ consolidate: ['architect'], distil: ['planner'] });
    // Defaults: 10 % share and ≤ 100 calls a day consolidate; 10,000 calls a day distil.
    expect((await get(`agents?${WINDOW}`)).json().candidates).toEqual({ consolidate: ['architect'], distil: [] });
    expect((await get(`agents?${WINDOW}&consolidate_min_share=-1`)).json().reason).toBe('invalid_request');
  });

  it('candidates compare the exact rate and share with the thresholds, not the rounded figures shown', async () => {
    // July 2026 (31 days): weekly makes 7 calls of 2 (7 / 31 = 0.225806… a day, shown as 0.23), helper
    // 1 call of 7; shares 14 / 21 = 0.666666… (shown 0.666667) and 0.333333….
    const july = Array.from({ length: 7 }, (_, i) => llm(`jl${i}`, '01T00:00:00', 'openai', 'gpt-4o', '2', 10, 10, { agent_id: 'weekly', timestamp: `2026-07-0${i + 1}T10:00:00Z` }));
    july.push(llm('jl-h', '01T00:00:00', 'openai', 'gpt-4o', '7', 10, 10, { agent_id: 'helper', timestamp: '2026-07-08T10:00:00Z' }));
    expect((await post(t.app, july, as('ing'))).json()).toMatchObject({ accepted: 8 });
    const agents = async (qs: string, range = 'date_range=2026-07-01,2026-07-31') => {
      const body = (await get(`agents?${range}&${qs}`)).json();
      return body.agents.map((a: { agent: string; calls_per_day: number; share: number; candidate: string | null }) => `${a.agent} ${a.calls_per_day} ${a.share} ${a.candidate}`);
    };
    // distil: 0.225806… < 0.23 and < 0.2259 (the rounded 0.23 is above both), ≥ 0.2258
    expect(await agents('distil_min_calls_per_day=0.23')).toEqual(['weekly 0.23 0.666667 consolidate', 'helper 0.03 0.333333 consolidate']);
    expect(await agents('distil_min_calls_per_day=0.2259')).toEqual(['weekly 0.23 0.666667 consolidate', 'helper 0.03 0.333333 consolidate']);
    expect(await agents('distil_min_calls_per_day=0.2258')).toEqual(['weekly 0.23 0.666667 distil', 'helper 0.03 0.333333 consolidate']);
    // consolidate maximum: 0.225806… ≤ 0.2259 (the rounded 0.23 is not), > 0.2258
    expect(await agents('consolidate_max_calls_per_day=0.2259')).toEqual(['weekly 0.23 0.666667 consolidate', 'helper 0.03 0.333333 consolidate']);
    expect(await agents('consolidate_max_calls_per_day=0.2258')).toEqual(['weekly 0.23 0.666667 null', 'helper 0.03 0.333333 consolidate']);
    // consolidate share: 0.666666… < 0.666667 (the rounded share is not), ≥ 0.666666
    expect(await agents('consolidate_min_share=0.666667')).toEqual(['weekly 0.23 0.666667 null', 'helper 0.03 0.333333 null']);
    expect(await agents('consolidate_min_share=0.666666')).toEqual(['weekly 0.23 0.666667 consolidate', 'helper 0.03 0.333333 null']);
    // Equal is enough both ways: 7 calls in the 28 days of 2026-07-01..28 is 0.25 a day exactly.
    const d28 = 'date_range=2026-07-01,2026-07-28';
    expect(await agents('distil_min_calls_per_day=0.25', d28)).toEqual(['weekly 0.25 0.666667 distil', 'helper 0.04 0.333333 consolidate']);
    expect(await agents('consolidate_max_calls_per_day=0.25&distil_min_calls_per_day=0.2500001', d28)).toEqual(['weekly 0.25 0.666667 consolidate', 'helper 0.04 0.333333 consolidate']);
    expect(await agents('consolidate_max_calls_per_day=0.2499999', d28)).toEqual(['weekly 0.25 0.666667 null', 'helper 0.04 0.333333 consolidate']);
  });

  it('heatmap by hour of day (also in a half-hour zone, read from raw events) and by day', async () => {
    const utc = (await get(`agents/heatmap?${WINDOW}`)).json();
    expect(utc.columns).toHaveLength(24);
    const cells = (body: { agents: { agent: string; cells: string[] }[]; columns: string[] }) => Object.fromEntries(body.agents.map((a) => [a.agent, Object.fromEntries(a.cells.flatMap((c, i) => (c === '0' ? [] : [[body.columns[i], c]])))]));
    expect(cells(utc)).toEqual({
      architect: { 14: '0.4', 15: '20.4' }, planner: { '09': '0.35', 10: '0.200000000003' }, coder: { 14: '0.3245' }, searcher: { 14: '0.0375' },
    });
    expect(utc.hottest).toEqual({ agent: 'architect', column: '15', cost_usd: '20.4' });
    // Asia/Kolkata is UTC+05:30: 14:00Z is 19:30 local, 15:00Z and 15:10Z are 20:30 and 20:40.
    const kolkata = (await get(`agents/heatmap?from=2026-01-11T00:00:00Z&to=2026-01-21T00:00:00Z&tz=Asia/Kolkata`)).json();
    expect(cells(kolkata).architect).toEqual({ 19: '0.4', 20: '20.4' });
    const days = (await get(`agents/heatmap?${WINDOW}&by=day`)).json();
    expect(days.columns).toEqual(['2026-01-11', '2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15', '2026-01-16', '2026-01-17', '2026-01-18', '2026-01-19', '2026-01-20']);
    expect(cells(days)).toEqual({ architect: { '2026-01-15': '20.8' }, planner: { '2026-01-15': '0.550000000003' }, coder: { '2026-01-15': '0.3245' }, searcher: { '2026-01-15': '0.0375' } });
  });
});

type FlowEdge = { from: string; to: string; kind: string; cost_usd: string; calls: number };
/** The costs written on the Mermaid edges (`a -->|"$0.3"| b`), by edge, read back from the text. */
const mermaidEdges = (text: string) => [...text.matchAll(/^\s+(n\d+) -->\|"\$([0-9.]+)"\| (n\d+)$/gm)].map((m) => ({ from: m[1]!, cost: m[2]!, to: m[3]! }));

describe('money flow', () => {
  it('one run tree: spend edges and entry + delegation edges each add up to the run cost; Mermaid says the same', async () => {
    const res = await get('money-flow?run_id=r5');
    expect(res.statusCode).toBe(200);
    const flow = res.json();
    // r5 architect 0.40 → r7 coder 0.3 + 0.0245 → r8 searcher 0.005 + 0.0325: 0.762, as GET /runs/r5 says
    expect(flow.cost_usd).toBe('0.762');
    expect((await t.app.inject({ url: '/api/v1/runs/r5', headers: as('rd-support') })).json().cost_usd).toBe('0.762');
    expect(flow.edges).toEqual([
      { from: 'entry:run r5', to: 'agent:architect', kind: 'entry', cost_usd: '0.4', calls: 1 },
      { from: 'agent:architect', to: 'agent:coder', kind: 'delegation', cost_usd: '0.3245', calls: 1 },
      { from: 'agent:coder', to: 'agent:searcher', kind: 'delegation', cost_usd: '0.0375', calls: 1 },
      { from: 'agent:architect', to: 'model:claude-sonnet-4', kind: 'spend', cost_usd: '0.4', calls: 1 },
      { from: 'agent:coder', to: 'model:gpt-4o', kind: 'spend', cost_usd: '0.3', calls: 1 },
      { from: 'agent:searcher', to: 'model:gpt-4o-mini', kind: 'spend', cost_usd: '0.0325', calls: 1 },
      { from: 'agent:coder', to: 'tool:sql_query', kind: 'spend', cost_usd: '0.0245', calls: 1 },
      { from: 'agent:searcher', to: 'tool:web_search', kind: 'spend', cost_usd: '0.005', calls: 1 },
    ]);
    const spend = flow.edges.filter((e: FlowEdge) => e.kind === 'spend').map((e: FlowEdge) => e.cost_usd);
    const started = flow.edges.filter((e: FlowEdge) => e.kind !== 'spend').map((e: FlowEdge) => e.cost_usd);
    expect(addDecimals(spend)).toBe('0.762');
    expect(addDecimals(started)).toBe('0.762');
    expect(flow.costliest_node).toBe('agent:architect');
    // The Mermaid text: graph TD, the same edges and costs, the architect highlighted.
    const text = flow.mermaid as string;
    expect(text.split('\n')[0]).toBe('graph TD');
    const ids = Object.fromEntries([...text.matchAll(/^\s+(n\d+)\W+"([^":]+)/gm)].map((m) => [m[2]!, m[1]!]));
    expect(text).toContain(`style ${ids.architect} fill:#f66,stroke-width:4px`);
    expect(text).toContain(`${ids.architect}["architect: $0.4"]`);
    const drawn = mermaidEdges(text);
    expect(drawn).toHaveLength(8);
    const leaves = new Set([ids['claude-sonnet-4'], ids['gpt-4o'], ids['gpt-4o-mini'], ids.sql_query, ids.web_search]);
    expect(addDecimals(drawn.filter((e) => leaves.has(e.to)).map((e) => e.cost))).toBe('0.762');
    expect(addDecimals(drawn.filter((e) => !leaves.has(e.to)).map((e) => e.cost))).toBe('0.762');
    const plain = await t.app.inject({ url: '/api/v1/insights/money-flow?run_id=r5', headers: { ...as('rd-support'), accept: 'text/plain' } });
    expect(plain.body).toBe(`${text}\n`);
    // Another line's run is not found for a scoped key, and a hostile agent name cannot break the diagram.
    expect((await get('money-flow?run_id=s1')).json()).toMatchObject({ status: 404, reason: 'unknown_run' });
    expect((await get('money-flow?run_id=s1', 'rd')).json().cost_usd).toBe('5');
  });

  it('aggregated over a window: every event on one spend edge, runs on entry and delegation edges', async () => {
    const flow = (await get(`money-flow?${WINDOW}`)).json();
    const spend = flow.edges.filter((e: FlowEdge) => e.kind === 'spend');
    expect(spend.map((e: FlowEdge) => [e.from, e.to, e.cost_usd, e.calls])).toEqual([
      ['agent:architect', 'resource:human_escalation', '20', 1],
      ['agent:architect', 'model:claude-sonnet-4', '0.8', 2],
      ['agent:planner', 'model:gpt-4o-mini', '0.500000000003', 5],
      ['agent:coder', 'model:gpt-4o', '0.3', 1],
      ['agent:planner', 'tool:web_search', '0.05', 1],
      ['agent:searcher', 'model:gpt-4o-mini', '0.0325', 1],
      ['agent:coder', 'tool:sql_query', '0.0245', 1],
      ['agent:searcher', 'tool:web_search', '0.005', 1],
    ]);
    expect(addDecimals(spend.map((e: FlowEdge) => e.cost_usd))).toBe('21.712000000003');
    expect(flow.edges.filter((e: FlowEdge) => e.kind !== 'spend').map((e: FlowEdge) => [e.from, e.to, e.cost_usd, e.calls])).toEqual([
      ['entry:runs started', 'agent:architect', '20.8', 2],
      ['entry:runs started', 'agent:planner', '0.550000000003', 4],
      ['agent:architect', 'agent:coder', '0.3245', 1],
      ['agent:coder', 'agent:searcher', '0.0375', 1],
    ]);
    expect(flow.costliest_node).toBe('agent:architect');
    expect(flow.nodes.find((n: { id: string }) => n.id === 'model:gpt-4o-mini').cost_usd).toBe('0.532500000003');
  });

  it('over a window, delegations: a parent started before the window, a parent not in the ledger, a parent in another product line', async () => {
    const at = (day: string) => ({ timestamp: `2026-03-${day}Z` });
    const batch = [
      llm('m1', '01T00:00:00', 'openai', 'gpt-4o', '4', 10, 10, { timestamp: '2026-02-28T23:00:00Z', agent_id: 'planner-x' }),
      llm('m2', '01T01:00:00', 'openai', 'gpt-4o', '0.5', 10, 10, { ...at('01T01:00:00'), agent_id: 'worker', parent_run_id: 'm1' }),
      llm('m3', '01T01:10:00', 'openai', 'gpt-4o', '0.25', 10, 10, { ...at('01T01:10:00'), agent_id: 'orphan', parent_run_id: 'ghost' }),
      llm('m4', '01T01:20:00', 'openai', 'gpt-4o', '0.125', 10, 10, { ...at('01T01:20:00'), agent_id: 'stray', parent_run_id: 's-m' }),
      llm('m5', '01T01:30:00', 'openai', 'gpt-4o', '1', 10, 10, { ...at('01T01:30:00'), agent_id: 'worker' }),
      llm('s-m', '01T02:00:00', 'openai', 'gpt-4o', '2', 10, 10, { ...at('01T02:00:00'), product_line_id: 'sales', agent_id: 'closer2' }),
    ];
    expect((await post(t.app, batch, as('ing'))).json()).toMatchObject({ accepted: 6 });
    const runs = async (key: string) => {
      const flow = (await get('money-flow?from=2026-03-01&to=2026-03-02', key)).json();
      return flow.edges.filter((e: FlowEdge) => e.kind !== 'spend').map((e: FlowEdge) => `${e.from} -> ${e.to}: ${e.cost_usd} / ${e.calls}`).sort();
    };
    const support = [
      'agent:planner-x -> agent:worker: 0.5 / 1', // m1 started the day before and still calls m2
      'entry:runs started -> agent:orphan: 0.25 / 1', // its parent "ghost" is not in the ledger
      'entry:runs started -> agent:stray: 0.125 / 1', // its parent is a run of another product line
      'entry:runs started -> agent:worker: 1 / 1',
    ];
    expect(await runs('rd-support')).toEqual(support);
    expect(await runs('rd')).toEqual([...support, 'entry:runs started -> agent:closer2: 2 / 1'].sort());
  });

  it('over a window, events without a run_id are on spend edges only: the two families differ by their cost', async () => {
    const sep = (day: string, cost: string, partial: Ev) => llm('', '01T00:00:00', 'openai', 'gpt-4o', cost, 10, 10, { timestamp: `2026-09-${day}Z`, agent_id: 'solo', ...partial });
    const batch = [
      sep('01T10:00:00', '0.5', { run_id: 'sep-r1' }),
      sep('01T10:01:00', '0.25', { run_id: 'sep-r2', agent_id: 'helper', parent_run_id: 'sep-r1' }),
      sep('02T11:00:00', '0.033', { run_id: undefined }), // no run: nobody started it
    ];
    expect((await post(t.app, batch, as('ing'))).json()).toMatchObject({ accepted: 3 });
    const flow = (await get('money-flow?date_range=2026-09-01,2026-09-30')).json();
    const edges = (kind: (k: string) => boolean) => flow.edges.filter((e: FlowEdge) => kind(e.kind)).map((e: FlowEdge) => `${e.from} -> ${e.to}: ${e.cost_usd} / ${e.calls}`);
    expect(edges((k) => k === 'spend')).toEqual(['agent:solo -> model:gpt-4o: 0.533 / 2', 'agent:helper -> model:gpt-4o: 0.25 / 1']);
    expect(edges((k) => k !== 'spend')).toEqual(['entry:runs started -> agent:solo: 0.5 / 1', 'agent:solo -> agent:helper: 0.25 / 1']);
    expect(flow.cost_usd).toBe('0.783'); // = 0.75 (entry + delegation) + 0.033 (the run-less event)
    expect(flow.inputs.definitions.entry_and_delegation_edges).toMatch(/differs from cost_usd \(events in the window\) by the events without a run_id \(spend edges only: they belong to no run\)/);
  });

  it('escapes names Mermaid would parse', async () => {
    const hostile = 'evil"]; click n0 "javascript:alert(1)" %%<b>|x|';
    const res = await post(t.app, [llm('x1', '25T10:00:00', 'openai', 'gpt-4o', '0.01', 10, 10, { agent_id: hostile, timestamp: '2026-02-03T10:00:00Z' })], as('ing'));
    expect(res.json().accepted).toBe(1);
    const text = (await get('money-flow?run_id=x1')).json().mermaid as string;
    const line = text.split('\n').find((l) => l.includes('evil'))!;
    expect(line).toMatch(/^ {4}n\d+\["evil#34;#93;; click n0 #34;javascript:alert#40;1#41;#34; %%#60;b#62;#124;x#124;: \$0\.01"\]$/);
  });
});

describe('agents vs humans', () => {
  it('cost per resolution of agent-only runs, runs with a human escalation, and blended', async () => {
    const body = (await get(`agents-vs-humans?${WINDOW}`)).json();
    // agent-only: r1..r5, r7, r8 = 21.712000000003 − 20.4; resolved r2, r3, r5, r7, r8
    expect(body.agent_only).toEqual({ runs: 7, resolved_runs: 5, cost_usd: '1.312000000003', cost_per_resolution: '0.262400000001', failed_cost_usd: '0.25', resolution_rate: 0.714286 });
    // with a human: r6, resolved, 20.40 of which 20.00 the escalation itself
    expect(body.with_human).toEqual({ runs: 1, resolved_runs: 1, cost_usd: '20.4', cost_per_resolution: '20.4', failed_cost_usd: '0', resolution_rate: 1, escalation_cost_usd: '20' });
    expect(body.blended).toEqual({ runs: 8, resolved_runs: 6, cost_usd: '21.712000000003', cost_per_resolution: '3.618666666667', failed_cost_usd: '0.25', resolution_rate: 0.75 });
    expect(body.human_share_of_runs).toBe(0.125);
    expect(body.cost_per_resolution_ratio).toBe(77.743902); // 20.4 × 5 / 1.312000000003
    expect(body.inputs.definitions.with_human).toMatch(/human_escalation/);
  });
});
