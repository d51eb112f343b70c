// POST /v1/traces with the stock OpenTelemetry JS SDK and its OTLP exporters (http/protobuf and
// http/json) against the app on a local port: GenAI spans become priced, attributed, deduplicated
// events; unattributed spans are quarantined and reported as partial success; bad input gets 4xx.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { buildTestApp, one, rows, type TestApp } from './helper.js';
import { captureDiag, exportSpans, makeSpans } from './otlp-helpers.js';

const KEYS = 'ingest:ing-key,read:read-key,admin:adm-key,ingest:scoped-ing:support';
const ING = { authorization: 'Bearer ing-key' };
let t: TestApp;
let base = '';

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: KEYS, MAX_BATCH_EVENTS: 50, MAX_BODY_BYTES: 262_144 });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => t?.close());

const byName = (spans: ReadableSpan[], name: string) => spans.find((s) => s.name === name)!;
const eventId = (s: ReadableSpan) => `otel-${s.spanContext().traceId}-${s.spanContext().spanId}`;
const protoBody = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
const postRaw = (payload: Buffer | string, headers: Record<string, string>) =>
  t.app.inject({ method: 'POST', url: '/v1/traces', payload, headers: { ...ING, ...headers } });
const totals = (where = '1') => one<{ n: string; cost: string }>(t.app, `SELECT toString(count()) AS n, toString(sum(cost_usd)) AS cost FROM cost_events WHERE ${where}`);

const chat = (extra: Record<string, string | number> = {}) => ({
  'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 300, ...extra,
});

