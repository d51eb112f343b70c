// Typed errors and the one error handler that turns every failure into application/problem+json
// with a machine-readable `reason`. Nothing else in the app writes an error response.
import { z } from 'zod';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { drainRequest } from './json-body.js';
import { engineFault } from './clickhouse.js';

/** How long a client should wait before retrying a request ClickHouse could not serve. */
export const ENGINE_RETRY_AFTER_SECONDS = 5;

export const problemSchema = z
  .object({ type: z.string(), title: z.string(), status: z.number(), reason: z.string(), detail: z.string() })
  .loose()
  .describe('application/problem+json; `reason` is the machine-readable cause');

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const titles: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 408: 'Request Timeout', 409: 'Conflict', 413: 'Content Too Large', 414: 'URI Too Long',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 503: 'Service Unavailable',
};

// Fastify's own error codes, mapped to our reasons.
const fastifyCodes: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'empty_body'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_BAD_URL: [400, 'bad_url'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long'],
  Z_DATA_ERROR: [400, 'invalid_gzip'],
  Z_BUF_ERROR: [400, 'invalid_gzip'],
};

const problemBody = (status: number, reason: string, detail: string, extra: Record<string, unknown> = {}) =>
  ({ type: `urn:agent-ledger:problem:${reason}`, title: titles[status] ?? 'Error', status, reason, detail, ...extra });

export function toProblem(err: FastifyError | ApiError | Error): { status: number; body: Record<string, unknown> } {
  let status = 500;
  let reason = 'internal_error';
  let detail = 'internal error';
  let extra: Record<string, unknown> = {};
  const fault = err instanceof ApiError ? undefined : engineFault(err);
  if (fault) {
    // ClickHouse unreachable, silent or overloaded: the request may succeed later, and nothing of it
    // was acknowledged (an ingest's receipt is only sent after its events are durably logged).
    [status, reason, detail] = [503, 'engine_unavailable', `${fault}; nothing of this request was acknowledged, retry later`];
    extra = { retry_after_seconds: ENGINE_RETRY_AFTER_SECONDS };
  } else if (err instanceof ApiError) {
    ({ statusCode: status, reason, extra } = err);
    detail = err.message;
  } else if (hasZodFastifySchemaValidationErrors(err)) {
    status = 400;
    reason = 'invalid_request';
    const errors = err.validation.flatMap((v) => {
      const path = v.instancePath.slice(1).replaceAll('/', '.');
      // An unknown key is named itself (`week_start`), not the object that holds it.
      const unknown = v.keyword === 'unrecognized_keys' ? (v.params as { keys?: string[] }).keys : undefined;
      if (unknown?.length) return unknown.map((key) => ({ parameter: path ? `${path}.${key}` : key, message: 'unknown parameter' }));
      return [{ parameter: path || String(err.validationContext), message: v.message }];
    });
    detail = errors.map((e) => `${err.validationContext ?? 'request'} ${e.parameter}: ${e.message}`).join('; ');
    extra = { errors };
  } else {
    const code = (err as FastifyError).code;
    const known = code ? fastifyCodes[code] : undefined;
    const statusCode = (err as FastifyError).statusCode;
    if (known) {
      [status, reason] = known;
      detail = err.message;
    } else if (statusCode === 400 && (err instanceof SyntaxError || /JSON|prototype/i.test(err.message))) {
      // Only request-body parse errors carry a 400 status; a SyntaxError of our own stays a 500.
      [status, reason, detail] = [400, 'invalid_json', err.message];
    } else if (statusCode && statusCode >= 400 && statusCode < 500) {
      [status, reason, detail] = [statusCode, 'bad_request', err.message];
    }
  }
  return { status, body: problemBody(status, reason, detail, extra) };
}

/**
 * Did this error come from the client's own connection, closed before its request was fully
 * received? Then its ECONNRESET is the client's, not ClickHouse's: no engine alarm, nobody to answer.
 */
export function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  return err === req.errored || (req.destroyed && !req.complete);
}

// Errors Node's HTTP server raises on a connection, outside any route: parse errors and timeouts.
const clientErrors: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request was not received in full within HTTP_REQUEST_TIMEOUT_MS'],
  HPE_HEADER_OVERFLOW: [431, 'header_too_large', "the request headers exceed the server's limit (16 KiB)"],
};

/**
 * Fastify's clientErrorHandler: answer a request Node refused (malformed, headers too large, too
 * slow) with a problem document, then close, since the connection's framing is lost after such an error.
 */
export function answerClientError(this: FastifyInstance, err: Error & { code?: string; reason?: string }, socket: Socket): void {
  // A reset connection has nobody to answer (Node's own guidance for 'clientError').
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, detail] = clientErrors[err.code ?? ''] ?? [400, 'bad_request', `malformed HTTP request: ${err.reason ?? err.code ?? 'unparsable'}`];
  this.log.debug({ err: { code: err.code, message: err.message } }, `client error: ${reason}`);
  // Only when no response to this connection's current request has begun (Node's own rule).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(problemBody(status, reason, detail));
    socket.write(`HTTP/1.1 ${status} ${titles[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** Errors the router raises before any route or hook runs (a malformed URL, an over-long path parameter). */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toProblem(err);
  void reply.code(status).type('application/problem+json').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  const maxDrainBytes = app.hasDecorator('config') ? app.config.MAX_DRAIN_BYTES : 64 * 1024 * 1024;
  app.setErrorHandler(async (err, request, reply) => {
    if (isClientAbort(err, request.raw)) {
      // The client went away mid-upload (or was cut off by HTTP_REQUEST_TIMEOUT_MS): not an engine
      // fault, and the body was never complete, so nothing was acknowledged. The answer reaches nobody.
      request.log.info({ method: request.method, url: request.url }, 'the connection closed before the request body was complete (client gone, or cut off after HTTP_REQUEST_TIMEOUT_MS); nothing of it was acknowledged');
      const { status, body } = toProblem(new ApiError(400, 'client_aborted', 'the connection closed before the request body was complete'));
      return reply.code(status).type('application/problem+json').send(body);
    }
    const { status, body } = toProblem(err as FastifyError);
    if (body.reason === 'engine_unavailable') request.log.warn({ err: { message: (err as Error).message } }, String(body.detail));
    else if (status >= 500) request.log.error({ err }, 'request failed');
    if (status === 413) {
      // Answering while the client still uploads makes it see EPIPE, not the 413: read the rest
      // (up to MAX_DRAIN_BYTES), then answer and close.
      reply.header('connection', 'close');
      await drainRequest(request.raw, maxDrainBytes);
    }
    if ((status === 429 || status === 503) && typeof body.retry_after_seconds === 'number') {
      reply.header('retry-after', String(body.retry_after_seconds));
    }
    return reply.code(status).type('application/problem+json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = toProblem(new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
    return reply.code(status).type('application/problem+json').send(body);
  });
}
