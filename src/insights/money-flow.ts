// Money flow through the agent graph, for one run tree or aggregated over a window:
// - spend edges: agent → model / tool / resource (the event's agent_id, what it bought), with the
//   cost of those events; they add up to the total;
// - entry and delegation edges: who started each run (entry = no parent run; else the parent run's
//   agent → the run's agent), carrying the started runs' own cost; they add up to the total too.
// Rendered as JSON and as Mermaid `graph TD` with costs on edges and the costliest agent highlighted.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseTime } from '../clickhouse-time.js';
import { ApiError } from '../errors.js';
import { fillSlots, sql } from '../sql.js';
import { eventSums } from './customers.js';
import { fromUnits, toUnits } from './money.js';
import { inputs, type Filters, type Window } from './params.js';
import { runFilters } from './runs.js';
import { withRunBits, type RunBits } from '../costs/run-bits.js';

type Kind = 'entry' | 'agent' | 'model' | 'tool' | 'resource';
type Node = { id: string; kind: Kind; label: string; units: bigint };
type Edge = { from: string; to: string; kind: 'entry' | 'delegation' | 'spend'; units: bigint; calls: number };
type Spend = { agent: string; type: string; model: string; tool: string; calls: number; cost: bigint };
const MAX_DEPTH = 32;

class Graph {
  nodes = new Map<string, Node>();
  edges = new Map<string, Edge>();
  node(kind: Kind, name: string): string {
    const id = `${kind}:${name}`;
    if (!this.nodes.has(id)) this.nodes.set(id, { id, kind, label: name === '' ? (kind === 'agent' ? '(no agent)' : `(no ${kind})`) : name, units: 0n });
    return id;
  }
  edge(from: string, to: string, kind: Edge['kind'], units: bigint, calls: number) {
    const key = `${from}\u0000${to}\u0000${kind}`;
    const e = this.edges.get(key) ?? { from, to, kind, units: 0n, calls: 0 };
    e.units += units;
    e.calls += calls;
    this.edges.set(key, e);
  }
  spend(s: Spend) {
    const agent = this.node('agent', s.agent);
    const target = s.type === 'llm' ? this.node('model', s.model) : s.type === 'tool' && s.tool !== '' ? this.node('tool', s.tool) : this.node('resource', s.type);
    this.edge(agent, target, 'spend', s.cost, s.calls);
    this.nodes.get(agent)!.units += s.cost;
    this.nodes.get(target)!.units += s.cost;
  }
  started(caller: string | null, callee: string, units: bigint, runs: number, entryLabel: string) {
    const from = caller === null ? this.node('entry', entryLabel) : this.node('agent', caller);
    this.edge(from, this.node('agent', callee), caller === null ? 'entry' : 'delegation', units, runs);
  }
}

// Mermaid: ids are generated (n0, n1, …), labels quoted with the characters Mermaid would parse escaped.
const esc = (s: string) => s.replace(/[&"<>#|\\[\]{}()`]/g, (c) => `#${c.codePointAt(0)};`);
const shapes: Record<Kind, [string, string]> = { entry: ['((', '))'], agent: ['[', ']'], model: ['([', '])'], tool: ['[[', ']]'], resource: ['[(', ')]'] };

function render(g: Graph, runId: string | null, window: Window, filters: Filters) {
  const nodes = [...g.nodes.values()].sort((a, b) => (a.kind === b.kind ? (a.units === b.units ? (a.id < b.id ? -1 : 1) : a.units > b.units ? -1 : 1) : a.kind < b.kind ? -1 : 1));
  const order = (k: Edge['kind']) => ['entry', 'delegation', 'spend'].indexOf(k);
  const edges = [...g.edges.values()].sort((a, b) => order(a.kind) - order(b.kind) || (a.units === b.units ? `${a.from}>${a.to}`.localeCompare(`${b.from}>${b.to}`) : a.units > b.units ? -1 : 1));
  const agents = nodes.filter((n) => n.kind === 'agent');
  const costliest = agents.reduce<Node | null>((best, n) => (n.units > 0n && (!best || n.units > best.units) ? n : best), null);
  const ids = new Map(nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ['graph TD'];
  for (const n of nodes) {
    const [open, close] = shapes[n.kind];
    lines.push(`    ${ids.get(n.id)}${open}"${esc(n.label)}${n.kind === 'entry' ? '' : `: $${fromUnits(n.units)}`}"${close}`);
  }
  for (const e of edges) lines.push(`    ${ids.get(e.from)} -->|"$${fromUnits(e.units)}"| ${ids.get(e.to)}`);
  if (costliest) lines.push(`    style ${ids.get(costliest.id)} fill:#f66,stroke-width:4px`);
  const total = edges.filter((e) => e.kind === 'spend').reduce((a, e) => a + e.units, 0n);
  return {
    inputs: inputs(window, filters, {
      run_id: runId,
      definitions: {
        spend_edges: 'agent → model (LLM calls), tool (tool calls) or resource (other event types): the cost of those events, by the event\'s agent_id; they add up to cost_usd',
        entry_and_delegation_edges: runId
          ? 'who started each run of the tree: the root from the entry node, a sub-run from its parent run\'s agent; each carries the started run\'s own cost (its sub-runs are on their own edges), so they add up to cost_usd too'
          : 'who started the runs started in the window: entry = no parent run in the ledger in the run\'s own product line (and the caller\'s scope), else the parent run\'s agent; each carries the started runs\' own whole cost (run_facts), so they add up to the cost of those runs, which differs from cost_usd (events in the window) by the events without a run_id (spend edges only: they belong to no run) and by the runs whose events fall partly outside the window',
        node_cost: 'agents: their own spend (Σ of their spend edges); models, tools, resources: the spend they received',
        costliest_node: 'the agent with the largest own spend, highlighted in the Mermaid text',
      },
    }),
    run_id: runId,
    cost_usd: fromUnits(total),
    nodes: nodes.map((n) => ({ id: n.id, kind: n.kind, label: n.label, cost_usd: fromUnits(n.units) })),
    edges: edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind, cost_usd: fromUnits(e.units), calls: e.calls })),
    costliest_node: costliest?.id ?? null,
    mermaid: lines.join('\n'),
  };
}

