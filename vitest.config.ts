import { defineConfig } from 'vitest/config';

// Test files that run again in server mode, over HTTP through the ClickHouse HTTP endpoint for tests
// (one per file; test/helper.ts): the `server` project as a plain server (the HTTP client, the
// applier's lease), the `cluster` project on a one-shard cluster where every read and write goes
// through Distributed tables (src/cluster-ddl.ts). Between them: migrations fresh and re-run (both),
// ingest and budgets (server), /agent-costs, chargeback, exports and invoice lines (cluster).
const serverFiles = ['test/config-migrations.test.ts', 'test/ingest.test.ts', 'test/guardrails.test.ts'];
const clusterFiles = ['test/config-migrations.test.ts', 'test/agent-costs.test.ts', 'test/chargeback.test.ts', 'test/invoice-lines.test.ts'];

export default defineConfig({
  test: {
    // Every test file runs in its own process with its own embedded ClickHouse data directory.
    pool: 'forks',
    isolate: true,
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'embedded', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'server', include: serverFiles, env: { LEDGER_TEST_ENGINE: 'server' } } },
      { extends: true, test: { name: 'cluster', include: clusterFiles, env: { LEDGER_TEST_ENGINE: 'cluster' } } },
    ],
  },
});
