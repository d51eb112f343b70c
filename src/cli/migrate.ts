// `npm run migrate`: apply pending migrations and report what ran.
import { createEngine } from '../clickhouse.js';
import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../migrate.js';

try {
  const engine = await createEngine(loadConfig());
  const report = await migrate(engine, console.log);
  console.log(`migrations: ${report.applied.length} applied, ${report.skipped} already applied`);
  await engine.client.close();
  if (report.changedSinceApplied.length > 0) process.exitCode = 1;
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 78 : 1);
}
