// The embedded engine (chdb) for the ClickHouse HTTP endpoint for tests (clickhouse-http-server.ts):
// a few connections to one data directory, each with its own session state, and engine errors in
// ClickHouse's own form. Test infrastructure, not a product engine.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Session } from 'chdb';

export type NativeResult = { bytes?: Uint8Array; elapsed?: number; rowsRead?: number; bytesRead?: number; rowsWritten?: number; bytesWritten?: number };
type Native = {
  QueryAsyncConnection(conn: unknown, sql: string, format: string, params?: Record<string, string>): Promise<NativeResult>;
  InsertRawAsyncConnection(conn: unknown, prefix: string, data: Buffer, countLines: boolean): Promise<NativeResult>;
};
// The addon itself: chdb's Session re-escapes string parameters, but the HTTP interface receives them
// already in ClickHouse's escaped text form (as `param_*` values), which the engine must see verbatim.
const require = createRequire(import.meta.url);
const native = (require(join(dirname(require.resolve('chdb')), 'dist/loader.js')) as { loadNative: () => Native }).loadNative();
export const VERSION = '26.7.2.1';

export class ClickHouseException extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** An engine error as ClickHouse reports it: `Code: N. DB::Exception: … (TYPE) (version …)`. */
export function toException(err: unknown): ClickHouseException {
  if (err instanceof ClickHouseException) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = /Code: (\d+)\. /.exec(message);
  if (m) return new ClickHouseException(Number(m[1]), message.slice(m.index).trim());
  return new ClickHouseException(1001, `Code: 1001. DB::Exception: ${message}. (STD_EXCEPTION)`);
}

const quote = (v: string) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** One engine connection and its session state (current database, settings applied with SET). */
export class Connection {
  readonly session: Session;
  #database = 'default';
  readonly #settings = new Map<string, string>();

  constructor(path: string, configFile?: string) {
    this.session = new Session(path, configFile ? { connectionArgs: [`--config-file=${configFile}`] } : undefined);
  }

  async exec(sql: string, format = 'TabSeparated', params?: Record<string, string>): Promise<NativeResult> {
    try {
      return await native.QueryAsyncConnection(this.session.connection, sql, format, params && Object.keys(params).length > 0 ? params : undefined);
    } catch (err) {
      throw toException(err);
    }
  }

  async insert(prefix: string, data: Buffer): Promise<NativeResult> {
    try {
      return await native.InsertRawAsyncConnection(this.session.connection, prefix, data, false);
    } catch (err) {
      throw toException(err);
    }
  }

  /** Make the session's database and settings exactly the request's: settings persist on a connection. */
  async prepare(database: string, settings: Map<string, string>): Promise<void> {
    if (database !== this.#database) {
      await this.exec(`USE ${/^[A-Za-z0-9_]+$/.test(database) ? database : `\`${database.replaceAll('`', '``')}\``}`);
      this.#database = database;
    }
    const changes: [string, string | undefined][] = [];
    for (const name of this.#settings.keys()) if (!settings.has(name)) changes.push([name, undefined]);
    for (const [name, value] of settings) if (this.#settings.get(name) !== value) changes.push([name, value]);
    if (changes.length === 0) return;
    for (const [name] of changes) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ClickHouseException(115, `Code: 115. DB::Exception: Unknown setting '${name}'. (UNKNOWN_SETTING)`);
    }
    const assign = ([name, value]: [string, string | undefined]) => `${name} = ${value === undefined ? 'DEFAULT' : quote(value)}`;
    const record = ([name, value]: [string, string | undefined]) => (value === undefined ? this.#settings.delete(name) : this.#settings.set(name, value));
    try {
      await this.exec(`SET ${changes.map(assign).join(', ')}`);
      changes.forEach(record);
    } catch (err) {
      // One bad setting: apply the others one by one so the session state stays known, then report it.
      for (const change of changes) await this.exec(`SET ${assign(change)}`).then(() => record(change), () => undefined);
      throw err;
    }
  }
}

/** A FIFO lock. */
class Gate {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The engine: a few connections to one data directory, so small queries are not queued behind a
 * long one. Parameterized queries run one at a time: the engine's parameter state is not isolated
 * between connections (chdb serializes them the same way).
 */
export class EmbeddedEngine {
  readonly #free: Connection[];
  readonly #all: Connection[];
  readonly #waiting: ((c: Connection) => void)[] = [];
  readonly #params = new Gate();
  /** Fault injection for tests: every query waits this long first (a slow engine). */
  stallMs = 0;

  constructor(path: string, opts: { configFile?: string; connections?: number } = {}) {
    mkdirSync(path, { recursive: true });
    const configFile = opts.configFile ? resolve(opts.configFile) : undefined;
    this.#all = Array.from({ length: Math.max(1, opts.connections ?? 4) }, () => new Connection(resolve(path), configFile));
    this.#free = [...this.#all];
  }

  #acquire(): Promise<Connection> {
    const free = this.#free.shift();
    return free ? Promise.resolve(free) : new Promise<Connection>((resolve) => this.#waiting.push(resolve));
  }

  /** Run `fn` on a connection of its own, once one is free (and, with parameters, once no other parameterized query runs). */
  async run<T>(withParams: boolean, fn: (c: Connection) => Promise<T>): Promise<T> {
    const connection = await this.#acquire();
    try {
      if (this.stallMs > 0) await new Promise((done) => setTimeout(done, this.stallMs));
      return await (withParams ? this.#params.run(() => fn(connection)) : fn(connection));
    } finally {
      const next = this.#waiting.shift();
      if (next) next(connection);
      else this.#free.push(connection);
    }
  }

  /** Close every connection once the queries running on them are done. */
  async close(): Promise<void> {
    const held = await Promise.all(this.#all.map(() => this.#acquire()));
    for (const c of held) c.session.close();
  }
}

