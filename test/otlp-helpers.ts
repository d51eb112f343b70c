// OTLP test plumbing: spans made with the stock OpenTelemetry JS SDK, exported by the stock OTLP
// exporters (http/json and http/protobuf) to the app listening on a local port.
import { context, diag, trace, type Attributes, type Span, type DiagLogger } from '@opentelemetry/api';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export type SpanSpec = { name: string; attributes?: Attributes; children?: SpanSpec[]; error?: boolean; durationMs?: number };

/** Build finished spans (a tree per spec) with the real SDK; returns them for any exporter. */
export async function makeSpans(resource: Attributes, specs: SpanSpec[], start = Date.parse('2026-01-15T12:00:00Z')): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('otlp-test');
  let t = start;
  const open = (spec: SpanSpec, parent?: Span) => {
    const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
    const span = tracer.startSpan(spec.name, { attributes: spec.attributes, startTime: t }, ctx);
    t += 10;
    for (const child of spec.children ?? []) open(child, span);
    if (spec.error) span.setStatus({ code: 2, message: 'failed' });
    span.end(t + (spec.durationMs ?? 250));
  };
  for (const spec of specs) open(spec);
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

export type Encoding = 'json' | 'protobuf';

/** Export through the stock exporter; resolves with its ExportResult code (0 = success) and error. */
export function exportSpans(baseUrl: string, encoding: Encoding, spans: ReadableSpan[], headers: Record<string, string> = {}, gzip = false): Promise<{ code: number; error?: Error }> {
  const options = { url: `${baseUrl}/v1/traces`, headers, compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE, timeoutMillis: 10_000 };
  const exporter = encoding === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
  return new Promise((resolve) => exporter.export(spans, (result) => {
    void exporter.shutdown();
    resolve({ code: result.code, error: result.error });
  }));
}

/** Capture what the exporters report through diag (partial success arrives as a warning). */
export function captureDiag(): { warnings: string[]; restore: () => void } {
  const warnings: string[] = [];
  const logger: DiagLogger = {
    error: (...a) => warnings.push(a.join(' ')), warn: (...a) => warnings.push(a.join(' ')),
    info: () => undefined, debug: () => undefined, verbose: () => undefined,
  };
  diag.setLogger(logger, { suppressOverrideMessage: true });
  return { warnings, restore: () => diag.disable() };
}
