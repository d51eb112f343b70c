// GET /api/v1/runs/{run_id}: a run with its sub-agent runs, tool calls and retries as a tree,
// cost rolled up to each node, so a deep tool call is traceable to the root run and who pays.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { sql } from '../sql.js';
import { fromClickHouseTime } from '../clickhouse-time.js';
import { buildRunTree, type RunEvent } from './tree.js';

const MAX_DEPTH = 32;

export const runRoutes: FastifyPluginAsyncZod = async (app) => {
  const { client } = app.engine;
  app.get('/runs/:run_id', {
    config: { roles: ['read', 'export'], scope: 'filtered' },
    schema: {
      tags: ['lineage'], operationId: 'getRunTree', problems: { 404: ['unknown_run'] },
      summary: 'A run as a tree of sub-runs and events with cost rolled up to every node',
      params: z.object({ run_id: z.string().min(1).max(256) }),
      response: {
        200: z.object({
          run_id: z.string(), product_line_id: z.string(), trace_id: z.string(), cost_usd: z.string(), events: z.number(), runs: z.number(),
          tree: z.record(z.string(), z.unknown()).describe('RunNode: run_id, parent_run_id, agent_ids, self_cost_usd, cost_usd, events (EventNode: …, cost_usd, total_cost_usd, children), runs'),
        }),
      },
    },
  }, async (request) => {
    const root = request.params.run_id;
    const seen = [root];
    let frontier = [root];
    for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
      const rows = await (await client.query({ query: sql('runs/child-runs'), query_params: { parents: frontier, seen }, format: 'JSONEachRow' })).json<{ run_id: string }>();
      frontier = rows.map((r) => r.run_id);
      seen.push(...frontier);
    }
    const events = (await (await client.query({ query: sql('runs/run-events'), query_params: { runs: seen }, format: 'JSONEachRow' })).json<RunEvent>())
      // ISO-8601 in UTC like every other route's times ("2026-03-11T23:00:00.000Z"), not ClickHouse's text.
      .map((e) => ({ ...e, timestamp: new Date(fromClickHouseTime(e.timestamp)).toISOString() }));
    const scope = request.principal?.productLines;
    const rootEvents = events.filter((e) => e.run_id === root);
    // A scoped key learns nothing about runs of other product lines, not even that they exist.
    if (rootEvents.length === 0 || (scope && !scope.includes(rootEvents[0]!.product_line_id))) throw new ApiError(404, 'unknown_run', `no run ${root}`);
    const visible = scope ? events.filter((e) => scope.includes(e.product_line_id)) : events;
    const tree = buildRunTree(root, visible);
    return {
      run_id: root,
      product_line_id: rootEvents[0]!.product_line_id,
      trace_id: rootEvents.find((e) => e.trace_id)?.trace_id ?? '',
      cost_usd: tree.cost_usd,
      events: visible.length,
      runs: new Set(visible.map((e) => e.run_id)).size,
      tree,
    };
  });
};
