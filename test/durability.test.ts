// An acknowledged event survives kill -9: the server runs as a child process and is SIGKILLed
// right after its last acknowledgement, then restarted on the same data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createEngine } from '../src/clickhouse.js';
import { configWith } from '../src/config.js';
import { projectPath } from '../src/sql.js';
import { addDecimals, makeEvent } from './helper.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startServer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: projectPath(),
    env: { ...process.env, PORT: String(port), DATA_DIR: dir, API_KEYS: 'ingest:kill-test-key', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('agent-ledger listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

const send = (port: number, events: unknown[]) =>
  fetch(`http://127.0.0.1:${port}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer kill-test-key' },
    body: JSON.stringify({ events }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as { accepted: number; duplicates: number } }));

const exited = (child: ChildProcess) => new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));

it('keeps every acknowledged event across SIGKILL', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const batches = Array.from({ length: 3 }, (_, b) => Array.from({ length: 200 }, (_, i) => makeEvent({ product_line_id: 'durable', cost_usd: `0.${String(b * 200 + i + 1).padStart(6, '0')}` })));
  const expectedCost = addDecimals(batches.flat().map((e) => e.cost_usd as string));

  let server = await startServer(port);
  for (const batch of batches) expect((await send(port, batch)).body.accepted).toBe(200);
  const killed = exited(server);
  server.kill('SIGKILL');
  expect(await killed).toBe('SIGKILL');

  server = await startServer(port);
  for (const batch of batches) expect((await send(port, batch)).body).toMatchObject({ accepted: 0, duplicates: 200 });
  const stopped = exited(server);
  server.kill('SIGTERM');
  expect(await stopped).toBe(0);

  const engine = await createEngine(configWith({ DATA_DIR: dir }));
  try {
    const rs = await engine.client.query({ query: "SELECT count() AS n, toString(sum(cost_usd)) AS cost FROM cost_events WHERE product_line_id = 'durable'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ n: 600, cost: expectedCost }]);
  } finally {
    await engine.client.close();
  }
});
