// The OpenAPI contract beyond what zod schemas say: every operation's problem responses
// (application/problem+json) with the `reason` values it can return. Reasons every route shares
// (authentication, roles, scope, validation, body limits, rate limit) are derived from the route's
// config and schema here, in one place; reasons only a route knows are declared on its schema as
// `problems: { 404: ['unknown_run'] }`. Documentation only: runtime serialization is untouched.
import type { RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export type ProblemsByStatus = Partial<Record<400 | 401 | 403 | 404 | 406 | 409 | 413 | 415 | 422 | 429 | 500 | 503, readonly string[]>>;

declare module 'fastify' {
  interface FastifySchema {
    /** Reasons this route itself throws, by status (the shared ones are derived from its config). */
    problems?: ProblemsByStatus;
    /** Success status documented when the route declares no 2xx response schema (default 200; DELETE 204). */
    successStatus?: 200 | 201 | 202 | 204;
  }
}

const descriptions: Record<number, string> = {
  400: 'The request is malformed', 401: 'No valid API key', 403: 'The key (or, without keys, the caller) may not use this route', 404: 'Not found',
  406: 'Not acceptable', 408: 'The request was not received in time', 409: 'Conflicts with the current state', 413: 'Too large', 415: 'Unsupported media type',
  422: 'Cannot be processed', 429: 'Rate limited (see Retry-After)', 500: 'Internal error', 503: 'Unavailable (see Retry-After)',
};

type TransformInput = Parameters<typeof jsonSchemaTransform>[0] & { route: RouteOptions };

/** Reasons the shared plumbing (auth, validation, body parsing, rate limit, error handler) can answer on this route. */
export function sharedProblems(route: RouteOptions): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  const add = (status: number, ...reasons: string[]) => {
    const set = out.get(status) ?? new Set<string>();
    for (const r of reasons) set.add(r);
    out.set(status, set);
  };
  const schema = route.schema ?? {};
  const config = (route.config ?? {}) as { roles?: readonly string[]; scope?: string; rateLimit?: unknown };
  if (config.roles) {
    add(401, 'missing_api_key', 'invalid_api_key');
    add(403, 'forbidden_role');
    if (!config.scope) add(403, 'forbidden_scope');
  }
  if (config.rateLimit !== false) add(429, 'rate_limited');
  // Every authenticated route reads or writes ClickHouse: unreachable or slow, it answers 503 with Retry-After.
  if (config.roles) add(503, 'engine_unavailable');
  if (schema.querystring || schema.params || schema.body) add(400, 'invalid_request');
  const querystring = schema.querystring as { shape?: Record<string, unknown> } | undefined;
  if (querystring?.shape && 'cursor' in querystring.shape) add(400, 'invalid_cursor');
  const methods = [route.method].flat();
  if (schema.body || methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH')) {
    add(400, 'invalid_json', 'json_too_deep', 'invalid_unicode', 'empty_body', 'invalid_content_length', 'bad_request');
    add(408, 'request_timeout');
    add(413, 'body_too_large');
    add(415, 'unsupported_media_type', 'unsupported_content_encoding');
  }
  // With no API keys only loopback names and origins are served (src/request-guards.ts).
  add(403, 'forbidden_host', 'forbidden_origin');
  add(500, 'internal_error');
  for (const [status, reasons] of Object.entries(schema.problems ?? {})) add(Number(status), ...(reasons ?? []));
  return out;
}

function problemResponse(status: number, reasons: string[]) {
  return {
    description: `${descriptions[status] ?? 'Error'}; reason: ${reasons.join(', ')}`,
    content: {
      'application/problem+json': {
        schema: {
          type: 'object',
          required: ['type', 'title', 'status', 'reason', 'detail'],
          properties: {
            type: { type: 'string', description: 'urn:agent-ledger:problem:<reason>' },
            title: { type: 'string' },
            status: { type: 'integer', enum: [status] },
            reason: { type: 'string', enum: reasons, description: 'machine-readable cause' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { parameter: { type: 'string' }, message: { type: 'string' } } }, description: 'invalid_request: each invalid parameter' },
          },
          additionalProperties: true,
        },
      },
    },
  };
}

/** The zod transform, then every 4xx/5xx of the operation as a problem document with its reasons. */
export function contractTransform(input: TransformInput) {
  const result = jsonSchemaTransform(input) as { schema: Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> }; url: string };
  if (result.schema?.hide || !input.route) return result;
  const { problems: _declared, successStatus, ...schema } = result.schema as typeof result.schema & { problems?: unknown; successStatus?: number };
  const response: Record<string, unknown> = { ...(schema.response ?? {}) };
  if (!Object.keys(response).some((status) => status.startsWith('2'))) {
    // No success schema declared: document the status and media types without a body shape.
    const status = successStatus ?? ([input.route.method].flat().includes('DELETE') ? 204 : 200);
    const media = (schema.produces as string[] | undefined) ?? ['application/json'];
    response[String(status)] = status === 204
      ? { description: 'Done; no body' }
      : { description: 'Success', content: Object.fromEntries(media.map((m) => [m, { schema: {} }])) };
  }
  for (const [status, reasons] of sharedProblems(input.route)) response[String(status)] = problemResponse(status, [...reasons].sort());
  return { ...result, schema: { ...schema, response } };
}