type RunSpendRow = { run_id: string; product_line_id: string; parent: string; run_agent: string; agent: string; type: string; model: string; tool: string; calls: number; cost: string };

/** One run and every run below it (parent_run_id), as far as the caller's scope reaches. */
export async function runFlow(client: ClickHouseClient, runId: string, window: Window, scope: string[] | undefined) {
  const seen = [runId];
  let frontier = [runId];
  for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
    const rows = await (await client.query({ query: sql('runs/child-runs'), query_params: { parents: frontier, seen }, format: 'JSONEachRow' })).json<{ run_id: string }>();
    frontier = rows.map((r) => r.run_id);
    seen.push(...frontier);
  }
  const rows = await (await client.query({ query: sql('insights/flow-run-spend'), query_params: { runs: seen }, format: 'JSONEachRow' })).json<RunSpendRow>();
  const visible = rows.filter((r) => !scope || scope.includes(r.product_line_id));
  // A scoped key learns nothing about runs of other product lines, not even that they exist.
  if (!visible.some((r) => r.run_id === runId)) throw new ApiError(404, 'unknown_run', `no run ${runId}`);
  const g = new Graph();
  const own = new Map<string, { caller: string | null; agent: string; units: bigint }>();
  const agentOf = new Map(visible.map((r) => [r.run_id, r.run_agent]));
  for (const r of visible) {
    const cost = toUnits(r.cost);
    g.spend({ ...r, cost });
    const run = own.get(r.run_id) ?? { caller: r.run_id === runId || !agentOf.has(r.parent) ? null : agentOf.get(r.parent)!, agent: r.run_agent, units: 0n };
    run.units += cost;
    own.set(r.run_id, run);
  }
  for (const run of own.values()) g.started(run.caller, run.agent, run.units, 1, `run ${runId}`);
  return render(g, runId, window, {});
}

/**
 * Every run started in the window and every event in it, aggregated by agent. A model filter on
 * the runs reads their model bit sets when the registry can answer (`bits`: false forces the value
 * sets; src/costs/run-bits.ts).
 */
export async function windowFlow(client: ClickHouseClient, window: Window, filters: Filters, scope: string[] | undefined, opts: { bits?: false } = {}) {
  const scopeClause = scope ? 'AND product_line_id IN {scope:Array(String)}' : '';
  const delegationsOf = (registry: RunBits | false) => {
    const { clauses, params } = runFilters(filters, scope, registry);
    return client.query({
      query: fillSlots(sql('insights/flow-delegations'), { filters: clauses, scope: scopeClause }),
      query_params: { ...params, from: toClickHouseTime(window.from), to: toClickHouseTime(window.to) },
      format: 'JSONEachRow',
    }).then((rs) => rs.json<{ has_parent: number; caller: string; callee: string; runs: number; cost: string }>());
  };
  const [sums, delegations] = await Promise.all([
    eventSums(client, window, filters, scope, ['agent', 'type', 'model', 'tool'], { withRuns: false }),
    opts.bits === false ? delegationsOf(false) : withRunBits(client, filters, delegationsOf),
  ]);
  const g = new Graph();
  for (const r of sums.rows) {
    if (r.group.type === 'outcome') continue;
    g.spend({ agent: r.group.agent ?? '', type: r.group.type ?? '', model: r.group.model ?? '', tool: r.group.tool ?? '', calls: r.events, cost: toUnits(r.cost_usd) });
  }
  // Runs without a parent run in the ledger (or in the caller's scope) come from the entry node.
  for (const d of delegations) g.started(Number(d.has_parent) ? d.caller : null, d.callee, toUnits(d.cost), d.runs, 'runs started');
  return render(g, null, window, filters);
}
