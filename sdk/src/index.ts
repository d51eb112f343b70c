// @agent-ledger/sdk: tag cost at the call site, carry attribution through async work, fail closed.
export { Ledger, type LedgerOptions, type ToolOptions, type RetryOptions } from './ledger.js';
export { AttributionError, BudgetExceededError, BudgetCheckUnavailableError, type BudgetVerdict } from './errors.js';
export type { Attribution, Frame } from './context.js';
export type { CostEvent, Usage, Status, EventType } from './types.js';
export type { Stats } from './transport.js';
export { openaiUsage, anthropicUsage } from './providers.js';
