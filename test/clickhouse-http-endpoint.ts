// The ClickHouse HTTP endpoint for tests (test/infra/clickhouse-http-server.ts: the embedded engine
// behind ClickHouse's HTTP interface) as a child process, so a test can point CLICKHOUSE_URL at it,
// kill it, and start it again on the same port and data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../src/sql.js';

export type ClickHouseHttpOptions = {
  /** Data directory; default a fresh temporary one, removed by stop(). */
  path?: string;
  /** Port; default a free one (kept across restarts). */
  port?: number;
  /** A clickhouse-server style XML config (remote_servers, macros, …) for the engine. */
  configFile?: string;
  /** Require these credentials (Basic auth, X-ClickHouse-User/Key or user/password parameters). */
  user?: string;
  password?: string;
};

export type ClickHouseHttp = {
  readonly url: string;
  readonly port: number;
  readonly path: string;
  /** Is the endpoint process running? */
  readonly running: boolean;
  /** SIGKILL: the engine is gone at once, mid-query if one runs (ECONNREFUSED / reset for clients). */
  kill: () => Promise<void>;
  /** Start again on the same port and data directory (after kill()). */
  restart: () => Promise<void>;
  /** Make every query wait `ms` first (0: no stall): a slow engine that still accepts connections. */
  stall: (ms: number) => Promise<void>;
  /** Stop gracefully and remove the data directory if this helper created it. */
  stop: () => Promise<void>;
};

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function spawnEndpoint(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/infra/clickhouse-http-server.ts', ...args], {
    cwd: projectPath(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ClickHouse HTTP endpoint did not start:\n${out}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /clickhouse-http listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.stdout!.resume();
      child.stderr!.resume();
      child.off('exit', onExit);
      resolve({ child, port: Number(m[1]) });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`ClickHouse HTTP endpoint exited with ${code}:\n${out}`));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Start the endpoint in a child process; resolves once it listens. */
export async function startClickHouseHttp(opts: ClickHouseHttpOptions = {}): Promise<ClickHouseHttp> {
  const ownDir = opts.path === undefined;
  const path = opts.path ?? mkdtempSync(join(tmpdir(), 'agent-ledger-ch-'));
  const args = (port: number) => [
    '--port', String(port), '--path', path,
    ...(opts.configFile ? ['--config-file', opts.configFile] : []),
    ...(opts.user !== undefined ? ['--user', opts.user, '--password', opts.password ?? ''] : []),
  ];
  let current: ChildProcess;
  let port: number;
  try {
    ({ child: current, port } = await spawnEndpoint(args(opts.port ?? 0)));
  } catch (err) {
    if (ownDir) rmSync(path, { recursive: true, force: true });
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const endpoint: ClickHouseHttp = {
    url,
    port,
    path,
    get running() {
      return current.exitCode === null && current.signalCode === null;
    },
    kill: async () => {
      current.kill('SIGKILL');
      await exited(current, 10_000);
    },
    restart: async () => {
      if (endpoint.running) throw new Error('the endpoint is running; kill() it first');
      // The port was just released by the killed process; retry briefly if the OS has not freed it yet.
      for (let attempt = 0; ; attempt++) {
        try {
          ({ child: current } = await spawnEndpoint(args(port)));
          return;
        } catch (err) {
          if (attempt >= 20 || !/EADDRINUSE/.test(String(err))) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
    stall: async (ms: number) => {
      const res = await fetch(`${url}/__control/stall?ms=${ms}`, { method: 'POST' });
      if (!res.ok) throw new Error(`stall failed: ${res.status}`);
    },
    stop: async () => {
      if (endpoint.running) {
        current.kill('SIGTERM');
        if (!(await exited(current, 10_000))) {
          current.kill('SIGKILL');
          await exited(current, 5_000);
        }
      }
      if (ownDir) rmSync(path, { recursive: true, force: true });
    },
  };
  return endpoint;
}
