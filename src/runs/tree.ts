// Builds a run tree: runs nest under their parent_run_id, events under their parent span (same
// run) or, for retries, under the event they retry; cost rolls up to every node and the root.
import { fromUnits, toUnits } from '../pricing/decimal.js';

export type RunEvent = {
  event_id: string; run_id: string; parent_run_id: string; trace_id: string; span_id: string; parent_span_id: string;
  product_line_id: string; agent_id: string; step_name: string; type: string; model: string; tool: string;
  status: string; attempt: number; retry_of: string; timestamp: string; cost_usd: string;
};
export type EventNode = Omit<RunEvent, 'run_id' | 'parent_run_id' | 'trace_id' | 'product_line_id'> & { total_cost_usd: string; children: EventNode[] };
export type RunNode = { run_id: string; parent_run_id: string; agent_ids: string[]; self_cost_usd: string; cost_usd: string; events: EventNode[]; runs: RunNode[] };

export function buildRunTree(rootId: string, events: RunEvent[]): RunNode {
  const byRun = new Map<string, RunEvent[]>();
  for (const e of events) byRun.set(e.run_id, [...(byRun.get(e.run_id) ?? []), e]);
  const children = new Map<string, string[]>();
  for (const [runId, list] of byRun) {
    const parent = list[0]!.parent_run_id;
    if (runId !== rootId && parent) children.set(parent, [...(children.get(parent) ?? []), runId]);
  }
  const visiting = new Set<string>();
  const buildRun = (runId: string): RunNode => {
    visiting.add(runId);
    const list = byRun.get(runId) ?? [];
    const nodes = new Map(list.map((e) => {
      const { run_id: _r, parent_run_id: _p, trace_id: _t, product_line_id: _pl, ...rest } = e;
      return [e.event_id, { ...rest, total_cost_usd: e.cost_usd, children: [] as EventNode[] } satisfies EventNode];
    }));
    const bySpan = new Map(list.filter((e) => e.span_id).map((e) => [e.span_id, e.event_id]));
    const roots: EventNode[] = [];
    for (const e of list) {
      const parentId = (e.retry_of && nodes.has(e.retry_of) ? e.retry_of : undefined) ?? (e.parent_span_id ? bySpan.get(e.parent_span_id) : undefined);
      const parent = parentId && parentId !== e.event_id ? nodes.get(parentId) : undefined;
      (parent ? parent.children : roots).push(nodes.get(e.event_id)!);
    }
    const total = (n: EventNode): bigint => {
      const sum = n.children.reduce((acc, c) => acc + total(c), toUnits(n.cost_usd));
      n.total_cost_usd = fromUnits(sum);
      return sum;
    };
    const self = roots.reduce((acc, n) => acc + total(n), 0n);
    const subRuns = (children.get(runId) ?? []).filter((id) => !visiting.has(id)).map(buildRun);
    const all = subRuns.reduce((acc, r) => acc + toUnits(r.cost_usd), self);
    return {
      run_id: runId,
      parent_run_id: list[0]?.parent_run_id ?? '',
      agent_ids: [...new Set(list.map((e) => e.agent_id).filter(Boolean))],
      self_cost_usd: fromUnits(self),
      cost_usd: fromUnits(all),
      events: roots,
      runs: subRuns,
    };
  };
  return buildRun(rootId);
}
