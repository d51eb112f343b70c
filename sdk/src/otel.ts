// OpenTelemetry mode: the same events as OTLP/JSON GenAI spans, for any OTLP/HTTP endpoint
// (agent-ledger's own POST /v1/traces, or a collector that forwards to it). No OTel dependency:
// the payload is small and fixed, so it is written by hand.
import type { CostEvent } from './types.js';

type KeyValue = { key: string; value: { stringValue: string } | { intValue: string } };

const operations: Record<string, string> = { llm: 'chat', tool: 'execute_tool' };

function spanOf(e: CostEvent): Record<string, unknown> {
  const attrs: KeyValue[] = [];
  const str = (key: string, v: string | undefined) => v !== undefined && v !== '' && attrs.push({ key, value: { stringValue: v } });
  const int = (key: string, v: number | undefined) => v !== undefined && attrs.push({ key, value: { intValue: String(v) } });
  const op = e.attributes?.['gen_ai.operation.name'] ?? operations[e.type];
  str('gen_ai.operation.name', op);
  str('gen_ai.provider.name', e.provider);
  str('gen_ai.response.model', e.model);
  str('gen_ai.tool.name', e.tool);
  int('gen_ai.usage.input_tokens', e.input_tokens);
  int('gen_ai.usage.output_tokens', e.output_tokens);
  int('gen_ai.usage.cache_read.input_tokens', e.cache_read_tokens);
  int('gen_ai.usage.cache_creation.input_tokens', e.cache_write_tokens);
  int('gen_ai.usage.reasoning.output_tokens', e.reasoning_tokens);
  str('cost.usd', e.cost_usd);
  str('quantity', e.quantity);
  str('unit', e.unit);
  // Our own field names, as a BaggageSpanProcessor would copy them; the receiver reads these first.
  for (const k of ['type', 'product_line_id', 'environment', 'workflow_id', 'run_id', 'parent_run_id', 'customer_id', 'user_id', 'segment', 'intent', 'feature', 'feature_flag', 'priority_tier', 'prompt_version', 'agent_id', 'agent_version', 'step_name', 'retry_of'] as const) {
    str(k, e[k] as string | undefined);
  }
  int('attempt', e.attempt);
  const start = BigInt(Date.parse(e.timestamp)) * 1_000_000n;
  const end = start + BigInt(e.duration_ms ?? 0) * 1_000_000n;
  return {
    traceId: e.trace_id,
    spanId: e.span_id,
    ...(e.parent_span_id ? { parentSpanId: e.parent_span_id } : {}),
    name: [op ?? e.type, e.model ?? e.tool].filter(Boolean).join(' '),
    kind: 3, // CLIENT: a call out to a provider or a tool
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(end),
    attributes: attrs,
    status: e.status === 'success' ? { code: 0 } : { code: 2, message: e.status },
  };
}

/** An ExportTraceServiceRequest body (OTLP/JSON) for a batch of events. */
export function toOtlpJson(events: CostEvent[], serviceName: string): string {
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
      scopeSpans: [{ scope: { name: '@agent-ledger/sdk', version: '0.1.0' }, spans: events.map(spanOf) }],
    }],
  });
}
