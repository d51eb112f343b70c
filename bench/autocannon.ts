// Runs autocannon in its own process (so the load generator never shares the server's event loop)
// and returns its JSON summary; any non-2xx response fails the benchmark.
import { spawn } from 'node:child_process';
import { projectPath } from '../src/sql.js';

export type LoadResult = { rps: number; latency: { p50: number; p90: number; p99: number; max: number } };

export function autocannon(url: string, opts: { connections: number; seconds: number; headers?: Record<string, string>; method?: string; body?: string }): Promise<LoadResult> {
  const args = [
    projectPath('node_modules/autocannon/autocannon.js'), '-c', String(opts.connections), '-d', String(opts.seconds), '-j',
    ...(opts.method ? ['-m', opts.method] : []), ...(opts.body ? ['-b', opts.body] : []),
    ...Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}=${v}`]), url,
  ];
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', () => {
      try {
        const r = JSON.parse(out) as { requests: { average: number }; latency: LoadResult['latency']; non2xx: number };
        if (r.non2xx > 0) throw new Error(`${url}: ${r.non2xx} non-2xx responses`);
        resolve({ rps: r.requests.average, latency: r.latency });
      } catch (err) {
        reject(err);
      }
    });
  });
}
