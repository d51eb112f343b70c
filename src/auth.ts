// API keys and roles. Keys come from API_KEYS / API_KEYS_FILE as `role:key[:productline|productline]`,
// are kept only as SHA-256 digests, compared in constant time, and never logged.
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConfigError, type Config } from './config.js';
import { ApiError } from './errors.js';

export const roles = ['ingest', 'read', 'export', 'admin'] as const;
export type Role = (typeof roles)[number];

export type ApiKey = { role: Role; digest: string; id: string; productLines?: string[] };
export type Principal = { role: Role; id: string; productLines?: string[] };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; `admin` is always allowed. Absent means a public route. */
    roles?: readonly Role[];
    /**
     * How the route treats keys scoped to product lines. `filtered`: the handler narrows every
     * figure, id and name to the key's product lines; `none`: the answer holds no product-line
     * data (the price book). Absent: scoped keys are refused with 403 forbidden_scope, so a new
     * route cannot leak another product line by forgetting to filter (fail closed).
     */
    scope?: 'filtered' | 'none';
  }
}

// One-shot and as hex: a Hash object or a Buffer per request is a native allocation the garbage
// collector must finalize, which cost more than the digest itself on the cached read path.
const digest = (key: string): string => hash('sha256', key, 'hex');

/** Two hex digests compared without an early exit (crypto.timingSafeEqual would need Buffers). */
function sameDigest(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function parseApiKeys(source: string, variable: string): ApiKey[] {
  return source
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'))
    .map((entry) => {
      const [role, key, scope, ...rest] = entry.split(':');
      if (!role || !key || rest.length > 0 || !(roles as readonly string[]).includes(role)) {
        // Never echo the entry itself: it holds a secret.
        throw new ConfigError(`invalid configuration:\n  ${variable}: entries must be role:key[:scope] with role one of ${roles.join(', ')}`);
      }
      const productLines = scope ? scope.split('|').filter(Boolean) : undefined;
      const d = digest(key);
      return { role: role as Role, digest: d, id: d.slice(0, 12), productLines };
    });
}

export function loadApiKeys(config: Config): ApiKey[] {
  const keys = config.API_KEYS ? parseApiKeys(config.API_KEYS, 'API_KEYS') : [];
  if (config.API_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(config.API_KEYS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid configuration:\n  API_KEYS_FILE: cannot read ${config.API_KEYS_FILE} (${(err as Error).message})`);
    }
    keys.push(...parseApiKeys(text, 'API_KEYS_FILE'));
  }
  return keys;
}

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Find the key matching a presented secret; every configured key is compared so timing says nothing. */
export function findKey(keys: ApiKey[], presented: string): ApiKey | undefined {
  const candidate = digest(presented);
  let found: ApiKey | undefined;
  for (const key of keys) if (sameDigest(key.digest, candidate) && !found) found = key;
  return found;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

/**
 * Authenticates every request that carries a key and authorizes routes that declare `config.roles`.
 * With no keys configured (allowed only on loopback) every caller is an anonymous admin.
 */
export function registerAuth(app: FastifyInstance, keys: ApiKey[]): void {
  const open = keys.length === 0;
  app.decorateRequest('principal', undefined);
  // A callback hook: every request passes here, cache hits included, and a promise per request costs.
  app.addHook('onRequest', (request, _reply, done) => {
    const config = request.routeOptions.config;
    const allowed = config?.roles;
    if (open) {
      request.principal = { role: 'admin', id: 'anonymous' };
      return done();
    }
    if (!allowed) return done();
    const presented = bearer(request);
    if (presented === undefined) return done(new ApiError(401, 'missing_api_key', 'send an API key as "Authorization: Bearer <key>"'));
    const key = presented ? findKey(keys, presented) : undefined;
    if (!key) return done(new ApiError(401, 'invalid_api_key', 'the API key is not valid'));
    request.principal = { role: key.role, id: key.id, productLines: key.productLines };
    if (key.role !== 'admin' && !allowed.includes(key.role)) {
      return done(new ApiError(403, 'forbidden_role', `this route needs one of the roles: ${['admin', ...allowed].join(', ')}; the key has role ${key.role}`));
    }
    if (key.productLines && !config.scope) {
      return done(new ApiError(403, 'forbidden_scope', 'this route covers every product line; a key scoped to product lines cannot use it'));
    }
    done();
  });
}
