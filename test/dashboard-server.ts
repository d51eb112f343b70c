// A real server for the browser tests: buildApp on a fresh data directory, listening on an
// ephemeral loopback port, plus a local webhook sink; and where the Chromium executable is.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { configWith, type Env } from '../src/config.js';

export type LiveServer = { base: string; dir: string; close: () => Promise<void> };

export async function startServer(env: Partial<Record<keyof Env, string | number | boolean>> = {}): Promise<LiveServer> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-dashboard-'));
  const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent', BUDGET_EVAL_INTERVAL_MS: 0, WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_RETRY_BASE_MS: 50, ...env }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { base: address, dir, close: async () => { await app.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** A webhook receiver on loopback that answers 200 to everything. */
export async function startWebhookSink(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((req, res) => { count++; req.resume(); req.on('end', () => res.writeHead(200).end('ok')); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/agent-ledger`, received: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Debian's chromium (or CHROMIUM_PATH); undefined when none is installed. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
  return candidates.find((p) => existsSync(p));
}
