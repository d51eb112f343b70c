// A realistic ledger for the dashboard tests and README screenshots, posted through the public API:
// three product lines, an agent graph with delegation (supervisor → searcher / architect → coder),
// retries, human escalations, outcomes with revenue (two customers at a loss), 8 weeks of history,
// a spike in the last hours (an anomaly), quarantined items, budgets, a webhook and a closed month.
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Deterministic PRNG (mulberry32), so the ledger's shape is the same on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nano-dollars to an exact decimal string. */
const usd = (nanos: number) => {
  const n = BigInt(Math.round(nanos));
  const int = n / 1_000_000_000n;
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
};

const customers = [
  { id: 'acme-corp', segment: 'enterprise', weight: 5, revenuePerSuccess: 3_200_000_000 },
  { id: 'globex', segment: 'enterprise', weight: 4, revenuePerSuccess: 2_400_000_000 },
  { id: 'initech', segment: 'smb', weight: 3, revenuePerSuccess: 2_000_000_000 },
  { id: 'umbrella', segment: 'smb', weight: 2, revenuePerSuccess: 150_000_000 }, // pays less than it costs
  { id: 'hooli', segment: 'startup', weight: 2, revenuePerSuccess: 2_600_000_000 },
  { id: 'stark-ind', segment: 'enterprise', weight: 1, revenuePerSuccess: 50_000_000 }, // pays less than it costs
];
const lines = [
  { id: 'support', intent: ['refund', 'billing', 'how_to'], feature: 'helpdesk', weight: 5 },
  { id: 'search', intent: ['lookup', 'compare'], feature: 'site-search', weight: 3 },
  { id: 'research', intent: ['code_review', 'report'], feature: 'deep-research', weight: 2 },
];

type Event = Record<string, unknown>;
export type SeedOptions = { base: string; headers: Record<string, string>; now?: number; runs?: number };
export type SeedSummary = { events: number; quarantined: number; closedMonth: string; budgets: string[] };

