// Deterministic synthetic cost events for benchmarks: realistic spread over product lines,
// models, agents, customers and time, so parts, dictionaries and compression behave as in life.
const productLines = ['support', 'search', 'sales-assist', 'code-review', 'billing-agent'];
const models: [string, string][] = [['openai', 'gpt-4o'], ['openai', 'gpt-4o-mini'], ['anthropic', 'claude-sonnet-4-20250514'], ['anthropic', 'claude-haiku-4-5'], ['google', 'gemini-2.5-pro'], ['openai', 'o3']];
const segments = ['enterprise', 'mid-market', 'smb', 'self-serve'];
const intents = ['refund', 'billing_question', 'bug_report', 'how_to', 'cancel', 'upgrade'];
const tools = ['web_search', 'crm_lookup', 'sql_query', 'send_email'];

/** A small fast PRNG so the same seed always yields the same events. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: T[]) => xs[Math.floor(r() * xs.length)]!;
const start = Date.UTC(2026, 0, 1);

/**
 * Events as agents send them: a run (8 consecutive events) belongs to one product line, agent,
 * version, customer, segment, intent, feature and environment, and its events happen within two
 * minutes of its start; runs start anywhere in January 2026 (so a batch still spans the month, as a
 * backfill or a late-arriving upload does). Models, tools, statuses and token counts vary per event.
 */
export function makeBatch(batch: number, size: number): Record<string, unknown>[] {
  const r = mulberry32(batch + 1);
  return Array.from({ length: size }, (_, i) => {
    const n = batch * size + i;
    const run = Math.floor(n / 8);
    const rr = mulberry32(run + 7_919);
    const [provider, model] = pick(r, models);
    const isTool = r() < 0.2;
    const input = 200 + Math.floor(r() * 8000);
    const cached = Math.floor(input * r() * 0.5);
    const output = 20 + Math.floor(r() * 1500);
    const runStart = start + Math.floor(rr() * 30 * 86_400_000);
    return {
      event_id: `bench-${batch}-${i}-${n.toString(36)}`,
      timestamp: new Date(runStart + (n % 8) * 15_000 + Math.floor(r() * 15_000)).toISOString(),
      type: isTool ? 'tool' : 'llm',
      product_line_id: pick(rr, productLines),
      environment: rr() < 0.9 ? 'production' : 'staging',
      workflow_id: `wf-${Math.floor(rr() * 50)}`,
      run_id: `run-${run}`,
      agent_id: `agent-${Math.floor(rr() * 20)}`,
      agent_version: `v${1 + Math.floor(rr() * 4)}`,
      customer_id: `cust-${Math.floor(rr() * 1000)}`,
      user_id: `user-${Math.floor(rr() * 10000)}`,
      segment: pick(rr, segments),
      intent: pick(rr, intents),
      feature: `feature-${Math.floor(rr() * 12)}`,
      ...(isTool
        ? { tool: pick(r, tools), usage: { quantity: '1', unit: 'calls' }, cost_usd: '0.005' }
        : { provider, model, usage: { input_tokens: input, output_tokens: output, cache_read_tokens: cached }, cost_usd: ((input * 2.5 + output * 10) / 1e6).toFixed(9) }),
      status: r() < 0.95 ? 'success' : 'error',
      duration_ms: Math.floor(r() * 20000),
    };
  });
}
