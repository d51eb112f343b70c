// `npm run rebuild:run-starts`: write the run starts (migrations/021) again from run_facts, with
// progress output. For a ledger whose run tables disagree with run_facts (an insert that failed
// between the views of one apply, rows written around the applier). Run it with no API process
// applying (stop them, or run it before they start): an apply during it would be counted twice.
import { createEngine } from '../clickhouse.js';
import { ConfigError, loadConfig } from '../config.js';
import { rebuildRunStarts } from '../costs/run-starts.js';

try {
  const engine = await createEngine(loadConfig());
  await rebuildRunStarts(engine, console.log);
  await engine.client.close();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 78 : 1);
}
