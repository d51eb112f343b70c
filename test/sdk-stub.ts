// A local stand-in for the OpenAI and Anthropic HTTP APIs, answering with recorded-style responses
// (usage with cached and reasoning tokens, SSE streams chunk by chunk) so the real client packages
// run unmodified. It counts requests, so a test can prove a refused call never reached it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Stub = { url: string; requests: { path: string; body: Record<string, any> }[]; close: () => Promise<void> };

const sse = (res: ServerResponse, events: [string | undefined, unknown][]) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [event, data] of events) res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  res.end();
};
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_stub' });
  res.end(JSON.stringify(body));
};

// OpenAI: 1200 prompt tokens of which 1000 cached, 300 completion tokens of which 20 reasoning.
export const OPENAI_USAGE = { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 1000, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 20, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
// Anthropic: input_tokens exclude the 1000 cache reads and 500 cache writes.
export const ANTHROPIC_USAGE = { input_tokens: 500, cache_creation_input_tokens: 500, cache_read_input_tokens: 1000, output_tokens: 100, service_tier: 'standard' };

function openaiChat(body: Record<string, any>, res: ServerResponse) {
  const base = { id: 'chatcmpl-stub', object: 'chat.completion', created: 1768478400, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_stub' };
  if (!body.stream) {
    return json(res, 200, { ...base, choices: [{ index: 0, message: { role: 'assistant', content: 'Your refund is on its way.', refusal: null }, logprobs: null, finish_reason: 'stop' }], usage: OPENAI_USAGE, service_tier: 'default' });
  }
  const chunk = (delta: unknown, finish: string | null = null) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(body.stream_options?.include_usage ? { usage: null } : {}) });
  const events: [undefined, unknown][] = [[undefined, chunk({ role: 'assistant', content: '' })], [undefined, chunk({ content: 'Your refund ' })], [undefined, chunk({ content: 'is on its way.' })], [undefined, chunk({}, 'stop')]];
  if (body.stream_options?.include_usage) events.push([undefined, { ...base, object: 'chat.completion.chunk', choices: [], usage: OPENAI_USAGE }]);
  events.push([undefined, '[DONE]']);
  sse(res, events);
}

function openaiResponses(body: Record<string, any>, res: ServerResponse) {
  const usage = { input_tokens: 1200, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 300, output_tokens_details: { reasoning_tokens: 20 }, total_tokens: 1500 };
  const response = { id: 'resp_stub', object: 'response', created_at: 1768478400, status: 'completed', model: 'gpt-4o-mini-2024-07-18', output: [{ type: 'message', id: 'msg_stub', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] }], usage };
  if (!body.stream) return json(res, 200, response);
  sse(res, [
    ['response.created', { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [], usage: null } }],
    ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_stub', output_index: 0, content_index: 0, delta: 'Done.' }],
    ['response.completed', { type: 'response.completed', sequence_number: 2, response }],
  ]);
}

function anthropicMessages(body: Record<string, any>, res: ServerResponse) {
  const message = { id: 'msg_stub', type: 'message', role: 'assistant', model: 'claude-sonnet-4-20250514', content: [{ type: 'text', text: 'Refund approved.' }], stop_reason: 'end_turn', stop_sequence: null, usage: ANTHROPIC_USAGE };
  if (!body.stream) return json(res, 200, message);
  sse(res, [
    ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...ANTHROPIC_USAGE, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Refund ' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'approved.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 100 } }],
    ['message_stop', { type: 'message_stop' }],
  ]);
}

async function readBody(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

export async function startProviderStub(): Promise<Stub> {
  const requests: Stub['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? '').split('?')[0]!;
    requests.push({ path, body });
    // A model named "boom" fails the way providers do: a 400 with an error object.
    if (body.model === 'boom') return json(res, 400, { error: { message: 'invalid model', type: 'invalid_request_error', code: 'model_not_found' } });
    if (path === '/v1/chat/completions') return openaiChat(body, res);
    if (path === '/v1/responses') return openaiResponses(body, res);
    if (path === '/v1/messages') return anthropicMessages(body, res);
    if (path === '/v1/embeddings') return json(res, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } });
    json(res, 404, { error: { message: `no stub for ${path}` } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

/** An HTTP front for the ledger that fails on demand (503, 429, lost responses) and counts calls. */
export async function startFlakyFront(target: string): Promise<{ url: string; calls: string[]; plan: ('503' | '429' | 'lost' | 'pass')[]; close: () => Promise<void> }> {
  const calls: string[] = [];
  const plan: ('503' | '429' | 'lost' | 'pass')[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    calls.push(req.url ?? '');
    const step = plan.shift() ?? 'pass';
    if (step === '503') return json(res, 503, { reason: 'unavailable' });
    if (step === '429') return res.writeHead(429, { 'retry-after': '0' }).end();
    const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? 'application/json') };
    if (req.headers.authorization) headers.authorization = String(req.headers.authorization);
    const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
    const text = await upstream.text();
    // "lost": the ledger stored the batch but the answer never reached the client.
    if (step === 'lost') return json(res, 502, { reason: 'bad_gateway' });
    const receipt = upstream.headers.get('x-agent-ledger-receipt');
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', ...(receipt ? { 'x-agent-ledger-receipt': receipt } : {}) });
    res.end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, plan, close: () => new Promise((r) => server.close(() => r())) };
}
