// @agent-ledger/sdk: attribution through nested runs, fan-out, tools, retries and job payloads; the
// transport's batching, backoff, idempotency, bounded queue and flush on exit; the budget pre-flight;
// and OpenTelemetry mode. Real clients, a provider stub, a real agent-ledger on a port.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetCheckUnavailableError, BudgetExceededError, Ledger, type LedgerOptions } from '../sdk/src/index.js';
import { buildTestApp, one, rows, type TestApp } from './helper.js';
import { startFlakyFront, startProviderStub, type Stub } from './sdk-stub.js';

let t: TestApp;
let stub: Stub;
let base = '';
const ledgers: Ledger[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'ingest:ing-key,read:read-key,admin:adm-key', BUDGET_SYNC_MS: 0, BUDGET_EVAL_INTERVAL_MS: 0 });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  stub = await startProviderStub();
});
afterAll(async () => {
  await Promise.all(ledgers.map((l) => l.shutdown()));
  for (const c of closers) await c();
  await stub?.close();
  await t?.close();
});

const newLedger = (opts: Partial<LedgerOptions> = {}) => {
  const l = new Ledger({ endpoint: base, apiKey: 'ing-key', flushIntervalMs: 50, retryBaseMs: 5, ...opts });
  ledgers.push(l);
  return l;
};
const openai = (l: Ledger) => l.wrapOpenAI(new OpenAI({ apiKey: 'sk-stub', baseURL: `${stub.url}/v1`, maxRetries: 0 }));
const ask = (c: OpenAI, model = 'gpt-4o-mini') => c.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const runEvents = (runId: string) => rows<Record<string, any>>(t.app, `SELECT * EXCEPT (received_at), toString(cost_usd) AS cost FROM cost_events WHERE run_id = {r:String} ORDER BY timestamp, event_id`, { r: runId });
const count = async (where: string) => (await one<{ n: string; s: string }>(t.app, `SELECT toString(count()) AS n, toString(sum(cost_usd)) AS s FROM cost_events WHERE ${where}`));

