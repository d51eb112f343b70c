// Prometheus text metrics for ingestion and HTTP; a handful of counters needs no library.
import type { FastifyInstance } from 'fastify';
import type { Receipt } from './events/ingest.js';

export class Metrics {
  readonly #counters = new Map<string, number>();
  readonly #sources: (() => string[])[] = [];

  addSource(source: () => string[]): void {
    this.#sources.push(source);
  }

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
    for (const source of this.#sources) lines.push(...source().sort());
    const mem = process.memoryUsage();
    lines.push('# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`);
    return `${lines.join('\n')}\n`;
  }
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  // Counted per route and code in a plain map; label strings are built only when scraped.
  const byRoute = new Map<string, Map<number, number>>();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    let codes = byRoute.get(route);
    if (!codes) byRoute.set(route, (codes = new Map()));
    codes.set(reply.statusCode, (codes.get(reply.statusCode) ?? 0) + 1);
  });
  metrics.addSource(() => {
    const lines: string[] = [];
    for (const [route, codes] of byRoute) {
      for (const [code, n] of codes) lines.push(`agent_ledger_http_requests_total{route="${route.replace(/["\\\n]/g, '_')}",code="${code}"} ${n}`);
    }
    return lines;
  });
}
