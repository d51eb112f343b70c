// The real server as a child process on a free port and a fresh data directory, for tests and
// benchmarks that need a listening socket in another process (real clients, real EPIPEs, real RSS).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../src/sql.js';

export type ServerProcess = {
  child: ChildProcess; port: number; url: string; dir: string;
  /** SIGTERM (graceful close), SIGKILL after 10 s; removes the data directory. */
  stop: () => Promise<void>;
  /** SIGKILL at once, mid-request if one runs (a crashed process); the data directory is kept. */
  kill: () => Promise<void>;
};

export function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-proc-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: projectPath(),
    // LOG_LEVEL info at least: the "listening on" line is how the port is learnt.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'info', LOAD_PRICE_CATALOG: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      // Never leave a server behind that did not say where it listens.
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`server did not start:\n${out}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /agent-ledger listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        // Keep draining the pipes so a chatty server never blocks on a full pipe.
        child.stdout!.resume();
        child.stderr!.resume();
        const port = Number(m[1]);
        resolve({ child, port, url: `http://127.0.0.1:${port}`, dir, stop, kill });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

/**
 * `n` API processes on one ClickHouse server (e.g. the ClickHouse HTTP endpoint for tests,
 * test/clickhouse-http-endpoint.ts), each on its own port: the first applies the migrations, the
 * others start on the migrated database. `env` applies to all (CLICKHOUSE_DATABASE, intervals, …).
 */
export async function startApiProcesses(n: number, clickhouseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess[]> {
  const shared = { CLICKHOUSE_URL: clickhouseUrl, ...env };
  const first = await startServerProcess(shared);
  const rest = await Promise.allSettled(Array.from({ length: n - 1 }, () => startServerProcess(shared)));
  const started = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
  const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((p) => p.stop()));
    throw failed.reason;
  }
  return started;
}