describe('attribution context', () => {
  it('nested runs, fan-out, a tool with a call inside, a retry, and a job payload resumed in a worker form one run tree', async () => {
    const ledger = newLedger();
    const client = openai(ledger);
    const search = ledger.tool('web_search', async (q: string) => {
      await ask(client); // the call the tool makes nests under the tool's span
      return `results for ${q}`;
    }, { cost_usd: '0.003' });
    let payload = '';
    await ledger.run({ product_line_id: 'support', customer_id: 'cust-1', run_id: 'run-root', agent_id: 'supervisor' }, async () => {
      expect(await search('refund policy')).toBe('results for refund policy');
      await ledger.fanOut(['a', 'b', 'c'], async () => {
        await new Promise((r) => setTimeout(r, 5)); // context survives timers
        await ask(client);
      }, { agent_id: 'researcher' });
      let attempts = 0;
      await ledger.retry(async (attempt) => {
        attempts = attempt;
        await ask(client, attempt === 1 ? 'boom' : 'gpt-4o-mini');
      }, { attempts: 3, baseMs: 1 });
      expect(attempts).toBe(2);
      payload = ledger.serialize();
    });
    expect(ledger.current()).toBeUndefined();
    // Overnight job: the payload is plain JSON; the worker restores it, once as the same run and once as a child run.
    const job = JSON.parse(JSON.stringify({ task: 'summarize', attribution: payload }));
    await new Promise((r) => setImmediate(r));
    await ledger.resume(job.attribution, () => ledger.scope({ step_name: 'nightly' }, () => ask(client)));
    await ledger.resume(job.attribution, () => ask(client), { child: true });
    await ledger.flush();
    expect(ledger.stats).toMatchObject({ accepted: 9, dropped: 0 });

    const root = await runEvents('run-root');
    const tool = root.find((e) => e.type === 'tool')!;
    expect(tool).toMatchObject({ tool: 'web_search', cost: '0.003', cost_source: 'reported', quantity: '1', unit: 'calls', agent_id: 'supervisor', customer_id: 'cust-1' });
    const inner = root.find((e) => e.parent_span_id === tool.span_id)!;
    expect(inner).toMatchObject({ type: 'llm', cost: '0.00029' });
    const failed = root.find((e) => e.model === 'boom')!;
    expect(failed).toMatchObject({ status: 'error', attempt: 1, cost: '0' });
    expect(root.find((e) => e.attempt === 2)).toMatchObject({ retry_of: failed.event_id, status: 'success', cost: '0.00029' });
    expect(root.find((e) => e.step_name === 'nightly')).toMatchObject({ cost: '0.00029', customer_id: 'cust-1' });

    const children = await rows<{ run_id: string; agent_id: string; customer_id: string; fan: string }>(t.app, `SELECT run_id, agent_id, customer_id, attributes['fan_out_index'] AS fan FROM cost_events WHERE parent_run_id = 'run-root' ORDER BY fan`);
    expect(children.map((c) => [c.agent_id, c.customer_id, c.fan])).toEqual([['supervisor', 'cust-1', ''], ['researcher', 'cust-1', '0'], ['researcher', 'cust-1', '1'], ['researcher', 'cust-1', '2']]);
    expect(new Set(children.map((c) => c.run_id)).size).toBe(4);
    // One trace across the fan-out and the resumed job.
    expect((await one<{ n: string }>(t.app, `SELECT toString(uniqExact(trace_id)) AS n FROM cost_events WHERE run_id = 'run-root' OR parent_run_id = 'run-root'`)).n).toBe('1');

    const tree = await t.app.inject({ url: '/api/v1/runs/run-root', headers: { authorization: 'Bearer read-key' } });
    expect(tree.statusCode).toBe(200);
    // tool 0.003 + 7 successful gpt-4o-mini calls × 0.00029 (the failed attempt is unpriced: no usage);
    // 5 runs: the root, three fan-out children and the worker's child run.
    expect(tree.json()).toMatchObject({ run_id: 'run-root', cost_usd: '0.00503', events: 9, runs: 5 });
    const toolNode = tree.json().tree.events.find((e: { event_id: string }) => e.event_id === tool.event_id);
    expect(toolNode).toMatchObject({ total_cost_usd: '0.00329', children: [{ event_id: inner.event_id }] });
  });

  it('a job payload is untrusted input: malformed ones are refused, unknown keys ignored', () => {
    const ledger = newLedger();
    expect(() => ledger.resume('not json', () => 1)).toThrow(SyntaxError);
    expect(() => ledger.resume('{"run_id":5,"trace_id":"x"}', () => 1)).toThrow(/needs run_id and trace_id/);
    expect(() => ledger.resume('[1]', () => 1)).toThrow(TypeError);
    const frame = ledger.resume('{"run_id":"r","trace_id":"0123456789abcdef0123456789abcdef","product_line_id":"p","__proto__":{"x":1},"prompt":"secret"}', () => ledger.current());
    expect(frame).toEqual({ run_id: 'r', trace_id: '0123456789abcdef0123456789abcdef', product_line_id: 'p' });
    expect(() => ledger.serialize()).toThrow(/inside ledger.run/);
  });

  it('record() and outcome() carry the context; an outcome with revenue feeds cost per success', async () => {
    const ledger = newLedger();
    await ledger.run({ product_line_id: 'support', run_id: 'run-manual' }, () => {
      ledger.record({ type: 'human_escalation', cost_usd: '4.5', agent_id: 'human-desk' });
      ledger.record({ type: 'compute', quantity: '0.5', unit: 'gpu_hours', cost_usd: '1.25' });
      ledger.outcome('success', '30.00');
    });
    await ledger.flush();
    const order = ['human_escalation', 'compute', 'outcome'];
    const events = (await runEvents('run-manual')).sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    expect(events.map((e) => [e.type, e.cost, e.agent_id, e.status, e.revenue_usd])).toEqual([
      ['human_escalation', '4.5', 'human-desk', 'success', '0'], ['compute', '1.25', '', 'success', '0'], ['outcome', '0', '', 'success', '30'],
    ]);
  });
});