describe('stock exporters', () => {
  let spans: ReadableSpan[];
  beforeAll(async () => {
    spans = await makeSpans({ 'service.name': 'checkout', product_line_id: 'support', 'deployment.environment.name': 'staging', customer_id: 'cust-resource' }, [{
      name: 'invoke_agent planner',
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner', run_id: 'run-otlp-1' },
      children: [
        {
          name: 'chat gpt-4o-mini',
          attributes: chat({ 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.reasoning.output_tokens': 20, run_id: 'run-otlp-1', customer_id: 'cust-42', 'customer.segment': 'enterprise', intent_category: 'refund', 'gen_ai.agent.name': 'planner' }),
          children: [{ name: 'execute_tool web_search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search', 'cost.usd': '0.003', run_id: 'run-otlp-1' } }],
        },
        { name: 'GET /inventory', attributes: { 'http.request.method': 'GET' } },
      ],
    }]);
  });

  it('protobuf export: cost spans become priced events with span lineage; other spans are not events', async () => {
    const result = await exportSpans(base, 'protobuf', spans, ING);
    expect(result).toEqual({ code: 0, error: undefined });
    expect(await totals()).toEqual({ n: '2', cost: '0.00329' });

    const c = byName(spans, 'chat gpt-4o-mini');
    const row = await one(t.app, `SELECT * EXCEPT (received_at) FROM cost_events WHERE event_id = {id:String}`, { id: eventId(c) });
    expect(row).toMatchObject({
      type: 'llm', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', cost_source: 'priced', cost_usd: '0.00029',
      input_tokens: 1200, cache_read_tokens: 1000, output_tokens: 300, reasoning_tokens: 20,
      product_line_id: 'support', environment: 'staging', customer_id: 'cust-42', segment: 'enterprise', intent: 'refund', agent_id: 'planner',
      run_id: 'run-otlp-1', trace_id: c.spanContext().traceId, span_id: c.spanContext().spanId, parent_span_id: byName(spans, 'invoke_agent planner').spanContext().spanId,
      duration_ms: Math.round(hrTimeToMilliseconds(c.duration)), timestamp: '2026-01-15 12:00:00.010', status: 'success',
      attributes: { 'gen_ai.operation.name': 'chat', 'service.name': 'checkout' },
    });
    const tool = byName(spans, 'execute_tool web_search');
    expect(await one(t.app, `SELECT type, tool, quantity, unit, toString(cost_usd) AS cost, cost_source, parent_span_id, customer_id FROM cost_events WHERE event_id = {id:String}`, { id: eventId(tool) }))
      .toEqual({ type: 'tool', tool: 'web_search', quantity: '1', unit: 'calls', cost: '0.003', cost_source: 'reported', parent_span_id: c.spanContext().spanId, customer_id: 'cust-resource' });
  });

  it('re-exporting the same spans as JSON, protobuf+gzip and JSON+gzip adds nothing (dedup on trace and span id)', async () => {
    for (const [enc, gzip] of [['json', false], ['protobuf', true], ['json', true]] as const) {
      expect(await exportSpans(base, enc, spans, ING, gzip)).toEqual({ code: 0, error: undefined });
    }
    expect(await totals()).toEqual({ n: '2', cost: '0.00329' });
    const res = await postRaw(protoBody(spans), { 'content-type': 'application/x-protobuf' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-agent-ledger-receipt']).toBe('spans=4; events=2; accepted=0; duplicates=2; quarantined=0; rejected=0');
    expect(res.rawPayload.length).toBe(0); // an empty ExportTraceServiceResponse: full success
  });

  it('GET /api/v1/runs/{run_id} shows the span tree with cost rolled up', async () => {
    const res = await t.app.inject({ url: '/api/v1/runs/run-otlp-1', headers: { authorization: 'Bearer read-key' } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ run_id: 'run-otlp-1', product_line_id: 'support', cost_usd: '0.00329', events: 2 });
    expect(body.tree.events).toHaveLength(1);
    expect(body.tree.events[0]).toMatchObject({ event_id: eventId(byName(spans, 'chat gpt-4o-mini')), cost_usd: '0.00029', total_cost_usd: '0.00329' });
    expect(body.tree.events[0].children[0]).toMatchObject({ event_id: eventId(byName(spans, 'execute_tool web_search')), tool: 'web_search', cost_usd: '0.003' });
  });

  it('JSON export: older gen_ai.system, Anthropic cache buckets priced once, span attributes win over resource ones, error status', async () => {
    const more = await makeSpans({ product_line_id: 'support', 'deployment.environment.name': 'prod' }, [
      { name: 'chat claude', attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-20250514', 'gen_ai.usage.input_tokens': 2000, 'gen_ai.usage.cache_read_input_tokens': 1000, 'gen_ai.usage.cache_creation.input_tokens': 500, 'gen_ai.usage.output_tokens': 100, product_line: 'search', 'agent.id': 'writer', 'agent.version': 'v7' } },
      { name: 'chat failed', error: true, attributes: chat({ 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 }) },
    ], Date.parse('2026-01-16T08:00:00Z'));
    expect(await exportSpans(base, 'json', more, ING)).toEqual({ code: 0, error: undefined });
    const claude = await one(t.app, `SELECT product_line_id, environment, provider, agent_id, agent_version, toString(cost_usd) AS cost, cache_write_tokens FROM cost_events WHERE event_id = {id:String}`, { id: eventId(byName(more, 'chat claude')) });
    // 500 uncached × $3/M + 1000 cache reads × $0.30/M + 500 cache writes × $3.75/M + 100 out × $15/M
    expect(claude).toEqual({ product_line_id: 'search', environment: 'production', provider: 'anthropic', agent_id: 'writer', agent_version: 'v7', cost: '0.005175', cache_write_tokens: 500 });
    expect(await one(t.app, `SELECT status, toString(cost_usd) AS cost FROM cost_events WHERE event_id = {id:String}`, { id: eventId(byName(more, 'chat failed')) }))
      .toEqual({ status: 'error', cost: '0.0000015' });
  });
});

describe('partial success', () => {
  let spans: ReadableSpan[];
  beforeAll(async () => {
    spans = await makeSpans({ 'service.name': 'batch-worker' }, [
      { name: 'ok', attributes: chat({ product_line_id: 'support', run_id: 'run-partial' }) },
      { name: 'no product line', attributes: chat({ run_id: 'run-partial' }) },
      { name: 'email as customer', attributes: chat({ product_line_id: 'support', customer_id: 'jane.doe@example.com' }) },
      { name: 'prompt text', attributes: chat({ product_line_id: 'support', 'gen_ai.input.messages': '[{"role":"user","content":"secret prompt 1234"}]', 'gen_ai.output.messages': 'secret answer' }) },
    ], Date.parse('2026-01-17T09:00:00Z'));
  });

  it('the stock exporter is told how many spans were not accepted; quarantine keeps them with reasons', async () => {
    const diag = captureDiag();
    try {
      expect(await exportSpans(base, 'protobuf', spans, ING)).toEqual({ code: 0, error: undefined });
    } finally {
      diag.restore();
    }
    const warning = diag.warnings.find((w) => w.includes('Partial Success'));
    expect(warning).toContain('"rejectedSpans":2');
    expect(warning).toContain('missing_product_line');
    expect(warning).toContain('personal_data');
    expect(await totals(`run_id = 'run-partial' OR event_id = '${eventId(byName(spans, 'prompt text'))}'`)).toEqual({ n: '2', cost: '0.00058' });

    const q = await t.app.inject({ url: '/api/v1/quarantine?limit=100', headers: ING });
    const records = q.json().items as { event_id: string; reason: string; disposition: string; payload: string }[];
    const missing = records.find((r) => r.event_id === eventId(byName(spans, 'no product line')))!;
    expect(missing).toMatchObject({ reason: 'missing_product_line', disposition: 'quarantined' });
    const pii = records.find((r) => r.reason === 'personal_data')!;
    expect(pii.disposition).toBe('rejected');
    expect(JSON.stringify(pii)).not.toContain('jane.doe@example.com');
    // Message content is never read, so it is neither stored nor quarantined.
    const leaks = await one<{ n: string }>(t.app, `SELECT toString((SELECT count() FROM cost_events WHERE toString(attributes) LIKE '%secret%') + (SELECT count() FROM quarantine WHERE payload LIKE '%secret%')) AS n`);
    expect(leaks.n).toBe('0');
  });

  it('answers in the request encoding: protobuf ExportTraceServiceResponse and OTLP/JSON', async () => {
    const proto = await postRaw(protoBody(spans), { 'content-type': 'application/x-protobuf' });
    expect(proto.statusCode).toBe(200);
    expect(proto.headers['content-type']).toBe('application/x-protobuf');
    const decoded = ProtobufTraceSerializer.deserializeResponse(new Uint8Array(proto.rawPayload));
    expect(Number(decoded.partialSuccess?.rejectedSpans)).toBe(2);
    expect(decoded.partialSuccess?.errorMessage).toMatch(/^2 span\(s\) not accepted; 1 quarantined missing_product_line: span [0-9a-f]{16} .*; 1 rejected personal_data: span [0-9a-f]{16} .*see GET \/api\/v1\/quarantine$/);
    expect(proto.headers['x-agent-ledger-receipt']).toBe('spans=4; events=4; accepted=0; duplicates=2; quarantined=1; rejected=1');

    const json = await postRaw(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!), { 'content-type': 'application/json' });
    expect(json.statusCode).toBe(200);
    expect(json.json().partialSuccess).toMatchObject({ rejectedSpans: '2' });
  });
});

describe('keys and roles', () => {
  it('no key, a wrong key, a read key and a scoped ingest key are refused; nothing is stored', async () => {
    const spans = await makeSpans({ product_line_id: 'support' }, [{ name: 'x', attributes: chat({ run_id: 'run-auth' }) }]);
    expect((await exportSpans(base, 'protobuf', spans, {})).code).toBe(1);
    expect((await exportSpans(base, 'json', spans, { authorization: 'Bearer nope' })).code).toBe(1);
    const body = protoBody(spans);
    const cases: [Record<string, string>, number, string][] = [
      [{ authorization: '' }, 401, 'missing_api_key'],
      [{ authorization: 'Bearer nope' }, 401, 'invalid_api_key'],
      [{ authorization: 'Bearer read-key' }, 403, 'forbidden_role'],
      [{ authorization: 'Bearer scoped-ing' }, 403, 'forbidden_scope'],
    ];
    for (const [headers, status, reason] of cases) {
      const h: Record<string, string> = { 'content-type': 'application/x-protobuf', ...headers };
      if (!h.authorization) delete h.authorization;
      const res = await t.app.inject({ method: 'POST', url: '/v1/traces', payload: body, headers: h });
      expect([res.statusCode, res.json().reason]).toEqual([status, reason]);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect(await totals(`run_id = 'run-auth'`)).toEqual({ n: '0', cost: '0' });
    expect((await exportSpans(base, 'protobuf', spans, { authorization: 'Bearer adm-key' })).code).toBe(0);
    expect(await totals(`run_id = 'run-auth'`)).toEqual({ n: '1', cost: '0.00029' });
  });
});

describe('bad input', () => {
  const pb = { 'content-type': 'application/x-protobuf' };
  const js = { 'content-type': 'application/json' };
  const span = (attrs: Record<string, unknown>, ids: { traceId?: string; spanId?: string; start?: string } = {}) => ({
    traceId: ids.traceId ?? '5b8efff798038103d269b633813fc60c', spanId: ids.spanId ?? 'eee19b7ec3c1b174', name: 'chat',
    startTimeUnixNano: ids.start ?? '1768478400000000000', endTimeUnixNano: '1768478400500000000',
    attributes: Object.entries(attrs).map(([key, value]) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : value })),
  });
  const request = (...spans: unknown[]) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'product_line_id', value: { stringValue: 'support' } }] }, scopeSpans: [{ scope: { name: 't' }, spans }] }] });
  const str = (s: string) => ({ stringValue: s });

  it('undecodable bodies: 400 invalid_otlp / invalid_json / invalid_gzip, 415, 413', async () => {
    const spans = await makeSpans({ product_line_id: 'support' }, [{ name: 'x', attributes: chat() }]);
    const good = protoBody(spans);
    // A span whose attribute value nests arrays 20 deep, in protobuf (JSON this deep is refused by the body parser first).
    const varint = (n: number): number[] => (n < 128 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >> 7)]);
    const ld = (field: number, payload: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(payload.length)]), payload]);
    let value = ld(1, Buffer.from('x'));
    for (let i = 0; i < 20; i++) value = ld(5, ld(1, value));
    const deepSpan = Buffer.concat([ld(1, Buffer.alloc(16, 1)), ld(2, Buffer.alloc(8, 2)), ld(9, Buffer.concat([ld(1, Buffer.from('deep')), ld(2, value)]))]);
    const deep = ld(1, ld(2, ld(2, deepSpan)));
    const cases: [Buffer | string, Record<string, string>, number, string][] = [
      [good.subarray(0, good.length - 7), pb, 400, 'invalid_otlp'],
      [Buffer.from([0x0f, 0x01, 0x02]), pb, 400, 'invalid_otlp'], // wire type 7
      [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), pb, 400, 'invalid_otlp'], // length past the end
      ['{"resourceSpans":5}', js, 400, 'invalid_otlp'],
      ['[]', js, 400, 'invalid_otlp'],
      ['{"resourceSpans":[{"scopeSpans":[{"spans":["x"]}]}]}', js, 400, 'invalid_otlp'],
      [deep, pb, 400, 'invalid_otlp'],
      ['{"resourceSpans":[', js, 400, 'invalid_json'],
      [good, { ...pb, 'content-encoding': 'gzip' }, 400, 'invalid_gzip'],
      [good, { ...pb, 'content-encoding': 'br' }, 415, 'unsupported_content_encoding'],
      ['hello', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
      [Buffer.alloc(300_000, 1), pb, 413, 'body_too_large'],
      [gzipSync(Buffer.alloc(300_000, 0)), { ...pb, 'content-encoding': 'gzip' }, 413, 'body_too_large'],
    ];
    for (const [payload, headers, status, reason] of cases) {
      const res = await postRaw(payload, headers);
      expect([res.statusCode, res.json().reason], `${reason} ${JSON.stringify(headers)}`).toEqual([status, reason]);
    }
    const many = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: 51 }, (_, i) => span({ 'cost.usd': str('1') }, { spanId: (i + 1).toString(16).padStart(16, '0') })) }] }] });
    const tooMany = await postRaw(many, js);
    expect([tooMany.statusCode, tooMany.json().reason]).toEqual([413, 'too_many_events']);
  });

  it('an empty export is a success; bad spans inside a good export are rejected and counted, the rest accepted', async () => {
    const empty = await postRaw('{}', js);
    expect([empty.statusCode, empty.json()]).toEqual([200, {}]);
    const emptyProto = await postRaw(Buffer.alloc(0), pb);
    expect([emptyProto.statusCode, emptyProto.rawPayload.length]).toEqual([200, 0]);

    const hostile = "support'; DROP TABLE cost_events;--";
    const res = await postRaw(request(
      span({ 'cost.usd': str('0.25'), run_id: str('run-bad') }, { spanId: '0000000000000001' }),
      span({ 'cost.usd': str('0.25') }, { traceId: 'abc', spanId: '0000000000000002' }),
      span({ 'gen_ai.usage.input_tokens': str('lots') }, { spanId: '0000000000000003' }),
      span({ 'gen_ai.usage.input_tokens': { intValue: '99999999999999999999' } }, { spanId: '0000000000000004' }),
      span({ 'gen_ai.usage.input_tokens': -5 }, { spanId: '0000000000000005' }),
      span({ 'cost.usd': str('0.25'), product_line_id: str(hostile) }, { spanId: '0000000000000006' }),
      span({ 'cost.usd': str('-1') }, { spanId: '0000000000000007' }),
      span({ 'cost.usd': str('0.25') }, { spanId: '0000000000000008', start: '0' }),
      span({ 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 50, 'gen_ai.request.model': str('gpt-4o-mini') }, { spanId: '0000000000000009' }),
      span({ 'http.request.method': str('GET') }, { spanId: '000000000000000a' }),
    ), js);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-agent-ledger-receipt']).toBe('spans=10; events=9; accepted=1; duplicates=0; quarantined=0; rejected=8');
    expect(res.json().partialSuccess.rejectedSpans).toBe('8');
    expect(res.json().partialSuccess.errorMessage).toMatch(/^8 span\(s\) not accepted; 8 rejected invalid_event: /);
    expect(await totals(`run_id = 'run-bad'`)).toEqual({ n: '1', cost: '0.25' });
    expect((await rows(t.app, 'EXISTS TABLE cost_events'))[0]).toEqual({ result: 1 });
  });

  it('a double cost is the shortest form of the float, rounded half to even only past 12 places', async () => {
    const dbl = (v: number) => ({ doubleValue: v });
    const costs: [number, string][] = [[98765.4321, '98765.4321'], [123456.789, '123456.789'], [0.1 + 0.2, '0.3'], [1.5e-7, '0.00000015'], [1.5e-12, '0.000000000002'], [1e-13, '0']];
    const res = await postRaw(request(...costs.map(([v], i) => span({ 'cost.usd': dbl(v), run_id: str(`run-dbl-${i}`) }, { spanId: (0x100 + i).toString(16).padStart(16, '0') }))), js);
    expect(res.json()).toEqual({});
    for (const [i, [, cost]] of costs.entries()) expect(await totals(`run_id = 'run-dbl-${i}'`), String(costs[i]![0])).toEqual({ n: '1', cost });
  });
});
