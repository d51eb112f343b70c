// Test infrastructure, not a product engine: the embedded ClickHouse (chdb) behind the part of
// ClickHouse's HTTP interface that @clickhouse/client uses, so the server-mode code path (and several
// API processes on one database) can run in tests. Standalone:
//   npm run clickhouse:http -- --port 8123 --path ./data-ch [--config-file f.xml] [--user u --password p]
// One chdb engine per process, a few connections to it; parameterized queries run one at a time.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { ClickHouseException, EmbeddedEngine, toException, VERSION, type NativeResult } from './embedded-engine.js';

// URL parameters that are not settings (ClickHouse's HTTPHandler reserves the same names), and
// HTTP-layer settings the embedded engine does not know.
const reserved = new Set(['query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'quota_key', 'role', 'compress', 'decompress', 'buffer_size', 'stacktrace']);
const httpOnly = new Set(['wait_end_of_query', 'enable_http_compression', 'http_zlib_compression_level', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_response_buffer_size', 'http_native_compression_disable_checksumming_on_decompress', 'add_http_cors_header', 'http_wait_end_of_query', 'cancel_http_readonly_queries_on_client_close']);

// ClickHouse's exceptionCodeToHTTPStatus, for the codes tests meet.
const httpStatus: Record<number, number> = {
  192: 403, 193: 403, 516: 403, 194: 401, 164: 403, // UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, REQUIRED_PASSWORD, READONLY
  6: 400, 25: 400, 26: 400, 27: 400, 32: 400, 33: 400, 38: 400, 41: 400, 53: 400, 62: 400, 69: 400, 70: 400, 72: 400, 117: 400, 130: 400, 456: 400, 457: 400,
  16: 404, 46: 404, 47: 404, 60: 404, 73: 404, 81: 404, 115: 404, 170: 404, 241: 500, 159: 500, 202: 503, 210: 503, 209: 503,
  48: 501, 1: 501,
};

type Request = { query: string; data: Buffer | undefined; database: string; format: string; settings: Map<string, string>; params: Record<string, string>; queryId: string };

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  switch (req.headers['content-encoding']) {
    case undefined: case 'identity': return body;
    case 'gzip': return zlib.gunzipSync(body);
    case 'deflate': return zlib.inflateSync(body);
    case 'br': return zlib.brotliDecompressSync(body);
    default: throw new ClickHouseException(1001, `Code: 1001. DB::Exception: Unknown Content-Encoding ${req.headers['content-encoding']}. (STD_EXCEPTION)`);
  }
}

/** Query text, data and parameters from the URL, the body, or a multipart form (the client's long-parameter mode). */
async function parseRequest(req: IncomingMessage, url: URL, body: Buffer): Promise<Request> {
  const fields = new Map<string, string>(url.searchParams);
  let text: string | undefined;
  if (/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': req.headers['content-type']! } }).formData();
    for (const [name, value] of form) if (typeof value === 'string') fields.set(name, value);
    text = fields.get('query');
    body = Buffer.alloc(0);
  }
  const settings = new Map<string, string>();
  const params: Record<string, string> = {};
  for (const [name, value] of fields) {
    if (name.startsWith('param_')) params[name.slice(6)] = value;
    else if (!reserved.has(name) && !httpOnly.has(name)) settings.set(name, value);
  }
  const inUrl = text ?? url.searchParams.get('query') ?? undefined;
  // As ClickHouse does: the URL's query, then the body (an INSERT's data, or the rest of the query).
  const [query, data] = inUrl === undefined ? [body.toString('utf8'), undefined] : [inUrl, body.length > 0 ? body : undefined];
  return {
    query,
    data,
    database: fields.get('database') || 'default',
    format: fields.get('default_format') || 'TabSeparated',
    settings,
    params,
    queryId: fields.get('query_id') || randomUUID(),
  };
}

const contentTypes: [RegExp, string][] = [
  [/^JSON/i, 'application/json; charset=UTF-8'],
  [/^(TSV|TabSeparated)/i, 'text/tab-separated-values; charset=UTF-8'],
  [/^CSV/i, 'text/csv; charset=UTF-8; header=absent'],
];

function formatOf(query: string, fallback: string): string {
  return /\bFORMAT\s+(\w+)\s*;?\s*$/i.exec(query)?.[1] ?? fallback;
}

function summary(r: NativeResult, startedAt: number): string {
  return JSON.stringify({
    read_rows: String(r.rowsRead ?? 0), read_bytes: String(r.bytesRead ?? 0),
    written_rows: String(r.rowsWritten ?? 0), written_bytes: String(r.bytesWritten ?? 0),
    total_rows_to_read: '0', result_rows: String(r.rowsRead ?? 0), result_bytes: String(r.bytes?.length ?? 0),
    elapsed_ns: String(Math.round((performance.now() - startedAt) * 1e6)),
  });
}

function sendException(res: ServerResponse, err: ClickHouseException, queryId?: string): void {
  if (res.headersSent) return void res.destroy();
  const text = /\(version [^)]*\)\s*$/.test(err.message) ? err.message : `${err.message} (version ${VERSION})`;
  res.writeHead(httpStatus[err.code] ?? 500, {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-exception-code': String(err.code),
    ...(queryId ? { 'x-clickhouse-query-id': queryId } : {}),
  });
  res.end(`${text}\n`);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer, compress: boolean): void {
  const accepted = String(req.headers['accept-encoding'] ?? '');
  const codec = !compress || body.length === 0 ? undefined : ['gzip', 'deflate', 'br'].find((c) => accepted.includes(c));
  const payload = codec === 'gzip' ? zlib.gzipSync(body) : codec === 'deflate' ? zlib.deflateSync(body) : codec === 'br' ? zlib.brotliCompressSync(body) : body;
  res.writeHead(status, { ...headers, ...(codec ? { 'content-encoding': codec } : {}), 'content-length': String(payload.length), 'keep-alive': 'timeout=10' });
  res.end(payload);
}

type Credentials = { user: string; password: string };

function authenticate(req: IncomingMessage, url: URL, expected: Credentials | undefined): void {
  if (!expected) return;
  let user = req.headers['x-clickhouse-user'] as string | undefined ?? url.searchParams.get('user') ?? undefined;
  let password = req.headers['x-clickhouse-key'] as string | undefined ?? url.searchParams.get('password') ?? '';
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const at = decoded.indexOf(':');
    [user, password] = [decoded.slice(0, at), decoded.slice(at + 1)];
  }
  if ((user ?? 'default') !== expected.user || password !== expected.password) {
    throw new ClickHouseException(516, `Code: 516. DB::Exception: ${user ?? 'default'}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`);
  }
}

export function createClickHouseHttpServer(engine: EmbeddedEngine, opts: { credentials?: Credentials } = {}) {
  // The client sends long `param_*` values (thousands of ids) in the URL; ClickHouse allows 1 MiB URIs and more.
  return createServer({ maxHeaderSize: 64 * 1024 * 1024, keepAliveTimeout: 10_000 }, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let queryId: string | undefined;
    try {
      if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
        return send(req, res, 200, { 'content-type': 'text/plain; charset=UTF-8' }, Buffer.from('Ok.\n'), false);
      }
      if (url.pathname === '/__control/stall' && req.method === 'POST') {
        engine.stallMs = Number(url.searchParams.get('ms') ?? 0);
        return send(req, res, 200, { 'content-type': 'text/plain' }, Buffer.from(`stall ${engine.stallMs} ms\n`), false);
      }
      if (url.pathname !== '/') throw new ClickHouseException(1001, `Code: 1001. DB::Exception: There is no handle ${url.pathname}. (STD_EXCEPTION)`);
      authenticate(req, url, opts.credentials);
      const body = await readBody(req);
      const r = await parseRequest(req, url, body);
      queryId = r.queryId;
      if (r.query.trim() === '') throw new ClickHouseException(62, 'Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)');
      const startedAt = performance.now();
      // Once the body is in, the query runs even if the client goes away, as a server runs an INSERT.
      const withParams = Object.keys(r.params).length > 0;
      const insertWithData = /^\s*INSERT\b[\s\S]*\bFORMAT\s+\w+\s*$/i.test(r.query);
      const result = await engine.run(withParams, async (c) => {
        await c.prepare(r.database, r.settings);
        if (insertWithData && r.data && !withParams) return c.insert(r.query.trim(), r.data);
        if (insertWithData && !r.data) return {}; // no rows: nothing to insert
        return c.exec(r.data ? `${r.query}\n${r.data.toString('utf8')}` : r.query, r.format, r.params);
      });
      const format = formatOf(r.query, r.format);
      const bytes = Buffer.from(result.bytes ?? new Uint8Array(0));
      send(req, res, 200, {
        'content-type': contentTypes.find(([re]) => re.test(format))?.[1] ?? 'application/octet-stream',
        'x-clickhouse-query-id': r.queryId,
        'x-clickhouse-format': format,
        'x-clickhouse-timezone': 'UTC',
        'x-clickhouse-server-display-name': 'chdb-http',
        'x-clickhouse-summary': summary({ ...result, bytes }, startedAt),
      }, bytes, r.settings.get('enable_http_compression') === '1' || url.searchParams.get('enable_http_compression') === '1');
    } catch (err) {
      sendException(res, toException(err), queryId);
    }
  });
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8123' },
      host: { type: 'string', default: '127.0.0.1' },
      path: { type: 'string', default: './data-ch' },
      'config-file': { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string', default: '' },
      connections: { type: 'string', default: '4' },
    },
  });
  const engine = new EmbeddedEngine(values.path!, { configFile: values['config-file'], connections: Number(values.connections) });
  const server = createClickHouseHttpServer(engine, { credentials: values.user ? { user: values.user, password: values.password! } : undefined });
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    // Let a running query finish before the engine closes under it.
    void engine.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  server.listen(Number(values.port), values.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : values.port;
    console.log(`clickhouse-http listening on http://${values.host}:${port} (chdb, data in ${resolve(values.path!)})`);
  });
}