describe('transport', () => {
  it('retries 503, 429 and a lost answer with backoff; the resent batch is counted as duplicates, never twice', async () => {
    const front = await startFlakyFront(base);
    closers.push(front.close);
    front.plan.push('503', '429', 'lost');
    const ledger = newLedger({ endpoint: front.url, batchSize: 10 });
    await ledger.run({ product_line_id: 'support', run_id: 'run-flaky' }, async () => {
      for (let i = 0; i < 3; i++) ledger.record({ type: 'compute', cost_usd: '0.1', quantity: '1', unit: 'seconds' });
    });
    await ledger.flush();
    expect(front.calls).toEqual(Array(4).fill('/api/v1/events'));
    expect(ledger.stats).toMatchObject({ sent: 3, accepted: 0, duplicates: 3, retried: 3, dropped: 0 });
    expect(await count(`run_id = 'run-flaky'`)).toEqual({ n: '3', s: '0.3' });
  });

  it('batches by batchSize, drops what a full queue cannot hold, gives up on 4xx and after maxRetries, never blocks the caller', async () => {
    const front = await startFlakyFront(base);
    closers.push(front.close);
    const errors: string[] = [];
    const ledger = newLedger({ endpoint: front.url, batchSize: 2, maxQueue: 5, flushIntervalMs: 60_000, onError: (e) => errors.push(e.message) });
    ledger.run({ product_line_id: 'support', run_id: 'run-batch' }, () => {
      for (let i = 0; i < 7; i++) ledger.record({ type: 'compute', cost_usd: '0.01', quantity: '1', unit: 'seconds' });
    });
    expect(ledger.stats).toMatchObject({ dropped: 2, sent: 0 });
    await ledger.flush();
    expect(front.calls.length).toBe(3); // 2 + 2 + 1
    expect(ledger.stats).toMatchObject({ sent: 5, accepted: 5, dropped: 2 });
    expect(errors.filter((e) => e.includes('queue full'))).toHaveLength(2);

    const badKey = newLedger({ apiKey: 'wrong', onError: (e) => errors.push(e.message) });
    badKey.run({ product_line_id: 'support' }, () => badKey.record({ type: 'compute', cost_usd: '1', quantity: '1', unit: 'seconds' }));
    await badKey.flush();
    expect(badKey.stats).toMatchObject({ sent: 0, dropped: 1, retried: 0, failedBatches: 1 });
    expect(errors.at(-1)).toMatch(/HTTP 401: .*invalid_api_key/);

    const down = newLedger({ endpoint: 'http://127.0.0.1:1', maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5 });
    const started = performance.now();
    down.run({ product_line_id: 'support' }, () => {
      for (let i = 0; i < 100; i++) down.record({ type: 'compute', cost_usd: '1', quantity: '1', unit: 'seconds' });
    });
    expect(performance.now() - started).toBeLessThan(50);
    await down.flush();
    expect(down.stats).toMatchObject({ sent: 0, dropped: 100, retried: 2, failedBatches: 1 });

    // by default a batch is tried 11 times (10 retries: waits capped 0.2 s … 30 s, about a minute of outage)
    const patient = newLedger({ endpoint: 'http://127.0.0.1:1', retryBaseMs: 1, retryMaxMs: 2 });
    patient.run({ product_line_id: 'support' }, () => patient.record({ type: 'compute', cost_usd: '1', quantity: '1', unit: 'seconds' }));
    await patient.flush();
    expect(patient.stats).toMatchObject({ dropped: 1, retried: 10, failedBatches: 1 });

    // an event recorded after shutdown() is given up on and said so, not left queued forever
    const late: string[] = [];
    const closed = newLedger({ endpoint: front.url, onError: (e) => late.push(e.message) });
    await closed.shutdown();
    closed.run({ product_line_id: 'support', run_id: 'run-after-shutdown' }, () => closed.record({ type: 'compute', cost_usd: '1', quantity: '1', unit: 'seconds' }));
    expect(closed.stats).toMatchObject({ queued: 0, dropped: 1, sent: 0 });
    expect(late).toEqual(['agent-ledger: the ledger is shut down; an event recorded after shutdown() was dropped']);
  });

  it('flushes on exit: a process that records and simply ends still delivers', async () => {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/sdk-exit-child.ts', base], { timeout: 30_000 });
    expect(await count(`run_id = 'run-exit'`)).toEqual({ n: '2', s: '5' });
  });
});

