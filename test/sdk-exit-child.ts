// Child process for the flush-on-exit test: records events and simply ends, never calling flush().
import { Ledger } from '../sdk/src/index.js';

const ledger = new Ledger({ endpoint: process.argv[2]!, apiKey: 'ing-key', flushIntervalMs: 600_000 });
ledger.run({ product_line_id: 'support', run_id: 'run-exit' }, () => {
  ledger.record({ type: 'compute', quantity: '2', unit: 'seconds', cost_usd: '0.25' });
  ledger.record({ type: 'human_escalation', cost_usd: '4.75' });
});
