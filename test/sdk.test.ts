// @agent-ledger/sdk end to end: the real `openai` and `@anthropic-ai/sdk` clients against a local
// provider stub, wrapped by the SDK, whose events reach a real agent-ledger listening on a port.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributionError, Ledger, type LedgerOptions } from '../sdk/src/index.js';
import { buildTestApp, one, rows, type TestApp } from './helper.js';
import { startProviderStub, type Stub } from './sdk-stub.js';

let t: TestApp;
let stub: Stub;
let base = '';
const ledgers: Ledger[] = [];

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'ingest:ing-key,read:read-key,admin:adm-key' });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  stub = await startProviderStub();
});
afterAll(async () => {
  await Promise.all(ledgers.map((l) => l.shutdown()));
  await stub?.close();
  await t?.close();
});

const newLedger = (opts: Partial<LedgerOptions> = {}) => {
  const l = new Ledger({ endpoint: base, apiKey: 'ing-key', flushIntervalMs: 50, retryBaseMs: 5, ...opts });
  ledgers.push(l);
  return l;
};
const openai = (l: Ledger) => l.wrapOpenAI(new OpenAI({ apiKey: 'sk-stub', baseURL: `${stub.url}/v1`, maxRetries: 0 }));
const anthropic = (l: Ledger) => l.wrapAnthropic(new Anthropic({ apiKey: 'sk-ant-stub', baseURL: stub.url, maxRetries: 0 }));
const PROMPT = [{ role: 'user' as const, content: 'secret prompt: my card is 4111 1111 1111 1111' }];
const byRun = (runId: string) => rows<Record<string, any>>(t.app, `SELECT * EXCEPT (received_at), toString(cost_usd) AS cost FROM cost_events WHERE run_id = {r:String} ORDER BY timestamp, event_id`, { r: runId });
const sumRun = async (runId: string) => (await one<{ s: string; n: string }>(t.app, `SELECT toString(sum(cost_usd)) AS s, toString(count()) AS n FROM cost_events WHERE run_id = {r:String}`, { r: runId }));

describe('OpenAI client', () => {
  it('chat (plain, streaming), Responses (plain, streaming) and embeddings are recorded from the real response objects', async () => {
    const ledger = newLedger();
    const client = openai(ledger);
    const attribution = { product_line_id: 'support', customer_id: 'cust-1', agent_id: 'triage', feature: 'refunds', segment: 'enterprise', run_id: 'run-openai' };
    const seen = await ledger.run(attribution, async () => {
      const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: PROMPT });
      const withResponse = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: PROMPT }).withResponse();
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: PROMPT, stream: true });
      const chunks: string[] = [];
      for await (const chunk of stream) chunks.push(chunk.choices[0]!.delta.content ?? '');
      const resp = await client.responses.create({ model: 'gpt-4o-mini', input: 'secret prompt' });
      let completed = '';
      for await (const ev of await client.responses.create({ model: 'gpt-4o-mini', input: 'secret prompt', stream: true })) if (ev.type === 'response.completed') completed = ev.response.id;
      await client.embeddings.create({ model: 'text-embedding-3-small', input: 'secret prompt' });
      return { plain: plain.choices[0]!.message.content, status: withResponse.response.status, requestId: withResponse.request_id, chunks, text: resp.output_text, completed };
    });
    // The caller sees what it would without the wrapper: the usage-only chunk the wrapper asked for is hidden.
    expect(seen).toEqual({ plain: 'Your refund is on its way.', status: 200, requestId: 'req_stub', chunks: ['', 'Your refund ', 'is on its way.', ''], text: 'Done.', completed: 'resp_stub' });
    expect(stub.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!.body.stream_options).toEqual({ include_usage: true });
    await ledger.flush();
    expect(ledger.stats).toMatchObject({ sent: 6, accepted: 6, dropped: 0, quarantined: 0, rejected: 0 });

    const events = await byRun('run-openai');
    expect(events).toHaveLength(6);
    // gpt-4o-mini: 200 uncached × $0.15/M + 1000 cached × $0.08/M + 300 out × $0.60/M = $0.00029
    expect(events.map((e) => [e.attributes['gen_ai.operation.name'], e.cost, e.input_tokens, e.cache_read_tokens, e.output_tokens, e.reasoning_tokens])).toEqual([
      ['chat', '0.00029', 1200, 1000, 300, 20], ['chat', '0.00029', 1200, 1000, 300, 20], ['chat', '0.00029', 1200, 1000, 300, 20],
      ['responses', '0.00029', 1200, 1000, 300, 20], ['responses', '0.00029', 1200, 1000, 300, 20], ['embeddings', events[5]!.cost, 8, 0, 0, 0],
    ]);
    expect(events[0]).toMatchObject({ type: 'llm', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', product_line_id: 'support', customer_id: 'cust-1', agent_id: 'triage', feature: 'refunds', segment: 'enterprise', status: 'success', cost_source: 'priced' });
    expect(new Set(events.map((e) => e.trace_id)).size).toBe(1);
    expect(events.every((e) => /^[0-9a-f]{16}$/.test(e.span_id))).toBe(true);
    // No prompt or completion text leaves the process.
    const leak = await one<{ n: string }>(t.app, `SELECT toString(count()) AS n FROM cost_events WHERE positionCaseInsensitive(toString(attributes), 'secret') > 0 OR positionCaseInsensitive(toString(attributes), 'refund is') > 0`);
    expect(leak.n).toBe('0');
  });

  it('a provider error is recorded with status error and the error still reaches the caller', async () => {
    const ledger = newLedger();
    const client = openai(ledger);
    const err = await ledger.run({ product_line_id: 'support', run_id: 'run-openai-error' }, () => client.chat.completions.create({ model: 'boom', messages: PROMPT }).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    await ledger.flush();
    const [e] = await byRun('run-openai-error');
    expect(e).toMatchObject({ status: 'error', model: 'boom', input_tokens: 0, cost: '0', cost_source: 'unpriced' });
  });
});

