// Requests per key per fixed window, as a hook after authentication (so cache hits count too):
// one Map lookup per request instead of a plugin's store, key generator and per-route hooks, since
// every request pays for it, cached answers included (README "Query": cached ÷ hello world).
// Answers 429 rate_limited with Retry-After; every counted response carries the
// x-ratelimit-limit / -remaining / -reset headers. Routes with `config.rateLimit: false` (health,
// metrics) are never counted. Per process: several API processes each allow `max`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route is not rate limited (probes). */
    rateLimit?: false;
  }
}

type Window = { count: number; resetAt: number };

export function registerRateLimit(app: FastifyInstance, opts: { max: number; windowMs: number }): void {
  const windows = new Map<string, Window>();
  let sweepAt = Date.now() + opts.windowMs;
  const max = String(opts.max);
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (request.routeOptions.config?.rateLimit === false) return done();
    const now = Date.now();
    if (now >= sweepAt) {
      // Windows that ended are dropped once per window, so idle keys and addresses do not pile up.
      for (const [key, w] of windows) if (w.resetAt <= now) windows.delete(key);
      sweepAt = now + opts.windowMs;
    }
    // Per key; callers without one share a bucket per address.
    const key = request.principal ? `key:${request.principal.id}` : `ip:${request.ip}`;
    let w = windows.get(key);
    if (!w || w.resetAt <= now) windows.set(key, (w = { count: 0, resetAt: now + opts.windowMs }));
    w.count++;
    const resetSeconds = Math.max(1, Math.ceil((w.resetAt - now) / 1000));
    reply.header('x-ratelimit-limit', max).header('x-ratelimit-remaining', String(Math.max(0, opts.max - w.count))).header('x-ratelimit-reset', String(resetSeconds));
    if (w.count <= opts.max) return done();
    done(new ApiError(429, 'rate_limited', `rate limit of ${opts.max} requests per ${opts.windowMs / 1000} s exceeded`, { retry_after_seconds: resetSeconds }));
  });
}
