// GenAI spans → canonical cost events. Usage and cost come from the span itself; attribution from
// the span, then its resource, under the event's own field names and the aliases DESIGN.md lists.
// Only allow-listed attributes are read: message content (gen_ai.input.messages, …) never is.
import { aliases } from '../events/schema.js';
import { divRound, fromUnits, numberToDecimalString, SCALE } from '../pricing/decimal.js';
import type { Attributes, AttrValue, OtlpSpan } from './spans.js';

const aliasesOf = (field: string) => Object.entries(aliases).filter(([, f]) => f === field).map(([a]) => a);

// Attribution: span first, then resource. Earlier names win over later ones.
const attribution: Record<string, string[]> = {
  product_line_id: ['product_line_id', ...aliasesOf('product_line_id')],
  environment: ['environment', 'deployment.environment.name', 'deployment.environment'],
  workflow_id: ['workflow_id'],
  run_id: ['run_id'],
  parent_run_id: ['parent_run_id'],
  agent_id: ['agent_id', ...aliasesOf('agent_id'), 'gen_ai.agent.name', 'gen_ai.agent.id'],
  agent_version: ['agent_version', ...aliasesOf('agent_version'), 'gen_ai.agent.version'],
  step_name: ['step_name'],
  customer_id: ['customer_id', 'customer.id'],
  user_id: ['user_id', 'user.id', 'enduser.id'],
  segment: ['segment', ...aliasesOf('segment'), 'customer.segment'],
  intent: ['intent', ...aliasesOf('intent'), 'intent.category'],
  feature: ['feature'],
  feature_flag: ['feature_flag'],
  priority_tier: ['priority_tier'],
  prompt_version: ['prompt_version'],
};
// What was bought, and how much: the span only (a resource does not make calls).
const bought: Record<string, string[]> = {
  type: ['type'],
  status: ['status'],
  retry_of: ['retry_of'],
  provider: ['provider', 'gen_ai.provider.name', 'gen_ai.system', 'api.provider'],
  // The model that answered is the one billed; the requested one is the fallback.
  model: ['model', 'gen_ai.response.model', 'gen_ai.request.model', 'api.model'],
  tool: ['tool', 'gen_ai.tool.name'],
  unit: ['unit'],
};
const numbers: Record<string, string[]> = {
  input_tokens: ['input_tokens', 'gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'tokens.input'],
  output_tokens: ['output_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'tokens.output'],
  cache_read_tokens: ['cache_read_tokens', 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens', 'gen_ai.usage.input_tokens.cached', 'tokens.cache_read'],
  cache_write_tokens: ['cache_write_tokens', 'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.cache_creation_input_tokens', 'gen_ai.usage.input_tokens.cache_write', 'tokens.cache_write'],
  reasoning_tokens: ['reasoning_tokens', 'gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.output_tokens.reasoning', 'tokens.reasoning'],
  attempt: ['attempt'],
};
/**
 * An OTLP double attribute is a binary float by the protocol, not a decimal someone wrote: it is
 * taken in its shortest exact form (98765.4321, not toFixed's 98765.432100000005) and rounded half
 * to even at the ledger's 12 places when that form has more (0.1 + 0.2 → "0.3"; below 0.5 × 10⁻¹²
 * it is 0). A JSON event's number, by contrast, must be exact (events/body.ts).
 */
function doubleToDecimal(v: number): string | number {
  if (!Number.isFinite(v)) return v;
  const shortest = numberToDecimalString(v);
  const places = shortest.split('.')[1]?.length ?? 0;
  if (places <= SCALE) return shortest;
  const digits = BigInt(shortest.replace('.', ''));
  return fromUnits(divRound(digits, 10n ** BigInt(places - SCALE)));
}
const money: Record<string, string[]> = {
  cost_usd: ['cost_usd', 'cost.usd'],
  quantity: ['quantity'],
};
const tokenFields = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens'];

// OTel provider names → the price book's provider ids (models.dev).
const providerIds: Record<string, string> = {
  'azure.ai.openai': 'azure', 'az.ai.openai': 'azure', 'azure.ai.inference': 'azure', 'aws.bedrock': 'amazon-bedrock',
  'gcp.gemini': 'google', 'gcp.gen_ai': 'google', 'gcp.vertex_ai': 'google-vertex', 'mistral_ai': 'mistral', 'x_ai': 'xai',
};
// deployment.environment.name values seen in the wild → the event's three environments.
const environmentNames: Record<string, string> = { prod: 'production', stage: 'staging', dev: 'development' };
const llmOperations = new Set(['chat', 'text_completion', 'generate_content', 'embeddings', 'create_agent']);

function first(names: string[], ...sources: Attributes[]): AttrValue | undefined {
  for (const source of sources) {
    for (const name of names) {
      const v = source.get(name);
      if (v !== undefined && v !== '') return v;
    }
  }
  return undefined;
}

const asText = (v: AttrValue) => (typeof v === 'string' ? v : String(v));
// Integers sent as strings ("1200") are common from hand instrumentation; anything else is left for
// the event schema to refuse with its own message.
const asCount = (v: AttrValue) => (typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v);

export const eventIdOf = (traceId: string, spanId: string) => `otel-${traceId}-${spanId}`;
const validId = (id: string, hexChars: number) => id.length === hexChars && /^[0-9a-f]+$/.test(id) && !/^0+$/.test(id);

/** The event for a span that carries a cost, or undefined for a span that does not (not an event). */
export function spanToEvent(span: OtlpSpan): Record<string, unknown> | undefined {
  const a = span.attributes;
  const operation = a.get('gen_ai.operation.name');
  const op = typeof operation === 'string' ? operation : undefined;
  const e: Record<string, unknown> = {};
  for (const [field, names] of Object.entries(numbers)) {
    const v = first(names, a);
    if (v !== undefined) e[field] = asCount(v);
  }
  for (const [field, names] of Object.entries(money)) {
    const v = first(names, a);
    if (v !== undefined) e[field] = typeof v === 'number' ? doubleToDecimal(v) : v;
  }
  const hasTokens = tokenFields.some((f) => e[f] !== undefined);
  const isTool = op === 'execute_tool';
  if (!hasTokens && e.cost_usd === undefined && e.quantity === undefined && !isTool) return undefined;

  for (const [field, names] of Object.entries(bought)) {
    const v = first(names, a);
    if (v !== undefined) e[field] = asText(v);
  }
  for (const [field, names] of Object.entries(attribution)) {
    const v = first(names, a, span.resource);
    if (v !== undefined) e[field] = asText(v);
  }
  if (typeof e.provider === 'string') e.provider = providerIds[e.provider] ?? e.provider;
  if (typeof e.environment === 'string') e.environment = environmentNames[e.environment] ?? e.environment;
  if (isTool && e.quantity === undefined) Object.assign(e, { quantity: '1', unit: e.unit ?? 'calls' });
  e.type ??= isTool || (e.tool !== undefined && !hasTokens) ? 'tool' : hasTokens || (op && llmOperations.has(op)) ? 'llm' : 'infrastructure';
  if (e.status === undefined && span.statusCode === 2) e.status = 'error';

  // Lineage: the span ids; a trace is the run unless the span names its run.
  const ids = validId(span.traceId, 32) && validId(span.spanId, 16);
  if (ids) e.event_id = eventIdOf(span.traceId, span.spanId);
  if (span.traceId) e.trace_id = span.traceId;
  if (span.spanId) e.span_id = span.spanId;
  if (span.parentSpanId) e.parent_span_id = span.parentSpanId;
  e.run_id ??= ids ? span.traceId : undefined;
  const ms = Number(span.startNs / 1_000_000n);
  // An impossible start time is left for the schema to refuse with its timestamp message.
  e.timestamp = ms <= 8.64e15 ? new Date(ms).toISOString() : String(span.startNs);
  if (span.endNs > span.startNs) e.duration_ms = Number((span.endNs - span.startNs + 500_000n) / 1_000_000n);

  const extra: Record<string, string> = {};
  if (op) extra['gen_ai.operation.name'] = op;
  const service = span.resource.get('service.name');
  if (service !== undefined) extra['service.name'] = asText(service);
  if (Object.keys(extra).length > 0) e.attributes = extra;
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return e;
}