describe('Anthropic client', () => {
  it('messages.create (plain, streaming) and messages.stream(): cache reads and writes are added to input_tokens, priced once', async () => {
    const ledger = newLedger();
    const client = anthropic(ledger);
    const text = await ledger.run({ product_line_id: 'search', run_id: 'run-anthropic', agent_id: 'writer' }, async () => {
      const plain = await client.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 200, messages: PROMPT });
      let streamed = '';
      for await (const ev of await client.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 200, messages: PROMPT, stream: true })) {
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') streamed += ev.delta.text;
      }
      const final = await client.messages.stream({ model: 'claude-sonnet-4-20250514', max_tokens: 200, messages: PROMPT }).finalMessage();
      return [(plain.content[0] as { text: string }).text, streamed, final.usage.output_tokens];
    });
    expect(text).toEqual(['Refund approved.', 'Refund approved.', 100]);
    await ledger.flush();
    const events = await byRun('run-anthropic');
    // 500 uncached × $3/M + 1000 reads × $0.30/M + 500 writes × $3.75/M + 100 out × $15/M = $0.005175
    expect(events.map((e) => [e.provider, e.model, e.input_tokens, e.cache_read_tokens, e.cache_write_tokens, e.output_tokens, e.cost])).toEqual(
      Array(3).fill(['anthropic', 'claude-sonnet-4-20250514', 2000, 1000, 500, 100, '0.005175']),
    );
    expect(await sumRun('run-anthropic')).toEqual({ s: '0.015525', n: '3' });
  });
});

describe('fail closed', () => {
  it('a wrapped call without a product line throws AttributionError before the provider is called', async () => {
    const ledger = newLedger();
    const client = openai(ledger);
    const before = stub.requests.length;
    // Thrown at the call itself (an awaiting caller sees it as a rejection), so no request is ever built.
    expect(() => client.chat.completions.create({ model: 'gpt-4o-mini', messages: PROMPT })).toThrow(AttributionError);
    await expect(ledger.run({ customer_id: 'cust-9' }, async () => anthropic(ledger).messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 10, messages: PROMPT })))
      .rejects.toMatchObject({ code: 'missing_attribution', missing: ['product_line_id'] });
    const tool = ledger.tool('web_search', async () => 'result');
    await expect(tool()).rejects.toBeInstanceOf(AttributionError);
    // Other required fields can be demanded too (seed: user_id and feature at every call site).
    const strict = newLedger({ required: ['product_line_id', 'feature'] });
    await expect(strict.run({ product_line_id: 'support' }, async () => openai(strict).chat.completions.create({ model: 'gpt-4o-mini', messages: PROMPT }))).rejects.toMatchObject({ missing: ['feature'] });
    expect(stub.requests.length).toBe(before);
    expect(ledger.stats.sent + ledger.stats.queued).toBe(0);
  });

  it("mode 'quarantine' lets the call run and sends its event for quarantine", async () => {
    const ledger = newLedger({ mode: 'quarantine' });
    await ledger.run({ run_id: 'run-unattributed' }, () => openai(ledger).chat.completions.create({ model: 'gpt-4o-mini', messages: PROMPT }));
    await ledger.flush();
    expect(ledger.stats).toMatchObject({ sent: 1, accepted: 0, quarantined: 1 });
    const q = await t.app.inject({ url: '/api/v1/quarantine?reason=missing_product_line&limit=100', headers: { authorization: 'Bearer ing-key' } });
    expect(q.json().items.some((i: { payload: string }) => i.payload.includes('run-unattributed'))).toBe(true);
    expect((await sumRun('run-unattributed')).n).toBe('0');
  });
});
