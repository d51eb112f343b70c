// Bounded JSON: every JSON body is parsed by Fastify's own (prototype-poisoning-safe) parser and
// then refused with 400 `json_too_deep` past MAX_JSON_DEPTH levels, so no later walk (zod, the
// classifier, JSON.stringify, logging) can exhaust the stack, with 400 `invalid_unicode` for a
// lone surrogate, which no store can take, and with 400 `invalid_json` for bytes that are not UTF-8
// (decoding would silently store U+FFFD in their place). And oversized bodies are drained
// before their 413 goes out, so a client still uploading reads the answer instead of EPIPE.
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import { quoteMoneyNumbers } from './events/body.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** JSON numbers of money fields are read as the decimal text written, not as floats (events/body.ts). */
    moneyAsText?: boolean;
  }
}

/** Is `value` nested more than `max` levels (a scalar is 0, `[]` or `{}` is 1)? Iterative, stops early. */
export function depthExceeds(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    const depth = depths.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

// Node 20 has both (ES2024); the project's TypeScript lib is ES2022.
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };
/** False for a string with a lone UTF-16 surrogate ("\ud800" in JSON): not text, and ClickHouse refuses it. */
export const isWellFormed = (s: string) => (s as unknown as WellFormed).isWellFormed();
/** Lone surrogates replaced by U+FFFD, for text that is stored or echoed. */
export const toWellFormed = (s: string) => (s as unknown as WellFormed).toWellFormed();

/** What is wrong with a parsed JSON body, if anything: nested past `maxDepth`, or a string that is not Unicode. */
export function jsonBodyProblem(value: unknown, maxDepth: number): 'json_too_deep' | 'invalid_unicode' | undefined {
  if (typeof value === 'string') return isWellFormed(value) ? undefined : 'invalid_unicode';
  if (value === null || typeof value !== 'object') return undefined;
  const stack: object[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return 'json_too_deep';
    const isArray = Array.isArray(node);
    for (const key in node) {
      if (!isArray && !isWellFormed(key)) return 'invalid_unicode';
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === 'string') {
        if (!isWellFormed(child)) return 'invalid_unicode';
      } else if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}

/**
 * A copy of `value` in which everything nested deeper than `max` is replaced by "[too deep]":
 * what can be stored and shown of an over-nested item. Recursion is bounded by `max`.
 */
export function truncateDepth(value: unknown, max: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (max <= 0) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => truncateDepth(v, max - 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, truncateDepth(v, max - 1)]));
}

/** JSON's structured-syntax suffix (RFC 6839), e.g. application/merge-patch+json: parsed as JSON too. */
export const jsonSuffixType = /^application\/[\w!#$&^.-]+\+json(?:;|$)/;

/** Replace the app's JSON parser with one that refuses bodies nested deeper than `maxDepth`, not UTF-8, or holding non-Unicode strings. */
export function registerBoundedJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  const parseBounded: FastifyBodyParser<Buffer> = (request, bytes, done) => {
    if (!isUtf8(bytes)) return done(new ApiError(400, 'invalid_json', 'the JSON body is not valid UTF-8'), undefined);
    const text = bytes.toString('utf8');
    parse(request, request.routeOptions.config?.moneyAsText ? quoteMoneyNumbers(text) : text, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      const problem = jsonBodyProblem(value, maxDepth);
      if (problem === 'json_too_deep') return done(new ApiError(400, problem, `the JSON body is nested more than ${maxDepth} levels deep (MAX_JSON_DEPTH)`), undefined);
      if (problem) return done(new ApiError(400, problem, 'the JSON body holds a string with a lone UTF-16 surrogate (e.g. "\\ud800"), which is not text'), undefined);
      done(null, value);
    });
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseBounded);
  app.addContentTypeParser(jsonSuffixType, { parseAs: 'buffer' }, parseBounded);
}

/**
 * Read and discard what is left of a request body, up to `maxBytes` and `timeoutMs`, so that an
 * early answer (413) reaches a client that is still sending. Resolves true when the body ended.
 */
export function drainRequest(req: IncomingMessage, maxBytes: number, timeoutMs = 30_000): Promise<boolean> {
  if (req.complete || req.readableEnded || req.destroyed) return Promise.resolve(true);
  if (maxBytes <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const onClose = () => finish(req.complete);
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    // Detach whatever was reading the body (a gunzip stream) so nothing applies backpressure.
    req.unpipe();
    req.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onClose);
    req.resume();
  });
}
