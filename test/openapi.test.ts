import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { generateOpenApi } from '../src/cli/openapi.js';
import { projectPath } from '../src/sql.js';

it('openapi/openapi.json matches the routes (run `npm run openapi` after changing a route)', async () => {
  const committed = readFileSync(projectPath('openapi', 'openapi.json'), 'utf8');
  const generated = await generateOpenApi();
  expect(JSON.parse(generated).paths['/api/v1/events'].post).toBeDefined();
  expect(committed).toBe(generated);
});