describe('budget pre-flight', () => {
  it('check() throws BudgetExceededError once a block budget is spent, caches verdicts, and fails open or closed when unreachable', async () => {
    const budget = await t.app.inject({ method: 'POST', url: '/api/v1/budgets', headers: { authorization: 'Bearer adm-key' }, payload: { name: 'capped-month', scope: { product_line: 'capped' }, window: 'month', amount_usd: '0.0005', action: 'block' } });
    expect(budget.statusCode).toBe(201);
    const front = await startFlakyFront(base);
    closers.push(front.close);
    const ledger = newLedger({ endpoint: front.url, checkTtlMs: 60_000, flushIntervalMs: 60_000 });
    const client = openai(ledger);
    await ledger.run({ product_line_id: 'capped', run_id: 'run-capped' }, async () => {
      expect(await ledger.check()).toMatchObject({ allow: true, reason: 'within budget' });
      expect(await ledger.check()).toMatchObject({ allow: true });
      expect(front.calls.filter((c) => c.endsWith('/budgets/check'))).toHaveLength(1); // the second came from the cache
      await ask(client);
      await ask(client);
    });
    await ledger.flush();
    const fresh = newLedger({ checkTtlMs: 0 });
    const err = await fresh.run({ product_line_id: 'capped' }, () => fresh.check()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect((err as BudgetExceededError).verdict).toMatchObject({ allow: false, reason: 'budget "capped-month" is exhausted', budgets: [{ spent: '0.00058', limit: '0.0005', exhausted: true }] });
    // checkBeforeCalls: the wrapped call is stopped before the provider sees it.
    const guarded = newLedger({ checkTtlMs: 0, checkBeforeCalls: true });
    const before = stub.requests.length;
    await expect(guarded.run({ product_line_id: 'capped' }, async () => ask(openai(guarded)))).rejects.toBeInstanceOf(BudgetExceededError);
    expect(stub.requests.length).toBe(before);
    // Another product line is not affected.
    expect(await fresh.run({ product_line_id: 'support' }, () => fresh.check())).toMatchObject({ allow: true, reason: 'no budget applies' });

    const open = newLedger({ endpoint: 'http://127.0.0.1:1' });
    expect(await open.run({ product_line_id: 'capped' }, () => open.check())).toMatchObject({ allow: true, reason: expect.stringMatching(/^check unavailable/) });
    const closed = newLedger({ endpoint: 'http://127.0.0.1:1', checkFailure: 'closed' });
    await expect(closed.run({ product_line_id: 'capped' }, () => closed.check())).rejects.toBeInstanceOf(BudgetCheckUnavailableError);
  });
});

describe('OpenTelemetry mode', () => {
  it("exporter 'otlp' sends GenAI spans to POST /v1/traces; they become the same priced events", async () => {
    const ledger = newLedger({ exporter: 'otlp' });
    const client = openai(ledger);
    const search = ledger.tool('web_search', async () => ask(client), { cost_usd: '0.003' });
    await ledger.run({ product_line_id: 'support', run_id: 'run-otel', customer_id: 'cust-otel' }, () => search());
    await ledger.flush();
    expect(ledger.stats).toMatchObject({ sent: 2, accepted: 2, rejected: 0 });
    const events = (await runEvents('run-otel')).sort((a, b) => (a.type === 'tool' ? -1 : b.type === 'tool' ? 1 : 0));
    expect(events.map((e) => [e.type, e.cost, e.customer_id, e.event_id.startsWith(`otel-${e.trace_id}-`)])).toEqual([['tool', '0.003', 'cust-otel', true], ['llm', '0.00029', 'cust-otel', true]]);
    expect(events[1]!.parent_span_id).toBe(events[0]!.span_id);
  });

  it("exporter 'otlp' reads agent-ledger's receipt: a batch re-sent after a lost answer counts as duplicates", async () => {
    const front = await startFlakyFront(base);
    closers.push(front.close);
    front.plan.push('lost');
    const ledger = newLedger({ exporter: 'otlp', endpoint: front.url });
    await ledger.run({ product_line_id: 'support', run_id: 'run-otel-lost' }, async () => {
      for (let i = 0; i < 3; i++) ledger.record({ type: 'compute', cost_usd: '0.1', quantity: '1', unit: 'seconds' });
    });
    await ledger.flush();
    expect(front.calls).toEqual(Array(2).fill('/v1/traces'));
    expect(ledger.stats).toMatchObject({ sent: 3, accepted: 0, duplicates: 3, retried: 1, dropped: 0 });
    expect(await count(`run_id = 'run-otel-lost'`)).toEqual({ n: '3', s: '0.3' });
  });
});
