// Prometheus text metrics for ingestion and HTTP; a handful of counters needs no library.
import type { FastifyInstance } from 'fastify';
import type { Receipt } from './events/ingest.js';

export class Metrics {
  readonly #counters = new Map<string, number>();

  inc(name: string, labels: Record<string, string>, by = 1): void {
    const key = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}`;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  countIngest(r: Receipt): void {
    for (const status of ['accepted', 'duplicates', 'quarantined', 'rejected'] as const) {
      this.inc('agent_ledger_events_total', { status }, r[status]);
    }
  }

  render(): string {
    const lines = [
      '# HELP agent_ledger_events_total Posted events by outcome.',
      '# TYPE agent_ledger_events_total counter',
      '# HELP agent_ledger_http_requests_total HTTP responses by route and status code.',
      '# TYPE agent_ledger_http_requests_total counter',
    ];
    for (const [key, value] of [...this.#counters].sort()) lines.push(`${key} ${value}`);
    const mem = process.memoryUsage();
    lines.push('# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`);
    return `${lines.join('\n')}\n`;
  }
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.inc('agent_ledger_http_requests_total', { route: request.routeOptions.url ?? 'unknown', code: String(reply.statusCode) });
  });
}
