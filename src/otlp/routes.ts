// POST /v1/traces: OTLP/HTTP trace intake (protobuf or JSON, gzip). Spans that carry a cost become
// cost events and go through the same ingestor as POST /api/v1/events: same pricing, dedup
// (on trace and span id), PII refusal and quarantine. Answered per the OTLP spec: 200 with a
// partial success naming how many spans were not accepted, in the request's own encoding.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors.js';
import { gunzipBody } from '../events/body.js';
import type { RawItem } from '../events/classify.js';
import type { Receipt } from '../events/ingest.js';
import { decodeTraceJson } from './json.js';
import { spanToEvent } from './map.js';
import { decodeTraceRequest, encodeTraceResponse } from './protobuf.js';
import { OtlpDecodeError, type OtlpSpan } from './spans.js';

export const protobufTypes = ['application/x-protobuf', 'application/protobuf'];

const partialSuccess = z.object({
  rejectedSpans: z.union([z.string(), z.number()]).describe('spans not accepted (quarantined or rejected); see GET /api/v1/quarantine'),
  errorMessage: z.string(),
});
const exportResponse = z.object({ partialSuccess: partialSuccess.optional() });

const description = `OTLP/HTTP trace export (ExportTraceServiceRequest), application/x-protobuf or application/json,
optionally gzip-compressed. Spans carrying GenAI usage (gen_ai.usage.*), a cost (cost.usd) or a tool
execution become cost events; other spans are ignored. Attribution comes from span attributes, then
resource attributes (product_line_id, run_id, customer_id, agent_id, …). Always 200 for a decodable
request; spans that were quarantined or rejected are counted in partialSuccess.rejectedSpans. The
X-Agent-Ledger-Receipt header carries the counts (spans, events, accepted, duplicates, quarantined,
rejected). Role: ingest.`;

/** One line per reason with a few span ids, so an operator can find them in the quarantine. */
export function summarize(receipt: Receipt, spanOf: (index: number) => OtlpSpan | undefined): string {
  const byReason = new Map<string, { count: number; status: string; spans: string[] }>();
  for (const r of receipt.results) {
    if (r.status === 'duplicate') continue;
    const entry = byReason.get(r.reason) ?? { count: 0, status: r.status, spans: [] };
    entry.count++;
    const s = spanOf(r.index);
    if (s && entry.spans.length < 3) entry.spans.push(`${s.spanId || '?'}${r.errors?.[0] ? ` (${r.errors[0].slice(0, 160)})` : ''}`);
    byReason.set(r.reason, entry);
  }
  const parts = [...byReason].map(([reason, e]) => `${e.count} ${e.status} ${reason}: span ${e.spans.join(', ')}`);
  return `${receipt.quarantined + receipt.rejected} span(s) not accepted; ${parts.join('; ')}; see GET /api/v1/quarantine`;
}

export const otlpRoutes: FastifyPluginAsyncZod<{ maxBatchEvents: number }> = async (app, opts) => {
  // Scoped to this plugin: other routes keep refusing protobuf bodies.
  // text/plain is not an OTLP encoding: without its parser Fastify answers 415 itself.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(protobufTypes, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/v1/traces', {
    config: { roles: ['ingest'] },
    preParsing: gunzipBody,
    schema: {
      tags: ['otlp'], operationId: 'exportTraces', problems: { 400: ['invalid_otlp', 'invalid_gzip'], 413: ['too_many_events'], 415: ['unsupported_content_encoding'] },
      summary: 'OTLP/HTTP trace intake: GenAI spans become cost events',
      description,
      response: { 200: exportResponse },
    },
    // The body is either protobuf bytes or OTLP/JSON; both are decoded by hand below.
    validatorCompiler: () => (data) => ({ value: data }),
  }, async (request, reply) => {
    const isProtobuf = Buffer.isBuffer(request.body);
    let spans: OtlpSpan[];
    try {
      spans = isProtobuf ? decodeTraceRequest(request.body as Buffer) : decodeTraceJson(request.body);
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw new ApiError(400, 'invalid_otlp', `not an OTLP ExportTraceServiceRequest: ${err.message}`);
      throw err;
    }
    const items: RawItem[] = [];
    const spanAt: OtlpSpan[] = [];
    for (const span of spans) {
      const event = spanToEvent(span);
      if (!event) continue;
      items.push({ value: event });
      spanAt.push(span);
    }
    if (items.length > opts.maxBatchEvents) {
      throw new ApiError(413, 'too_many_events', `an export may carry at most ${opts.maxBatchEvents} cost spans; this one has ${items.length}`);
    }
    const receipt: Receipt = items.length > 0 ? await app.ingestor.ingest(items) : { accepted: 0, duplicates: 0, quarantined: 0, rejected: 0, results: [] };
    if (items.length > 0) app.metrics.countIngest(receipt);
    const notAccepted = receipt.quarantined + receipt.rejected;
    const partial = notAccepted > 0 ? { rejectedSpans: notAccepted, errorMessage: summarize(receipt, (i) => spanAt[i]) } : undefined;
    reply.header('x-agent-ledger-receipt', `spans=${spans.length}; events=${items.length}; accepted=${receipt.accepted}; duplicates=${receipt.duplicates}; quarantined=${receipt.quarantined}; rejected=${receipt.rejected}`);
    if (isProtobuf) return reply.code(200).type('application/x-protobuf').send(encodeTraceResponse(partial) as never);
    return reply.code(200).send(partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {});
  });
};
