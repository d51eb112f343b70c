// `npm run openapi`: regenerate openapi/openapi.json from the routes (no server, no listening).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../app.js';
import { configWith } from '../config.js';
import { projectPath } from '../sql.js';

export async function generateOpenApi(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ledger-openapi-'));
  const app = await buildApp(configWith({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = projectPath('openapi', 'openapi.json');
  writeFileSync(path, await generateOpenApi());
  console.log(`wrote ${path}`);
}
