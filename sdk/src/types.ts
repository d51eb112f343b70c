// Shapes shared by the SDK's modules: the event it posts (the ledger's canonical event, v1) and
// the handle a wrapped call finishes.
import type { Attribution } from './context.js';

export type Usage = {
  input_tokens?: number; // includes cache reads and writes (OpenAI / OTel GenAI convention)
  output_tokens?: number; // includes reasoning tokens
  cache_read_tokens?: number;
  cache_write_tokens?: number;
  reasoning_tokens?: number;
};

export type Status = 'success' | 'error' | 'timeout' | 'cancelled' | 'retry';
export type EventType = 'llm' | 'tool' | 'compute' | 'vector_db' | 'payment' | 'human_escalation' | 'infrastructure' | 'outcome';

export type CostEvent = Omit<Attribution, 'attributes'> & Usage & {
  event_id: string;
  timestamp: string;
  type: EventType;
  run_id: string;
  parent_run_id?: string;
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  provider?: string;
  model?: string;
  tool?: string;
  quantity?: string;
  unit?: string;
  duration_ms?: number;
  cost_usd?: string;
  revenue_usd?: string;
  status: Status | 'failure';
  attempt?: number;
  retry_of?: string;
  attributes?: Record<string, string>;
};

export type Finish = { status: Status | 'failure'; model?: string; usage?: Usage; error?: unknown; cost_usd?: string; quantity?: string; unit?: string; revenue_usd?: string; duration_ms?: number };

export type CallHandle = { readonly eventId: string; readonly spanId: string; finish(result: Finish): void };
