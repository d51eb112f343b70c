// `npm run bench:sdk`: what the SDK adds to a provider call. The real `openai` client calls a local
// provider stub, bare and wrapped by @agent-ledger/sdk, alternately (so machine noise hits both
// alike); the wrapped client's events really are batched and posted to a local receipt sink.
// Reports p50 / p99 per call in microseconds and the difference. Seed 000 budgets 2-5 ms.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { Ledger } from '../sdk/src/index.js';
import { OPENAI_USAGE, startProviderStub } from '../test/sdk-stub.js';

const CALLS = Number(process.env.SDK_BENCH_CALLS ?? 3000);
const WARMUP = Number(process.env.SDK_BENCH_WARMUP ?? 300);
const log = (msg: string) => console.log(`[bench:sdk] ${msg}`);

// A receipt sink standing in for agent-ledger, so the figure is the SDK's, not the ledger's.
let received = 0;
const sink = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const n = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: unknown[] }).events.length;
    received += n;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: n, duplicates: 0, quarantined: 0, rejected: 0, results: [] }));
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const stub = await startProviderStub();
const ledger = new Ledger({ endpoint: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`, apiKey: 'bench', flushIntervalMs: 200 });
const messages = [{ role: 'user' as const, content: 'hello' }];

// The same recorded answers served in process through the client's own `fetch` option: no socket,
// so the difference left is the SDK's own work, not loopback jitter.
const completion = { id: 'chatcmpl-b', object: 'chat.completion', created: 1768478400, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: OPENAI_USAGE };
const chunk = (delta: unknown, extra: object = {}) => JSON.stringify({ id: 'chatcmpl-b', object: 'chat.completion.chunk', created: 1768478400, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta, finish_reason: null }], ...extra });
const inProcessFetch = async (_url: unknown, init?: { body?: unknown }) => {
  const body = JSON.parse(String(init?.body ?? '{}')) as { stream?: boolean; stream_options?: { include_usage?: boolean } };
  if (!body.stream) return new Response(JSON.stringify(completion), { headers: { 'content-type': 'application/json' } });
  const lines = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'ok' })];
  if (body.stream_options?.include_usage) lines.push(JSON.stringify({ id: 'chatcmpl-b', object: 'chat.completion.chunk', created: 1768478400, model: 'gpt-4o-mini-2024-07-18', choices: [], usage: OPENAI_USAGE }));
  return new Response([...lines, '[DONE]'].map((l) => `data: ${l}\n\n`).join(''), { headers: { 'content-type': 'text/event-stream' } });
};
const clients = {
  'HTTP stub': { bare: new OpenAI({ apiKey: 'sk-bench', baseURL: `${stub.url}/v1`, maxRetries: 0 }), wrapped: ledger.wrapOpenAI(new OpenAI({ apiKey: 'sk-bench', baseURL: `${stub.url}/v1`, maxRetries: 0 })) },
  'in-process stub': { bare: new OpenAI({ apiKey: 'sk-bench', fetch: inProcessFetch as never, maxRetries: 0 }), wrapped: ledger.wrapOpenAI(new OpenAI({ apiKey: 'sk-bench', fetch: inProcessFetch as never, maxRetries: 0 })) },
};

type Case = { name: string; call: (c: OpenAI) => Promise<unknown> };
const cases: Case[] = [
  { name: 'chat.completions.create', call: (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages }) },
  {
    name: 'chat.completions.create (stream)',
    call: async (c) => {
      for await (const _ of await c.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) void _;
    },
  },
];

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const time = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) * 1000;
};

const rows: string[] = [];
await ledger.run({ product_line_id: 'bench', customer_id: 'cust-1', agent_id: 'planner', feature: 'checkout' }, async () => {
  for (const [where, { bare, wrapped }] of Object.entries(clients)) for (const c of cases) {
    for (let i = 0; i < WARMUP; i++) {
      await c.call(bare);
      await c.call(wrapped);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      // Alternate which goes first so neither always runs on a warmer socket.
      if (i % 2) {
        a.push(await time(() => c.call(bare)));
        b.push(await time(() => c.call(wrapped)));
      } else {
        b.push(await time(() => c.call(wrapped)));
        a.push(await time(() => c.call(bare)));
      }
    }
    a.sort((x, y) => x - y);
    b.sort((x, y) => x - y);
    const [a50, a99, b50, b99] = [pct(a, 50), pct(a, 99), pct(b, 50), pct(b, 99)];
    rows.push(`| ${where} | ${c.name} | ${a50.toFixed(0)} / ${a99.toFixed(0)} | ${b50.toFixed(0)} / ${b99.toFixed(0)} | **${(b50 - a50).toFixed(0)}** / **${(b99 - a99).toFixed(0)}** |`);
    log(`${where}, ${c.name}: bare p50 ${a50.toFixed(0)} µs p99 ${a99.toFixed(0)} µs; wrapped p50 ${b50.toFixed(0)} µs p99 ${b99.toFixed(0)} µs; added p50 ${(b50 - a50).toFixed(0)} µs p99 ${(b99 - a99).toFixed(0)} µs`);
  }
});
await ledger.shutdown();
log(`${CALLS} timed calls per case and client after ${WARMUP} warm-ups; events delivered to the sink: ${received}; SDK stats ${JSON.stringify(ledger.stats)}`);
console.log('\n| provider | call | bare p50 / p99 µs | wrapped p50 / p99 µs | added p50 / p99 µs |\n|---|---|---:|---:|---:|');
console.log(rows.join('\n'));
await stub.close();
sink.close();