export async function seedLedger(o: SeedOptions): Promise<SeedSummary> {
  const now = o.now ?? Date.now();
  const rand = prng(42);
  const pick = <T extends { weight: number }>(xs: T[]) => {
    let r = rand() * xs.reduce((s, x) => s + x.weight, 0);
    for (const x of xs) if ((r -= x.weight) < 0) return x;
    return xs[xs.length - 1]!;
  };
  const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
  const events: Event[] = [];
  let n = 0;
  const ev = (e: Event) => events.push({ event_id: `seed-${++n}`, environment: 'production', ...e });

  const runCount = o.runs ?? 320;
  for (let i = 0; i < runCount; i++) {
    const line = pick(lines);
    const customer = pick(customers);
    // 8 weeks back, busier in working hours; nothing in the last 90 minutes (the spike owns those).
    const dayAgo = Math.floor(rand() * 56);
    const hour = Math.floor(between(7, 20));
    let t = now - dayAgo * DAY - ((new Date(now).getUTCHours() - hour + 24) % 24) * HOUR - between(0, 50) * 60_000;
    if (t > now - 90 * 60_000) t -= DAY;
    const base = {
      product_line_id: line.id, customer_id: customer.id, segment: customer.segment, intent: line.intent[i % line.intent.length],
      feature: line.feature, workflow_id: `${line.id}-flow`, user_id: `u-${1 + Math.floor(rand() * 40)}`,
    };
    const at = (minutes: number) => new Date(t + minutes * 60_000).toISOString();
    const root = `run-${i}`;
    // Costs grow a little over time so the 30-day change has something to explain.
    const drift = 1 + (56 - dayAgo) / 140;
    const llm = (run: string, parent: string | undefined, agent: string, model: string, provider: string, minute: number, nanos: number, extra: Event = {}) => ev({
      ...base, type: 'llm', timestamp: at(minute), run_id: run, parent_run_id: parent, agent_id: agent, agent_version: agent === 'coder' && dayAgo < 20 ? 'v3' : 'v2',
      step_name: `${agent}.think`, provider, model, usage: { input_tokens: Math.round(nanos / 900), output_tokens: Math.round(nanos / 4000) },
      cost_usd: usd(nanos * drift), ...extra,
    });
    llm(root, undefined, 'supervisor', 'gpt-4o-mini', 'openai', 0, between(1_000_000, 6_000_000));
    if (line.id !== 'research') {
      const s = `${root}-s`;
      ev({ ...base, type: 'tool', timestamp: at(1), run_id: s, parent_run_id: root, agent_id: 'searcher', step_name: 'searcher.search', tool: 'web_search', usage: { quantity: '1', unit: 'calls' }, cost_usd: '0.003' });
      llm(s, root, 'searcher', 'gpt-4o-mini', 'openai', 2, between(8_000_000, 30_000_000));
      if (line.id === 'search') for (let k = 0; k < 3; k++) llm(s, root, 'formalizer', 'claude-haiku-4-5', 'anthropic', 3 + k, between(400_000, 1_500_000));
    }
    let failed = rand() < 0.18;
    if (line.id !== 'search' || rand() < 0.3) {
      const a = `${root}-a`;
      llm(a, root, 'architect', 'claude-sonnet-4-5', 'anthropic', 4, between(250_000_000, 900_000_000));
      const c = `${a}-c`;
      const coderCost = between(90_000_000, 420_000_000);
      if (rand() < 0.2) {
        llm(c, a, 'coder', 'gpt-4o', 'openai', 6, coderCost, { status: 'error', event_id: `seed-${++n}-err` });
        llm(c, a, 'coder', 'gpt-4o', 'openai', 8, coderCost, { attempt: 2, retry_of: `seed-${n}-err` });
      } else llm(c, a, 'coder', 'gpt-4o', 'openai', 6, coderCost);
      if (line.id === 'research') {
        llm(`${a}-r`, a, 'reviewer', 'o3', 'openai', 9, between(60_000_000, 200_000_000));
        ev({ ...base, type: 'compute', timestamp: at(10), run_id: `${a}-r`, parent_run_id: a, agent_id: 'reviewer', step_name: 'reviewer.sandbox', usage: { quantity: '0.05', unit: 'gpu_hours' }, cost_usd: usd(between(40_000_000, 90_000_000)) });
      }
    }
    if (rand() < 0.05) {
      ev({ ...base, type: 'human_escalation', timestamp: at(12), run_id: root, agent_id: 'supervisor', step_name: 'handoff', cost_usd: '4.00' });
      failed = false;
    }
    ev({ ...base, type: 'outcome', timestamp: at(15), run_id: root, agent_id: 'supervisor', status: failed ? 'failure' : 'success', revenue_usd: failed ? undefined : usd(customer.revenuePerSuccess) });
  }

  // The spike: searcher spends ten times its usual hour, an hour ago, against a week of that hour.
  const spikeHour = Math.floor((now - HOUR) / HOUR) * HOUR;
  for (let d = 0; d <= 7; d++) {
    const calls = d === 0 ? 24 : 3;
    for (let k = 0; k < calls; k++) {
      ev({ product_line_id: 'search', customer_id: 'hooli', segment: 'startup', intent: 'lookup', feature: 'site-search', type: 'llm', agent_id: 'searcher', step_name: 'searcher.think',
        timestamp: new Date(spikeHour - d * DAY + (k * 2 + 1) * 60_000).toISOString(), run_id: `spike-${d}-${k}`, provider: 'openai', model: 'gpt-4o',
        usage: { input_tokens: 40_000, output_tokens: 2_000 }, cost_usd: usd(between(190_000_000, 260_000_000)) });
    }
  }

  const post = async (body: unknown) => {
    const res = await fetch(`${o.base}/api/v1/events`, { method: 'POST', headers: { ...o.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200 && res.status !== 207) throw new Error(`seed: POST /events answered ${res.status}: ${await res.text()}`);
    return res.json() as Promise<{ accepted: number; quarantined: number; rejected: number }>;
  };
  for (let i = 0; i < events.length; i += 1000) await post({ events: events.slice(i, i + 1000) });
  // Unattributable and malformed items: they land in quarantine with their reasons.
  const bad = await post({ events: [
    { event_id: 'q-1', timestamp: new Date(now - 3 * HOUR).toISOString(), type: 'llm', provider: 'openai', model: 'gpt-4o', cost_usd: '0.42' },
    { event_id: 'q-2', timestamp: new Date(now - 2 * HOUR).toISOString(), type: 'tool', tool: 'web_search', cost_usd: '0.003' },
    { event_id: 'q-3', timestamp: 'yesterday', type: 'llm', product_line_id: 'support' },
  ] });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${o.base}/api/v1${path}`, { method, headers: { ...o.headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    if (!res.ok) throw new Error(`seed: ${method} ${path} answered ${res.status}: ${await res.text()}`);
    return res.status === 204 ? {} : res.json();
  };
  // Budgets sized from what was spent, so one is near its limit, one is exhausted, one is comfortable.
  const spend = async (productLine: string, from: number) => {
    const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(now + 60_000).toISOString(), product_line: productLine });
    return Number((await call('GET', `/agent-costs?${q}`) as { totals: { cost_usd: string } }).totals.cost_usd);
  };
  const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
  const dayStart = Math.floor(now / DAY) * DAY;
  const amount = (x: number) => Math.max(1, x).toFixed(2);
  const budgets = [
    { name: 'support-monthly', scope: { product_line: 'support' }, window: 'month', amount_usd: amount((await spend('support', monthStart)) / 0.86), thresholds: [0.5, 0.8, 1], action: 'alert' },
    { name: 'search-daily', scope: { product_line: 'search' }, window: 'day', amount_usd: amount((await spend('search', dayStart)) * 0.8), thresholds: [0.8, 1], action: 'block' },
    { name: 'research-monthly', scope: { product_line: 'research' }, window: 'month', amount_usd: amount((await spend('research', monthStart)) * 4), thresholds: [0.5, 1], action: 'alert' },
    { name: 'acme-enterprise', scope: { customer: 'acme-corp', segment: 'enterprise' }, window: 'week', amount_usd: '250.00', thresholds: [0.5, 0.9], action: 'alert' },
  ];
  for (const b of budgets) await call('POST', '/budgets', b);
  // The previous month is over: close it, so Finance shows a closed statement.
  const prev = new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  await call('POST', `/periods/${prev}/close`);
  return { events: events.length, quarantined: bad.quarantined + bad.rejected, closedMonth: prev, budgets: budgets.map((b) => b.name) };
}

/** Register a webhook and raise the alerts now (budgets crossed, the anomaly), so deliveries exist. */
export async function raiseAlerts(o: SeedOptions & { webhookUrl: string }) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${o.base}/api/v1${path}`, { method, headers: { ...o.headers, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    if (!res.ok) throw new Error(`seed: ${method} ${path} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  await call('POST', '/webhooks', { url: o.webhookUrl, secret: 'dashboard-webhook-secret-0123' });
  await call('POST', '/guardrails/evaluate', { anomalies: true });
}
